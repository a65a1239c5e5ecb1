#!/usr/bin/env bash
# Does the status page slow seat service? Checkout throughput flat out, with and without a page's
# polling, measured in the same run against the same appliance:
#   A: the load generator flat out (checkout+checkin cycles), the poller idle
#   B: the same, while bench/HttpPoller.java fetches /v1/status and the leases page
#      (/v1/leases?limit=50) RATE times a second each (default 10) over keep-alive HTTP/1.1
# in ROUNDS rounds ordered A B, B A, A B, ... (drift on a shared machine hits both alike). One poller
# JVM runs, warmed up, through all runs and is only switched on and off, so its start-up and JIT are
# in neither figure. It runs on the same machine, so its own CPU (a browser's, in real life, on
# another machine) is charged to B: the figure is an upper bound of the page's cost.
# Prints each run, the mean cycles/s of A and B and the change (target: B at most 5 % below A), the
# appliance's and the poller's CPU per run, and cycles/s per appliance CPU-second (on a shared machine
# other processes take CPU from some runs and not others; that ratio does not move with them).
#
#   bench/http-impact.sh
#   ROUNDS=4 DURATION=30s RATE=10 HELD_PER_CONNECTION=100 bench/http-impact.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

C=${CONNECTIONS:-32}
P=${PIPELINE:-8}
D=${DURATION:-20s}
W=${WARMUP:-5s}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-10}
# Leases each connection holds (and heartbeats) besides its cycles: they fill the leases table.
HELD=${HELD_PER_CONNECTION:-100}
LOOPS=${CLIENT_EVENT_LOOPS:-$(nproc)}
SHAPE=(--connections "$C" --pipeline "$P" --duration "$D" --warmup "$W" --product bench --event-loops "$LOOPS"
  --leases-per-connection "$HELD")
POLLER_PID=""
FLAG=$OUT/http-impact-poll.on
POLL_LOG=$OUT/http-impact-poll.txt
TICKS=$(getconf CLK_TCK)

stop_poller() {
  [[ -z $POLLER_PID ]] && return 0
  touch "$FLAG.stop"
  for _ in $(seq 1 50); do kill -0 "$POLLER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$POLLER_PID" 2>/dev/null || true
  wait "$POLLER_PID" 2>/dev/null || true
  POLLER_PID=""
}
trap 'stop_poller; cleanup' EXIT
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

machine_line | tee "$OUT/http-impact.txt"
CONFIG=$OUT/http-impact.yaml
write_config "$CONFIG" $(( C * (P + HELD) + 1000 )) 10s 30s
start_appliance "$CONFIG" "$OUT/http-impact-appliance.log"

log "poller: compiling and warming up (10 s of polling before the first run)"
mkdir -p "$OUT/poller"
javac -d "$OUT/poller" "$ROOT/bench/HttpPoller.java"
rm -f "$FLAG" "$FLAG.stop"; : > "$POLL_LOG"
touch "$FLAG"
java -Xmx64m -XX:+UseSerialGC -cp "$OUT/poller" HttpPoller "http://127.0.0.1:$BENCH_HTTP_PORT" "$RATE" 3600 "$FLAG" \
  /v1/status '/v1/leases?limit=50' >> "$POLL_LOG" 2>&1 &
POLLER_PID=$!
for _ in $(seq 1 300); do grep -q READY "$POLL_LOG" 2>/dev/null && break; sleep 0.1; done
grep -q READY "$POLL_LOG" || { log "the poller did not start:"; cat "$POLL_LOG" >&2; exit 1; }
sleep 10
rm -f "$FLAG"
sleep 1
log "appliance: $C connections x pipeline $P flat out, $HELD held leases each; B runs poll at $RATE/s per path"

# One run: $1 = A or B. Appends "KIND cycles_per_s appliance_cpu_s poller_cpu_s [POLL ...]" to the runs file.
run() {
  local kind=$1 result before_app before_poll after_app after_poll
  [[ $kind == B ]] && touch "$FLAG"
  before_app=$(cpu_ticks "$APPLIANCE_PID"); before_poll=$(cpu_ticks "$POLLER_PID")
  result=$(harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --flat-out | tee -a "$OUT/http-impact.txt" | grep '^RESULT')
  after_app=$(cpu_ticks "$APPLIANCE_PID"); after_poll=$(cpu_ticks "$POLLER_PID")
  local lines_before; lines_before=$(grep -c '^POLL' "$POLL_LOG" || true)
  rm -f "$FLAG"
  local poll=""
  if [[ $kind == B ]]; then
    for _ in $(seq 1 50); do [[ $(grep -c '^POLL' "$POLL_LOG" || true) -gt $lines_before ]] && break; sleep 0.1; done
    poll=$(grep '^POLL' "$POLL_LOG" | tail -1)
  fi
  local cyc app_s poll_s
  cyc=$(field "$result" cycles_per_s)
  app_s=$(awk -v a="$before_app" -v b="$after_app" -v t="$TICKS" 'BEGIN { printf "%.1f", (b - a) / t }')
  poll_s=$(awk -v a="$before_poll" -v b="$after_poll" -v t="$TICKS" 'BEGIN { printf "%.1f", (b - a) / t }')
  log "$kind: $cyc cycles/s (errors $(field "$result" errors), lost leases $(field "$result" lost_leases));" \
      "CPU s: appliance $app_s, poller $poll_s; $poll"
  echo "$kind $cyc $app_s $poll_s $poll" | tee -a "$OUT/http-impact.txt" >> "$OUT/http-impact-runs.txt"
  sleep 2 # the load's held leases end with it; let the appliance settle between runs
}

: > "$OUT/http-impact-runs.txt"
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 == 1 )); then run A; run B; else run B; run A; fi
done
stop_poller
stop_appliance

awk -v rate="$RATE" -v C="$C" -v P="$P" -v held="$HELD" '
  $1 == "A" { a += $2; na++; as = as sprintf(" %.0f", $2); acpu += $3; apoll += $4; if ($3 > 0) ae += $2 / $3 }
  $1 == "B" { b += $2; nb++; bs = bs sprintf(" %.0f", $2); bcpu += $3; bpoll += $4; if ($3 > 0) be += $2 / $3
              for (i = 5; i <= NF; i++) if ($i ~ /^(p50_ms|p99_ms|requests|errors)=/) { split($i, kv, "="); poll[kv[1]] = poll[kv[1]] " " kv[2] } }
  END {
    ma = a / na; mb = b / nb
    printf "FIGURE http-impact: %d connections x pipeline %d flat out, %d held leases each, %d rounds\n", C, P, held, na
    printf "FIGURE without polling (A): %.0f cycles/s mean; runs:%s; CPU s per run: appliance %.1f, poller %.1f\n", ma, as, acpu / na, apoll / na
    printf "FIGURE with /v1/status + /v1/leases?limit=50 at %s/s each (B): %.0f cycles/s mean; runs:%s; CPU s per run: appliance %.1f, poller %.1f\n", rate, mb, bs, bcpu / nb, bpoll / nb
    printf "FIGURE cycles/s per appliance CPU-second of the run (robust to CPU taken by other processes): A %.0f, B %.0f, change %+.1f%%\n", ae / na, be / nb, 100 * (be / nb - ae / na) / (ae / na)
    printf "FIGURE change: %+.1f%% (target: no worse than -5%%); poll latency p50 ms:%s; p99 ms:%s; requests per run:%s; errors:%s\n", 100 * (mb - ma) / ma, poll["p50_ms"], poll["p99_ms"], poll["requests"], poll["errors"]
  }' "$OUT/http-impact-runs.txt" | tee -a "$OUT/http-impact.txt"
log "full output: $OUT/http-impact.txt"
