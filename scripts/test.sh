#!/usr/bin/env bash
# Runs every test (type check, unit and integration tests against real servers and a real Kafka broker),
# installing first whatever is missing: Node, npm packages, the Debian packages the tests use (promtool,
# chromium, Python's grpcio) and the Kafka broker jars from Maven Central.
# The tests use KAFKA_BROKERS when set, else a Docker engine if one answers, else start the broker from
# scripts/kafka.sh themselves (and stop it afterwards). With CI=true, a missing Kafka fails the run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/setup.sh"
cd "$root"
bash scripts/ensure-test-packages.sh
if [ -z "${KAFKA_BROKERS:-}" ]; then bash scripts/kafka.sh fetch; fi
exec npm test
