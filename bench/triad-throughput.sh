#!/usr/bin/env bash
# Triad throughput as a ratio of a single appliance, measured in one run with the same load:
#   single appliance -> triad of three appliance processes (load on the leader) -> single appliance again,
# each with the harness load generator, checkout+checkin cycles flat out, the same connections and the same
# pipelining (answers by correlation id; a triad session keeps up to server.max_in_flight requests in flight).
# Prints the triad leader's cycles/s as a ratio of the mean of the two single-appliance runs.
#
#   bench/triad-throughput.sh                          # 16 connections x pipeline 8, 20 s each (+5 s warmup)
#   CONNECTIONS=16 PIPELINE=1 DURATION=10s bench/triad-throughput.sh
#   FSYNC=false bench/triad-throughput.sh              # the Raft log without fsync (the default fsyncs)
# Ports: the single appliance uses BENCH_PORT/BENCH_HTTP_PORT; member i of the triad uses BENCH_PORT+10*i
# (client), +1 (HTTP) and +2 (Raft), on 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars

C=${CONNECTIONS:-16}
P=${PIPELINE:-8}
D=${DURATION:-20s}
W=${WARMUP:-5s}
FSYNC=${FSYNC:-true}
LOOPS=${CLIENT_EVENT_LOOPS:-$(nproc)}
SHAPE=(--connections "$C" --pipeline "$P" --duration "$D" --warmup "$W" --product bench --event-loops "$LOOPS")
SEATS=$(( C * (P + 1) + 1000 ))
PIDS=()

cleanup() {
  stop_appliance
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

single_run() {
  local n=$1 config=$OUT/triad-tp-single.yaml
  write_config "$config" "$SEATS" 10s 30s
  start_appliance "$config" "$OUT/triad-tp-single-$n.log"
  log "single appliance ($n of 2): $C connections x pipeline $P"
  harness load "127.0.0.1:$BENCH_PORT" "${SHAPE[@]}" --flat-out --leases-per-connection 1 \
    | tee -a "$OUT/triad-throughput.txt" | grep '^RESULT'
  stop_appliance
}

member_port() { echo $(( BENCH_PORT + 10 * $1 + $2 )); } # member, offset (0 client, 1 http, 2 raft)

triad_config() { # member index 1..3
  local i=$1 ids=(x a b c) file=$OUT/triad-tp-${1}.yaml
  write_config "$file" "$SEATS" 10s 30s
  sed -i -e "s/^  id: \"bench\"/  id: \"bench-${ids[$i]}\"/" -e "s/^  port: $BENCH_PORT\$/  port: $(member_port "$i" 0)/" \
    -e "s/^  port: $BENCH_HTTP_PORT\$/  port: $(member_port "$i" 1)/" -e 's/^  reclaim_grace: "0s"/  reclaim_grace: "60s"/' "$file"
  cat >> "$file" <<YAML
triad:
  enabled: true
  self: "${ids[$i]}"
  state_dir: "$OUT/triad-tp-state-${ids[$i]}"
  fsync: $FSYNC
  members:
    - { id: "a", raft: "127.0.0.1:$(member_port 1 2)", client: "127.0.0.1:$(member_port 1 0)" }
    - { id: "b", raft: "127.0.0.1:$(member_port 2 2)", client: "127.0.0.1:$(member_port 2 0)" }
    - { id: "c", raft: "127.0.0.1:$(member_port 3 2)", client: "127.0.0.1:$(member_port 3 0)" }
YAML
  echo "$file"
}

triad_run() {
  rm -rf "$OUT"/triad-tp-state-*
  for i in 1 2 3; do
    local config; config=$(triad_config "$i")
    # shellcheck disable=SC2086
    java $APPLIANCE_JAVA_OPTS -jar "$APPLIANCE_JAR" run --config "$config" > "$OUT/triad-tp-member-$i.log" 2>&1 &
    PIDS+=($!)
  done
  local leader=""
  for _ in $(seq 1 600); do # at most 60 s for a leader with quorum that listens
    for i in 1 2 3; do
      if curl -s --max-time 2 "http://127.0.0.1:$(member_port "$i" 1)/v1/status" 2>/dev/null | tr -d ' \n' \
          | grep -q '"role":"leader"'; then
        grep -q "listening on" "$OUT/triad-tp-member-$i.log" && leader=$i && break 2
      fi
    done
    sleep 0.1
  done
  [[ -n $leader ]] || { log "no triad leader within 60 s; see $OUT/triad-tp-member-*.log"; return 1; }
  log "triad (fsync $FSYNC): leader is member $leader; $C connections x pipeline $P on it"
  harness load "127.0.0.1:$(member_port "$leader" 0)" "${SHAPE[@]}" --flat-out --leases-per-connection 1 \
    | tee -a "$OUT/triad-throughput.txt" | grep '^RESULT'
  # group commit on the leader: entries, commands (commands / entries = the mean batch)
  curl -s --max-time 5 "http://127.0.0.1:$(member_port "$leader" 1)/v1/status" 2>/dev/null | tr -d ' \n' \
    | grep -o '"group_commit":{[^}]*}' | sed 's/^/group commit on the leader: /' >> "$OUT/triad-throughput.txt" || true
  cleanup
  PIDS=()
}

machine_line | tee "$OUT/triad-throughput.txt"
s1=$(single_run 1)
t=$(triad_run)
s2=$(single_run 2)

c1=$(field "$s1" cycles_per_s); c2=$(field "$s2" cycles_per_s); ct=$(field "$t" cycles_per_s)
awk -v c1="$c1" -v c2="$c2" -v t="$ct" -v C="$C" -v P="$P" -v f="$FSYNC" -v err="$(field "$t" errors)" \
    -v lost="$(field "$t" lost_leases)" 'BEGIN {
  s = (c1 + c2) / 2
  printf "FIGURE triad throughput: %d connections x pipeline %d: triad leader %.0f checkout+checkin cycles/s; single appliance %.0f (runs: %.0f, %.0f)\n", C, P, t, s, c1, c2
  printf "FIGURE triad ratio: %.2f of a single appliance (Raft fsync %s); triad load errors %s, lost leases %s\n", t / s, f, err, lost
}' | tee -a "$OUT/triad-throughput.txt"
log "full output: $OUT/triad-throughput.txt"
