#!/usr/bin/env bash
# The whole suite on another Node than the pinned one, the registry's official binary of that version, e.g. the oldest
# supported line: bash scripts/test-on-node.sh 22.23.5
# The build still runs on the pinned Node (node --run puts node_modules/.bin first); the test runner and every process
# the tests start run on the one asked for.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: scripts/test-on-node.sh VERSION (e.g. 22.23.5)}
WSGATE_NODE_VERSION=$version exec bash scripts/with-project-node.sh env WSGATE_TEST_NODE="$version" bash scripts/test.sh
