#!/usr/bin/env bash
# Runs the delivery ledger suite (test/reliability/) N times in a row (default 10) on one build and prints each run's
# counts per engine; exits non-zero when any run failed. WSGATE_LEDGER_ENGINES=redis,shards,cluster,nats (any of them)
# narrows the engine setups.
#   bash scripts/ledger-loop.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
node=node_modules/.bin/node
[ -x "$node" ] || { echo "ledger-loop: run npm ci first" >&2; exit 1; }
PATH="$PWD/node_modules/.bin:$PATH" node --run build >/dev/null

logs=$(mktemp -d -t wsgate-ledger-XXXXXX)
failed=0
for run in $(seq 1 "$runs"); do
  log="$logs/run-$run.log"
  if "$node" --import tsx --test --test-reporter=spec test/reliability/*.test.ts >"$log" 2>&1; then verdict=pass; else verdict=FAIL; failed=$((failed + 1)); fi
  echo "run $run/$runs: $verdict ($log)"
  grep -E '^ledger \[' "$log" | sed 's/^/  /' || true
  # A run that broke before its verdict (a node that never started, a timeout) says so here.
  grep -E '^  Error: ' "$log" | sort -u | sed 's/^  /  harness: /' || true
done
echo "ledger-loop: $((runs - failed))/$runs runs passed; logs in $logs"
[ "$failed" -eq 0 ]
