#!/usr/bin/env bash
# Full GCs of a 1 GiB heap against the triad's failure detector (issue 8: "without false suspicions during a
# full GC of a 1 GiB heap"). Three appliance processes on loopback (every port 0: the members find each other
# through a shared triad.discovery_dir and each writes what it bound to its ports file), each with
# -Xms1g -Xmx1g, the unit's G1 settings (systemd/turnstile.env) and LIVE_MIB of live ballast objects
# (bench/GcBallast.java). ROUNDS times, a full GC is forced on the leader and then on a follower with
# `jcmd <pid> GC.run` (a stop-the-world "Pause Full (System.gc())"); the script prints each pause from the
# member's GC log and whether the triad noticed: a term change, a member out of view, or a suspicion in a log.
# It also runs one paused member (SIGSTOP) for PAUSE_S seconds as the control that the detector does fire.
#
#   bench/triad-gc.sh                     # LIVE_MIB=700 ROUNDS=5
#   LIVE_MIB=900 ROUNDS=3 bench/triad-gc.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_jars
LIVE_MIB=${LIVE_MIB:-700}
ROUNDS=${ROUNDS:-5}
PAUSE_S=${PAUSE_S:-7}
GC_OPTS=${GC_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=100}
DIR=$(mktemp -d "$OUT/triad-gc.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

ids=(a b c)
declare -A HTTP
members=""
for id in "${ids[@]}"; do
  members+="    - { id: $id, raft: \"127.0.0.1:0\", client: \"127.0.0.1:0\" }"$'\n'
done
for id in "${ids[@]}"; do
  cat > "$DIR/$id.yaml" <<YAML
server: { id: "gc-$id", host: "127.0.0.1", port: 0, heartbeat_interval: "1s", lease_timeout: "10s", reclaim_grace: "10s" }
clients: { min_version: "1.0.0" }
http: { enabled: true, host: "127.0.0.1", port: 0, read_open: true }
entitlements:
  - { entitlement_id: "gc-seats", tenant_id: "bench", product_id: "bench", policy: { type: "concurrent", max_seats: 100, enforcement: "seats" }, starts_at: "2026-01-01T00:00:00Z", ends_at: "2036-01-01T00:00:00Z" }
triad:
  enabled: true
  self: $id
  state_dir: "$DIR/state-$id"
  discovery_dir: "$DIR/discovery"
  members:
$members
YAML
done

log "$(machine_line)"
log "three members, -Xms1g -Xmx1g $GC_OPTS, $LIVE_MIB MiB live ballast each; files in $DIR"
declare -A PID
for id in "${ids[@]}"; do
  # shellcheck disable=SC2086
  java -Xms1g -Xmx1g $GC_OPTS -Xlog:gc:file="$DIR/gc-$id.log":uptime -cp "$APPLIANCE_JAR" "$ROOT/bench/GcBallast.java" \
    "$LIVE_MIB" run --config "$DIR/$id.yaml" --ports-file "$DIR/$id.ports.json" > "$DIR/$id.log" 2>&1 &
  PID[$id]=$!; PIDS+=("$!")
done
for id in "${ids[@]}"; do # each member writes {"client":N,"http":M,"raft":R} once it listens
  for _ in $(seq 1 240); do [[ -s "$DIR/$id.ports.json" ]] && break; sleep 0.5; done
  HTTP[$id]=$(sed -nE 's/.*"http":([0-9]+).*/\1/p' "$DIR/$id.ports.json" 2>/dev/null || true)
  [[ -n ${HTTP[$id]} ]] || { log "member $id wrote no ports file within 120 s"; tail -n 5 "$DIR/$id.log" >&2; exit 1; }
done

status() { curl -s --max-time 3 "http://127.0.0.1:${HTTP[$1]}/v1/status" 2>/dev/null | tr -d '\n' || true; }
field() { sed -nE "s/.*\"triad\":\{[^}]*\"$2\":\"?([^,\"]*)\"?.*/\1/p" <<<"$1"; }
leader() {
  for id in "${ids[@]}"; do
    local s; s=$(status "$id")
    if [[ $(field "$s" role) == leader && $(field "$s" quorum) == true ]]; then echo "$id"; return 0; fi
  done
  return 1
}
for _ in $(seq 1 240); do leader >/dev/null && break; sleep 0.5; done
L=$(leader) || { log "no leader within 120 s"; tail -n 5 "$DIR"/*.log >&2; exit 1; }
log "leader: $L"

in_view_count() { grep -o '"in_view":true' <<<"$(status "$1")" | wc -l; }
suspicions() { cat "$DIR"/{a,b,c}.log | grep -ciE "suspect|new view|no longer leader|is leader \(term" || true; }

last_full_pause() { grep "Pause Full" "$DIR/gc-$1.log" | tail -1 | grep -oE '[0-9.]+ms$' || echo "?"; }
printf '%-6s %-8s %-9s %-12s %-12s %-10s %s\n' round member role pause_ms term_before term_after "in_view(leader's view) / new log lines about suspicion or leadership"
for r in $(seq 1 "$ROUNDS"); do
  L=$(leader) || { log "no leader before round $r"; exit 1; }
  F=a; [[ $F == "$L" ]] && F=b
  for target in "$L" "$F"; do
    role=follower; [[ $target == "$L" ]] && role=leader
    t0=$(field "$(status "$L")" term); s0=$(suspicions)
    jcmd "${PID[$target]}" GC.run > /dev/null
    sleep 6 # FD_ALL3 4 s (the default failure_timeout) + VERIFY_SUSPECT2 0.5 s + a margin
    L2=$(leader || echo none)
    t1=$( [[ $L2 == none ]] && echo "-" || field "$(status "$L2")" term )
    views=$( [[ $L2 == none ]] && echo 0 || in_view_count "$L2")
    printf '%-6s %-8s %-9s %-12s %-12s %-10s %s\n' "$r" "$target" "$role" "$(last_full_pause "$target")" "$t0" "$t1" \
      "$views/3 / $(( $(suspicions) - s0 ))"
  done
done

# Control: a member that stops for longer than the failure timeout IS removed (the detector works).
L=$(leader); t0=$(field "$(status "$L")" term); s0=$(suspicions)
kill -STOP "${PID[$L]}"; sleep "$PAUSE_S"; kill -CONT "${PID[$L]}"; sleep 4
L2=$(leader || echo none)
printf 'control: leader %s SIGSTOPped for %s s: leader now %s, term %s -> %s, %s new log lines about suspicion or leadership\n' \
  "$L" "$PAUSE_S" "$L2" "$t0" "$( [[ $L2 == none ]] && echo - || field "$(status "$L2")" term )" "$(( $(suspicions) - s0 ))"
grep -h "ballast:" "$DIR"/{a,b,c}.log | head -1
log "done; logs and GC logs in $DIR"
