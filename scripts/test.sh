#!/usr/bin/env bash
# The whole test suite: what `npm test` runs, locally and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm puts node_modules/.bin first on PATH, so `node` is the project's Node 24 (scripts/project-node); every process
# the tests start runs on the same binary (process.execPath).
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)'; then
  echo "wsgate: the tests need Node 22 or later, found $(node --version) at $(command -v node); run them with npm test" >&2
  exit 1
fi

bash scripts/install-system-deps.sh
# Sources, tests and benchmarks typecheck before anything runs.
node --run typecheck
# The layers import only downward, the folders have no cycles, and each folder says what it owns (scripts/import-graph.mjs).
LAYERS=server,server/api,server/admin,server/transport,server/node,server/cluster,server/channels,server/rpc,server/webhooks
LAYERS=$LAYERS,server/hub,server/session,server/auth,server/pusher,server/limits,server/engine,server/codec,server/config,server/time,server/random,protocol
if ! node scripts/import-graph.mjs --check --order "$LAYERS" > /dev/null; then
  node scripts/import-graph.mjs --order "$LAYERS"
  exit 1
fi
# The gateway processes some tests spawn run the compiled CLI.
node --run build

mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-reporter=spec --test-concurrency="${WSGATE_TEST_CONCURRENCY:-2}" "${files[@]}"
