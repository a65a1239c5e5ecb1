#!/usr/bin/env bash
# What do Vert.x's own meters (vertx-micrometer-metrics: HTTP, TCP connections and bytes, pools) cost
# seat service? Checkout throughput flat out against the appliance started as production starts it
# (metrics on) and with -Dturnstile.vertx-metrics=false (a plain Vert.x; the appliance's own meters
# stay), alternating ON OFF, OFF ON, ... for ROUNDS rounds, a fresh appliance for every run.
#
#   bench/vertx-metrics-impact.sh
#   ROUNDS=4 DURATION=30s bench/vertx-metrics-impact.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

C=${CONNECTIONS:-32}
P=${PIPELINE:-8}
D=${DURATION:-20s}
W=${WARMUP:-5s}
ROUNDS=${ROUNDS:-3}
LOOPS=${CLIENT_EVENT_LOOPS:-$(nproc)}
SHAPE=(--connections "$C" --pipeline "$P" --duration "$D" --warmup "$W" --product bench --event-loops "$LOOPS")
BASE_OPTS=$APPLIANCE_JAVA_OPTS

machine_line | tee "$OUT/vertx-metrics-impact.txt"
CONFIG=$OUT/vertx-metrics-impact.yaml
write_config "$CONFIG" $(( C * (P + 1) + 1000 )) 10s 30s
: > "$OUT/vertx-metrics-impact-runs.txt"

run() {
  local kind=$1 result
  if [[ $kind == OFF ]]; then APPLIANCE_JAVA_OPTS="$BASE_OPTS -Dturnstile.vertx-metrics=false"; else APPLIANCE_JAVA_OPTS=$BASE_OPTS; fi
  start_appliance "$CONFIG" "$OUT/vertx-metrics-impact-appliance.log"
  result=$(harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --flat-out | tee -a "$OUT/vertx-metrics-impact.txt" | grep '^RESULT')
  stop_appliance
  log "metrics $kind: $(field "$result" cycles_per_s) cycles/s (errors $(field "$result" errors))"
  echo "$kind $(field "$result" cycles_per_s)" | tee -a "$OUT/vertx-metrics-impact.txt" >> "$OUT/vertx-metrics-impact-runs.txt"
}

for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 == 1 )); then run ON; run OFF; else run OFF; run ON; fi
done
awk '
  $1 == "ON" { on += $2; n1++; s1 = s1 sprintf(" %.0f", $2) }
  $1 == "OFF" { off += $2; n2++; s2 = s2 sprintf(" %.0f", $2) }
  END {
    printf "FIGURE Vert.x metrics on (production): %.0f cycles/s mean; runs:%s\n", on / n1, s1
    printf "FIGURE Vert.x metrics off: %.0f cycles/s mean; runs:%s\n", off / n2, s2
    printf "FIGURE change with metrics on: %+.1f%%\n", 100 * (on / n1 - off / n2) / (off / n2)
  }' "$OUT/vertx-metrics-impact-runs.txt" | tee -a "$OUT/vertx-metrics-impact.txt"
log "full output: $OUT/vertx-metrics-impact.txt"
