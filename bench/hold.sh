#!/usr/bin/env bash
# N concurrent persistent connections, each holding one lease and heartbeating at the appliance's
# WELCOME interval, for DURATION, appliance heap capped at 1 GiB; reports lost leases and errors
# (target: 100,000 connections for 5 minutes, zero lost leases, zero errors).
#
# The client side is split over several harness processes (PER_PROCESS connections each), each
# with its own source address 127.0.0.2, 127.0.0.3, ... so no address runs out of ephemeral ports.
# All processes hold until one common wall-clock end (--end-at), so the window in which every
# connection is open is at least DURATION once setup is done within SETUP_ALLOWANCE.
#
#   bench/hold.sh                  # 100000 connections, 5m
#   DURATION=60s bench/hold.sh 20000
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

N=${1:-${CONNECTIONS:-100000}}
D=${DURATION:-5m}
PER_PROC=${PER_PROCESS:-10000}
HB=${HEARTBEAT:-10s}
LT=${LEASE_TIMEOUT:-30s}
SETUP=${SETUP_ALLOWANCE:-240}
HARNESS_JAVA_OPTS=${HARNESS_JAVA_OPTS_HOLD:--Xmx512m}

to_seconds() {
  local v=$1
  case $v in
    *ms) echo $(( ${v%ms} / 1000 )) ;;
    *s) echo "${v%s}" ;;
    *m) echo $(( ${v%m} * 60 )) ;;
    *h) echo $(( ${v%h} * 3600 )) ;;
    *) echo "$v" ;;
  esac
}

machine_line | tee "$OUT/hold.txt"
raise_fd_limit
FDS=$(ulimit -n)
read -r LO HI < /proc/sys/net/ipv4/ip_local_port_range
PORTS=$(( HI - LO + 1 ))
PROCS=$(( (N + PER_PROC - 1) / PER_PROC ))
{
  echo "plan: $N connections, $PROCS harness process(es) of at most $PER_PROC, source addresses 127.0.0.2..127.0.0.$((PROCS + 1))"
  echo "limits: open files $FDS per process (hard $(ulimit -Hn)); ephemeral ports $LO-$HI ($PORTS per source address)"
} | tee -a "$OUT/hold.txt"
if (( PER_PROC > PORTS - 1000 )); then
  log "PER_PROCESS=$PER_PROC is close to the $PORTS ephemeral ports of one source address; lower it"; exit 1
fi
if (( PER_PROC + 200 > FDS )); then
  log "PER_PROCESS=$PER_PROC does not fit the open files limit $FDS of one harness process; lower it"; exit 1
fi
if (( N + 200 > FDS )); then
  echo "WARNING: the appliance is one process and may open at most $FDS files (RLIMIT_NOFILE hard limit $(ulimit -Hn));" \
       "at most ~$(( FDS - 200 )) of the $N connections can be accepted. Raising the hard limit needs root with CAP_SYS_RESOURCE" \
       "(e.g. LimitNOFILE= in the systemd unit, or ulimit -Hn as root)." | tee -a "$OUT/hold.txt"
fi

CONFIG=$OUT/hold.yaml
write_config "$CONFIG" $(( N + 1000 )) "$HB" "$LT"
rm -f "$OUT/appliance-gc.log"
start_appliance "$CONFIG" "$OUT/hold-appliance.log"

DSEC=$(to_seconds "$D")
START=$(date +%s)
END=$(( START + SETUP + DSEC ))
log "holding until $(date -d "@$END" +%H:%M:%S): up to ${SETUP}s to open, then ${DSEC}s held by everybody"
PIDS=()
for (( i = 0; i < PROCS; i++ )); do
  n=$(( N - i * PER_PROC )); (( n > PER_PROC )) && n=$PER_PROC
  harness load "127.0.0.1:$BENCH_PORT" --hold-only --connections "$n" --leases-per-connection 1 --product bench \
    --bind "127.0.0.$(( 2 + i ))" --hw-id-prefix "hold$i" --end-at "$END" --setup-timeout "${SETUP}s" \
    --request-timeout 30s --event-loops 1 --connect-concurrency 64 > "$OUT/hold-$i.txt" 2>&1 &
  PIDS+=($!)
done
# 15 s before the end, with every connection still open: a full GC in the appliance, then its heap
# occupancy, i.e. the live heap of N held connections (the figure that says whether 100k fit in 1 GiB).
(
  sleep $(( END - $(date +%s) - 15 ))
  jcmd "$APPLIANCE_PID" GC.run > /dev/null 2>&1 || true
  jcmd "$APPLIANCE_PID" GC.heap_info > "$OUT/hold-heap-live.txt" 2>&1 || true
  jcmd "$APPLIANCE_PID" GC.class_histogram 2>/dev/null | head -45 > "$OUT/hold-heap-histogram.txt" || true
) &
HEAP_PID=$!
stop_harnesses() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap 'stop_harnesses; cleanup' EXIT

PEAK_RSS=0
PEAK_CONN=0
: > "$OUT/hold-status.txt"
while :; do
  alive=0
  for p in "${PIDS[@]}"; do if kill -0 "$p" 2>/dev/null; then alive=$(( alive + 1 )); fi; done
  (( alive == 0 )) && break
  if (( $(date +%s) > END + 120 )); then log "harness processes still running 2 min after the end; stopping them"; stop_harnesses; break; fi
  rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$APPLIANCE_PID/status" 2>/dev/null || echo 0)
  if (( rss > PEAK_RSS )); then PEAK_RSS=$rss; fi
  st=$(appliance_status)
  conn=$(sed -E 's/.*connections=([0-9]+).*/\1/' <<<"$st")
  if [[ $conn =~ ^[0-9]+$ ]] && (( conn > PEAK_CONN )); then PEAK_CONN=$conn; fi
  echo "$(date +%H:%M:%S) +$(( $(date +%s) - START ))s appliance $st rss=${rss}MiB harnesses_running=$alive" | tee -a "$OUT/hold-status.txt" >&2
  SAMPLE=${SAMPLE_EVERY:-30}
  sleep "$SAMPLE" & wait $! || true
done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
wait "$HEAP_PID" 2>/dev/null || true
HEAP=$(appliance_heap_after_gc_max)
LIVE=$(grep -oE 'heap +total [0-9]+K, used [0-9]+K' "$OUT/hold-heap-live.txt" 2>/dev/null | sed -E 's/.*used ([0-9]+)K/\1/' | awk '{ printf "%d", $1 / 1024 }')
stop_appliance

ready=0; failed=0; lost=0; errors=0; closed=0; hbmax=0; hbp99=0; held=0
SETUP_MAX=$(grep -hoE '^# setup (done|timed out): .* in [0-9.]+ s' "$OUT"/hold-[0-9]*.txt 2>/dev/null \
  | sed -E 's/.* in ([0-9.]+) s/\1/' | sort -n | tail -1)
WINDOW=$(awk -v s="$SETUP" -v d="$DSEC" -v m="${SETUP_MAX:-0}" 'BEGIN { printf "%.0f", s + d - m - 1 }')
for (( i = 0; i < PROCS; i++ )); do
  r=$(grep '^RESULT' "$OUT/hold-$i.txt" || true)
  if [[ -z $r ]]; then log "process $i printed no RESULT; see $OUT/hold-$i.txt"; continue; fi
  ready=$(( ready + $(field "$r" ready) )); failed=$(( failed + $(field "$r" failed) ))
  lost=$(( lost + $(field "$r" lost_leases) )); errors=$(( errors + $(field "$r" errors) ))
  closed=$(( closed + $(field "$r" closed_early) )); held=$(( held + $(field "$r" held) ))
  v=$(field "$r" heartbeat_p99_us); (( v > hbp99 )) && hbp99=$v
  v=$(field "$r" heartbeat_max_us); (( v > hbmax )) && hbmax=$v
  grep '^errors:' "$OUT/hold-$i.txt" | sed "s/^/process $i /" | tee -a "$OUT/hold.txt"
done
printf 'FIGURE hold: %d connections wanted, %d set up (%d failed to set up, %d closed early), %d leases still held at the end; every connection open together for ~%ss (slowest setup %ss); lost leases %d; errors %d; heartbeat p99 %d us (worst process), max %d us; appliance peak %s connections, live heap after a full GC 15 s before the end %s MiB, heap after GC max %s MiB (-Xmx1g), RSS peak %d MiB\n' \
  "$N" "$ready" "$failed" "$closed" "$held" "$WINDOW" "${SETUP_MAX:-?}" "$lost" "$errors" "$hbp99" "$hbmax" "$PEAK_CONN" "${LIVE:-?}" "${HEAP:-?}" "$PEAK_RSS" \
  | tee -a "$OUT/hold.txt"
log "appliance log: $OUT/hold-appliance.log; per process: $OUT/hold-*.txt; status samples: $OUT/hold-status.txt; live heap by class: $OUT/hold-heap-histogram.txt"
