#!/usr/bin/env bash
# Runs a command with the project's Node first on PATH: the node-<os>-<arch> binary package-lock.json pins, fetched
# into .tmp/ (and checked against the lockfile's integrity) when it is not there yet. `npm ci` needs it before
# node_modules exists: npm checks every dependency's `engines` against the Node that runs npm itself, so CI installs
# with the runtime its scripts use rather than the machine's own Node.
# Without a pinned binary for this platform the command runs on the Node already on PATH.
# WSGATE_NODE_VERSION=22.23.5 picks another version of the same package instead (scripts/test-on-node.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

package=$(node -p '`node-${process.platform}-${process.arch}`')
if [ -n "${WSGATE_NODE_VERSION:-}" ]; then
  # Not in the lockfile: npm checks the tarball against the registry's integrity only.
  version=$WSGATE_NODE_VERSION integrity=-
else
  read -r version integrity < <(node -e '
    const entry = require(process.argv[1]).packages[`node_modules/${process.argv[2]}`];
    console.log(entry ? `${entry.version} ${entry.integrity}` : "- -");
  ' "$root/package-lock.json" "$package")
fi

if [ "$version" != "-" ]; then
  dir="$root/.tmp/project-node/$package-$version"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$dir"
    # npm pack goes through npm's cache, so the `npm ci` that follows extracts the same tarball without a second download.
    fetched=$(npm pack "$package@$version" --pack-destination "$dir" --json --silent \
      | node -e 'const [packed] = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(packed.integrity)')
    if [ "$integrity" != "-" ] && [ "$fetched" != "$integrity" ]; then
      echo "with-project-node: $package@$version has integrity $fetched, package-lock.json pins $integrity" >&2
      exit 1
    fi
    tar -xzf "$dir/$package-$version.tgz" -C "$dir" --strip-components=1 package/bin/node
    rm "$dir/$package-$version.tgz"
  fi
  export PATH="$dir/bin:$PATH"
fi
exec "$@"
