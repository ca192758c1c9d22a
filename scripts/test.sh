#!/usr/bin/env bash
# The whole test suite: what `npm test` runs, locally and in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-deps.sh
# Sources, tests and benchmarks typecheck before anything runs.
npm run --silent typecheck
# The gateway processes some tests spawn run the compiled CLI.
npm run --silent build

mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-reporter=spec --test-concurrency="${WSGATE_TEST_CONCURRENCY:-2}" "${files[@]}"
