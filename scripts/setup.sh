#!/usr/bin/env bash
# Installs what Estelam needs to run, once: a Node.js >= 22.18 (Node 24 into .tools/node when the machine's
# is older), the npm packages (whose `prepare` step generates the protobuf code into gen/). Idempotent and
# quiet when everything is already there. Source it (`. scripts/setup.sh`) to keep the PATH it sets.
estelam_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$estelam_root/scripts/ensure-node.sh" || { return 1 2>/dev/null || exit 1; }
(
  cd "$estelam_root" || exit 1
  # npm ci when node_modules is missing or older than the lock file; regenerate gen/ if it is missing.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: installing npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error || exit 1
  elif [ ! -f gen/estelam/inquiry/v1/inquiry_pb.js ]; then
    npm run --silent generate || exit 1
  fi
) || { return 1 2>/dev/null || exit 1; }
