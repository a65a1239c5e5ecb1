#!/usr/bin/env bash
# Throughput against the echo baseline, measured in one run:
#   echo baseline -> appliance (checkout+checkin cycles, flat out) -> echo baseline again,
# same connections, same pipelining, same client code. Prints the appliance's cycles/s as a
# ratio of the mean echo round trips/s (target >= 70%), and requests/s (2 per cycle) likewise.
#
#   bench/compare.sh                      # 32 connections x pipeline 8, 20 s each (+5 s warmup)
#   CONNECTIONS=4 PIPELINE=1 DURATION=10s bench/compare.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

C=${CONNECTIONS:-32}
P=${PIPELINE:-8}
D=${DURATION:-20s}
W=${WARMUP:-5s}
LOOPS=${CLIENT_EVENT_LOOPS:-$(nproc)}
# The echo server gets as many event loops as the appliance (its default: 2 x cores).
ECHO_LOOPS=$(( BENCH_EVENT_LOOPS > 0 ? BENCH_EVENT_LOOPS : 2 * $(nproc) ))
SHAPE=(--connections "$C" --pipeline "$P" --duration "$D" --warmup "$W" --product bench --event-loops "$LOOPS")

machine_line | tee "$OUT/compare.txt"
log "echo baseline (1 of 2): $C connections x pipeline $P"
echo1=$(harness echo-baseline --server-event-loops "$ECHO_LOOPS" "${SHAPE[@]}" | tee -a "$OUT/compare.txt" | grep '^RESULT')

CONFIG=$OUT/compare.yaml
write_config "$CONFIG" $(( C * (P + 1) + 1000 )) 10s 30s
start_appliance "$CONFIG" "$OUT/compare-appliance.log"
log "appliance: $C connections x pipeline $P, 1 held lease each, checkout+checkin cycles flat out"
load=$(harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --flat-out --leases-per-connection 1 \
  | tee -a "$OUT/compare.txt" | grep '^RESULT')
stop_appliance

log "echo baseline (2 of 2)"
echo2=$(harness echo-baseline --server-event-loops "$ECHO_LOOPS" "${SHAPE[@]}" | tee -a "$OUT/compare.txt" | grep '^RESULT')

e1=$(field "$echo1" cycles_per_s); e2=$(field "$echo2" cycles_per_s)
cyc=$(field "$load" cycles_per_s); req=$(field "$load" requests_per_s)
errors=$(field "$load" errors); lost=$(field "$load" lost_leases)
awk -v e1="$e1" -v e2="$e2" -v c="$cyc" -v r="$req" -v C="$C" -v P="$P" -v err="$errors" -v lost="$lost" 'BEGIN {
  e = (e1 + e2) / 2
  printf "FIGURE throughput: %d connections x pipeline %d: appliance %.0f checkout+checkin cycles/s (%.0f requests/s); echo baseline %.0f round trips/s (runs: %.0f, %.0f)\n", C, P, c, r, e, e1, e2
  printf "FIGURE ratio: cycles/s = %.1f%% of echo round trips/s; requests/s = %.1f%% of echo round trips/s (target: cycles >= 70%%); load errors %s, lost leases %s\n", 100 * c / e, 100 * r / e, err, lost
}' | tee -a "$OUT/compare.txt"
log "full output: $OUT/compare.txt"
