#!/usr/bin/env bash
# p99 checkout latency at half the maximum throughput (target < 1 ms on loopback):
#   1. flat out against the appliance -> max cycles/s (skipped when MAX_RATE is given)
#   2. --rate max/2 with the same connections (pipeline = most in flight) -> checkout latency
#      percentiles, corrected for coordinated omission (measured from each cycle's planned start)
#      (and from each CHECKOUT's actual send, the server's service time)
#   3. the echo baseline at the same rate, for reference
#
#   bench/latency.sh
#   MAX_RATE=12000 CONNECTIONS=32 PIPELINE=8 DURATION=30s bench/latency.sh
#   FRACTIONS="0.5 0.25 0.1" bench/latency.sh     # several shares of the maximum
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

C=${CONNECTIONS:-32}
P=${PIPELINE:-8}
D=${DURATION:-30s}
W=${WARMUP:-5s}
LOOPS=${CLIENT_EVENT_LOOPS:-$(nproc)}
# The echo server gets as many event loops as the appliance (its default: 2 x cores).
ECHO_LOOPS=$(( BENCH_EVENT_LOOPS > 0 ? BENCH_EVENT_LOOPS : 2 * $(nproc) ))
SHAPE=(--connections "$C" --pipeline "$P" --warmup "$W" --product bench --event-loops "$LOOPS")

machine_line | tee "$OUT/latency.txt"
CONFIG=$OUT/latency.yaml
write_config "$CONFIG" $(( C * (P + 1) + 1000 )) 10s 30s
start_appliance "$CONFIG" "$OUT/latency-appliance.log"
MAX=${MAX_RATE:-}
if [[ -z $MAX ]]; then
  log "finding the maximum: flat out, $C connections x pipeline $P"
  flat=$(harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --duration 15s --flat-out | tee -a "$OUT/latency.txt" | grep '^RESULT')
  MAX=$(field "$flat" cycles_per_s)
fi
# FRACTIONS: the share(s) of the maximum to measure at; the figure the target names is 0.5.
FRACTIONS=${FRACTIONS:-0.5}
for f in $FRACTIONS; do
  RATE=$(awk -v m="$MAX" -v f="$f" 'BEGIN { printf "%.0f", m * f }')
  log "$f of the maximum: $RATE cycles/s (max $MAX)"
  rated=$(harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --duration "$D" --rate "$RATE" | tee -a "$OUT/latency.txt" | grep '^RESULT')
  printf 'FIGURE latency at %s of max (%s of %s cycles/s, %s connections, at most %s in flight each): checkout from planned start p50 %s us, p99 %s us, p99.9 %s us, max %s us; from send p50 %s us, p99 %s us, p99.9 %s us; achieved %s cycles/s; errors %s\n' \
    "$f" "$RATE" "$MAX" "$C" "$P" "$(field "$rated" checkout_p50_us)" "$(field "$rated" checkout_p99_us)" \
    "$(field "$rated" checkout_p999_us)" "$(field "$rated" checkout_max_us)" "$(field "$rated" checkout_sent_p50_us)" \
    "$(field "$rated" checkout_sent_p99_us)" "$(field "$rated" checkout_sent_p999_us)" "$(field "$rated" cycles_per_s)" \
    "$(field "$rated" errors)" | tee -a "$OUT/latency.txt"
done
stop_appliance
for f in $FRACTIONS; do
  RATE=$(awk -v m="$MAX" -v f="$f" 'BEGIN { printf "%.0f", m * f }')
  log "echo baseline at $RATE round trips/s"
  echo=$(harness echo-baseline --server-event-loops "$ECHO_LOOPS" "${SHAPE[@]}" --duration "$D" --rate "$RATE" | tee -a "$OUT/latency.txt" | grep '^RESULT')
  printf 'FIGURE echo baseline at %s round trips/s: from planned start p50 %s us, p99 %s us, p99.9 %s us, max %s us; from send p99 %s us\n' \
    "$RATE" "$(field "$echo" checkout_p50_us)" "$(field "$echo" checkout_p99_us)" "$(field "$echo" checkout_p999_us)" \
    "$(field "$echo" checkout_max_us)" "$(field "$echo" checkout_sent_p99_us)" | tee -a "$OUT/latency.txt"
done
log "full output: $OUT/latency.txt"
