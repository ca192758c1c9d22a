#!/usr/bin/env bash
# Runs one test file N times in a row on the project's Node and reports how many runs passed.
#   bash scripts/loop-test.sh <N> <test file> [--test-name-pattern=...]
# Each run's output is kept in .tmp/loop/<file name>-<run>.log (so a failure can be read afterwards); the last line
# says "<passed>/<N> passed". Build first (npm run build) when the test spawns the compiled CLI.
# Extra arguments go to `node --test`. Exits non-zero when any run failed.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/loop-test.sh <N> <test file> [node --test arguments...]" >&2
  exit 2
fi
runs=$1 file=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
node=node_modules/.bin/node
[ -x "$node" ] || node=node
logs=.tmp/loop
mkdir -p "$logs"
name=$(basename "$file" .ts)
passed=0
for run in $(seq 1 "$runs"); do
  log="$logs/$name-$run.log"
  started=$(date +%s)
  if "$node" --import tsx --test --test-reporter=spec "$@" "$file" >"$log" 2>&1; then
    passed=$((passed + 1))
    verdict=pass
  else
    verdict=FAIL
  fi
  echo "run $run/$runs: $verdict in $(( $(date +%s) - started )) s ($log)"
done
echo "$passed/$runs passed"
[ "$passed" -eq "$runs" ]
