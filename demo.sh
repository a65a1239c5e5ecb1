#!/usr/bin/env bash
# Builds Turnstile and starts the appliance on the built-in demo configuration:
# two products (cad-pro: 3 seats, sim-suite: 2 seats), loopback port 7878, no database.
# Stop it with Ctrl-C (it drains its clients and exits 0).
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -ntp -DskipTests install
exec java -jar appliance/target/turnstile-appliance-all.jar run --demo "$@"
