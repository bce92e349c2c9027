#!/usr/bin/env bash
# Runs the gateway with the demo agencies and embedded defaults (audit to a local file), installing first
# whatever is missing. The same as `npm start` on a machine that already has Node >= 22.18 and `npm ci` done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/setup.sh"
cd "$root"
exec npm start --silent
