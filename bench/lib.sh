#!/usr/bin/env bash
# Shared by the bench scripts: paths, limits, the appliance's start and stop. Sourced, never run.
# Every wait here is bounded; every process started here is stopped by its PID on exit.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HARNESS_JAR=${HARNESS_JAR:-$ROOT/harness/target/harness-0.1.0-SNAPSHOT-all.jar}
APPLIANCE_JAR=${APPLIANCE_JAR:-$ROOT/appliance/target/turnstile-appliance-all.jar}
if [[ ! -f $APPLIANCE_JAR ]]; then
  for j in "$ROOT"/appliance/target/*-all.jar; do [[ -f $j ]] && APPLIANCE_JAR=$j; done
fi
OUT=${BENCH_OUT:-/tmp/turnstile-bench}
BENCH_PORT=${BENCH_PORT:-17878}
BENCH_HTTP_PORT=${BENCH_HTTP_PORT:-17879}
# Appliance event loops; 0 = its default (2 x cores, like the echo baseline's server).
BENCH_EVENT_LOOPS=${BENCH_EVENT_LOOPS:-0}
# The appliance's heap is capped at 1 GiB in every figure (the 100k-connection target says so).
APPLIANCE_JAVA_OPTS=${APPLIANCE_JAVA_OPTS:--Xmx1g -Xms1g}
HARNESS_JAVA_OPTS=${HARNESS_JAVA_OPTS:--Xmx1g}
APPLIANCE_PID=""
mkdir -p "$OUT"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

require_jars() {
  local missing=0
  if [[ ! -f $HARNESS_JAR ]]; then
    log "missing $HARNESS_JAR; build it: mvn -o -q -pl protocol-spec,harness install -DskipTests"
    missing=1
  fi
  if [[ ${1:-} != harness-only && ! -f $APPLIANCE_JAR ]]; then
    log "missing $APPLIANCE_JAR; build it: mvn -o -q -B -pl appliance -Dturnstile.target=target package -DskipTests"
    missing=1
  fi
  return $missing
}

# One line that dates a figure and names the machine it came from.
machine_line() {
  printf 'machine: %s, nproc %s, %s, %s MiB RAM, load average %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" \
    "$(java -version 2>&1 | head -1)" "$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
}

raise_fd_limit() {
  ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "open files limit: $(ulimit -n) (hard $(ulimit -Hn))"
}

# write_config FILE SEATS HEARTBEAT LEASE_TIMEOUT
write_config() {
  cat > "$1" <<YAML
# Written by bench/lib.sh: one product "bench" with $2 seats, loopback only, memory only.
server:
  id: "bench"
  host: "127.0.0.1"
  port: $BENCH_PORT
  event_loops: $BENCH_EVENT_LOOPS
  heartbeat_interval: "$3"
  lease_timeout: "$4"
  reclaim_grace: "0s"
  drain_timeout: "1s"
clients:
  min_version: "1.0.0"
http:
  enabled: true
  host: "127.0.0.1"
  port: $BENCH_HTTP_PORT
  read_open: true          # the benches read /v1/status without a token (loopback only)
entitlements:
  - entitlement_id: "bench-seats"
    tenant_id: "bench"
    product_id: "bench"
    policy: { type: "concurrent", max_seats: $2, enforcement: "seats" }
    starts_at: "2026-01-01T00:00:00Z"
    ends_at: "2036-01-01T00:00:00Z"
YAML
}

# start_appliance CONFIG LOGFILE: starts the appliance jar and waits (at most 60 s) until it listens.
start_appliance() {
  local config=$1 logfile=$2
  # shellcheck disable=SC2086
  java $APPLIANCE_JAVA_OPTS -Xlog:gc:file="$OUT/appliance-gc.log" -jar "$APPLIANCE_JAR" run --config "$config" \
    > "$logfile" 2>&1 &
  APPLIANCE_PID=$!
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$logfile" 2>/dev/null; then
      log "appliance pid $APPLIANCE_PID listening on 127.0.0.1:$BENCH_PORT (heap: $APPLIANCE_JAVA_OPTS)"
      return 0
    fi
    if ! kill -0 "$APPLIANCE_PID" 2>/dev/null; then
      log "appliance exited during start:"; tail -20 "$logfile" >&2; APPLIANCE_PID=""; return 1
    fi
    sleep 0.1
  done
  log "appliance did not listen within 60 s"; stop_appliance; return 1
}

stop_appliance() {
  [[ -z $APPLIANCE_PID ]] && return 0
  kill -TERM "$APPLIANCE_PID" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$APPLIANCE_PID" 2>/dev/null || { APPLIANCE_PID=""; return 0; }
    sleep 0.1
  done
  log "appliance $APPLIANCE_PID still running 20 s after SIGTERM; killing it"
  kill -KILL "$APPLIANCE_PID" 2>/dev/null || true
  APPLIANCE_PID=""
}

# connections=N sessions=N leases=N from the appliance's HTTP status; "status=unavailable" when it does not answer in 5 s.
appliance_status() {
  local json
  json=$(curl -s --max-time 5 "http://127.0.0.1:$BENCH_HTTP_PORT/v1/status" 2>/dev/null | tr -d '\n') || true
  if [[ $json == *'"leases"'* ]]; then
    sed -E 's/.*"connections":([0-9]+).*"sessions":([0-9]+).*"leases":([0-9]+).*/connections=\1 sessions=\2 leases=\3/' <<<"$json"
  else
    echo "status=unavailable"
  fi
}

# Largest heap occupancy after a GC, in MiB, from the appliance's -Xlog:gc file.
appliance_heap_after_gc_max() {
  grep -oE '[0-9]+M->[0-9]+M' "$OUT/appliance-gc.log" 2>/dev/null | sed -E 's/.*->([0-9]+)M/\1/' | sort -n | tail -1
}

harness() {
  # shellcheck disable=SC2086
  java $HARNESS_JAVA_OPTS -jar "$HARNESS_JAR" "$@"
}

# field RESULT_LINE KEY: the value of key=value in a harness RESULT line.
field() {
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}

cleanup() {
  stop_appliance
}
trap cleanup EXIT
trap 'exit 130' INT TERM
