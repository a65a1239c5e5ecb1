#!/usr/bin/env bash
# Starts an appliance with 20,000 seats on a free loopback port, runs turnstile-bench-hold
# (N leases over N sockets from one process, heartbeating), prints its figures, stops the
# appliance. A measurement: it never passes or fails on the figures.
#   bench/run_hold.sh [BUILD_DIR] [N] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build/bench}"
n="${2:-10000}"
seconds="${3:-60}"
jar="${TURNSTILE_APPLIANCE_JAR:-$here/../appliance/target/turnstile-appliance-all.jar}"
[[ -f $jar ]] || { echo "no appliance jar at $jar" >&2; exit 1; }
if [[ ! -x $build/turnstile-bench-hold ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTURNSTILE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target turnstile-bench-hold >/dev/null
fi
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/bench.yaml" <<YAML
server:
  id: "bench"
  host: "127.0.0.1"
  port: $port
  heartbeat_interval: "5s"
  lease_timeout: "15s"
clients:
  min_version: "1.0.0"
entitlements:
  - entitlement_id: "ent-bench"
    tenant_id: "bench"
    product_id: "cad-pro"
    policy: { type: "concurrent", max_seats: 20000, enforcement: "seats" }
    starts_at: "2020-01-01T00:00:00Z"
    ends_at: "2099-01-01T00:00:00Z"
YAML
ulimit -n "$(ulimit -Hn)"
java -Xmx1g -jar "$jar" run --config "$work/bench.yaml" > "$work/appliance.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done
echo "date $(date -u +%F), nproc $(nproc), $n leases, held $seconds s, heartbeat 5 s"
"$build/turnstile-bench-hold" -s "127.0.0.1:$port" -n "$n" -t "$seconds"
