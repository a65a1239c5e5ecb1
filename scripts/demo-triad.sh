#!/usr/bin/env bash
# A triad on one machine, to see failover with your own eyes: three appliances a, b, c on loopback, the demo's
# products (cad-pro: 3 seats, sim-suite: 2 seats), no database. Any two keep the site licensed.
#   clients   127.0.0.1:7878 (a)  127.0.0.1:7879 (b)  127.0.0.1:7880 (c)
#   pages     http://127.0.0.1:8080/ (a)  :8081 (b)  :8082 (c)   (the Triad panel shows role, term, lag)
#   raft      127.0.0.1:7900-7902 (and 8000-8022 for failure detection)
# Then, in another terminal, hold a seat with all three addresses and kill the leader (kill -9 its PID, printed
# below): the client reconnects, reclaims the same lease id on the new leader, and the pages follow.
# Ctrl-C stops the three. Logs and Raft state: $TMPDIR/turnstile-triad-demo (removed at the next start).
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=appliance/target/turnstile-appliance-all.jar
[[ -f $JAR ]] || mvn -B -q -ntp -DskipTests install
DIR=${TMPDIR:-/tmp}/turnstile-triad-demo
rm -rf "$DIR"
mkdir -p "$DIR"
ids=(a b c)
members=""
for i in 0 1 2; do
  members+="    - { id: ${ids[$i]}, raft: \"127.0.0.1:$((7900 + i))\", client: \"127.0.0.1:$((7878 + i))\" }"$'\n'
done
for i in 0 1 2; do
  id=${ids[$i]}
  mkdir -p "$DIR/$id"
  cat > "$DIR/$id.yaml" <<YAML
# Written by scripts/demo-triad.sh: member $id of a demo triad (loopback only, no database).
server: { id: "triad-demo-$id", host: "127.0.0.1", port: $((7878 + i)), heartbeat_interval: "2s", lease_timeout: "10s", reclaim_grace: "30s", drain_timeout: "2s" }
http: { enabled: true, host: "127.0.0.1", port: $((8080 + i)), read_open: true, api_token: "\${LOCAL_API_TOKEN:-}" }
clients: { min_version: "1.0.0" }
entitlements:
  - { entitlement_id: "demo-cad-pro", tenant_id: "demo-plant", product_id: "cad-pro", policy: { type: "concurrent", max_seats: 3, enforcement: "seats" }, starts_at: "2026-01-01T00:00:00Z", ends_at: "2036-01-01T00:00:00Z" }
  - { entitlement_id: "demo-sim-suite", tenant_id: "demo-plant", product_id: "sim-suite", policy: { type: "concurrent", max_seats: 2, enforcement: "seats" }, starts_at: "2026-01-01T00:00:00Z", ends_at: "2036-01-01T00:00:00Z" }
# one license for the site: every member checks it against the same id (server.id stays per member)
license: { public_key: "DEMO", allow_demo_key: true, local_server_id: "turnstile-demo", file: "$DIR/$id/license.json" }
sync: { enabled: false, state_dir: "$DIR/$id" }
triad:
  enabled: true
  self: $id
  state_dir: "$DIR/$id/raft"
  members:
$members
YAML
done
pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping the triad"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT
for i in 0 1 2; do
  java -Xmx256m -jar "$JAR" run --config "$DIR/${ids[$i]}.yaml" > "$DIR/${ids[$i]}.log" 2>&1 &
  pids+=("$!")
done
for i in 0 1 2; do
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$DIR/${ids[$i]}.log" 2>/dev/null; then break; fi
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then echo "member ${ids[$i]} exited:"; tail -20 "$DIR/${ids[$i]}.log"; exit 1; fi
    sleep 0.1
  done
done
cat <<TXT
triad up: a (pid ${pids[0]}), b (pid ${pids[1]}), c (pid ${pids[2]}); logs in $DIR
  pages:   http://127.0.0.1:8080/  http://127.0.0.1:8081/  http://127.0.0.1:8082/
  hold a seat with all three addresses (another terminal):
    java -jar harness/target/harness-0.1.0-SNAPSHOT-all.jar hold 127.0.0.1:7878,127.0.0.1:7879,127.0.0.1:7880 cad-pro
  then kill -9 the leader's PID (its page says "role leader") and watch the client move its lease.
Ctrl-C stops the triad.
TXT
wait
