#!/usr/bin/env bash
# Randomised fault schedules over one triad of three appliance processes on loopback, under 8 SDK clients and a
# pool of 7 seats, each schedule checked by TriadChecker (appliance/src/test/java/dev/turnstile/appliance/triad):
# no instant with more than max_seats leases (conservative client-side intervals), and every lease held across a
# failover reclaimed with its id (or lost for a reason the schedule justifies). Faults: SIGKILL leader, SIGKILL
# follower, SIGSTOP leader 1-4 s, SIGSTOP follower 1-4 s, restart a follower, SIGKILL two of three then restart,
# and (the members behind a dropping proxy, when 127.0.0.2-4 can be bound) the leader's or a follower's triad
# traffic cut, DROP or RESET, for 1-3 s (healed before failure detection) or 6-10 s (past it), then healed.
#
#   bench/triad-chaos.sh                      # 200 schedules, first seed from the clock
#   SCHEDULES=20 SEED=1000 bench/triad-chaos.sh
#   BUDGET_S=1500 bench/triad-chaos.sh        # stop starting schedules after this many seconds (default 1800)
#   RECLAIM_GRACE_MS=5000 bench/triad-chaos.sh # the members' server.reclaim_grace (default 20000)
#
# Builds the appliance's test classes if needed (offline). Exit status 1 when the checker found a violation.
# Output: one line per schedule, then SUMMARY lines; all of it also in $OUT/triad-chaos.txt; member logs in the
# temporary directory the first line names.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEDULES=${SCHEDULES:-200}
SEED=${SEED:-$(( $(date +%s) % 1000000 ))}
BUDGET_S=${BUDGET_S:-1800}
TARGET=${CHAOS_TARGET:-target}
APP=$ROOT/appliance
CP_FILE=$APP/$TARGET/chaos-classpath.txt

if [[ ! -d $APP/$TARGET/test-classes/dev/turnstile/appliance/triad || ! -f $CP_FILE \
      || -n $(find "$APP/src" -newer "$CP_FILE" -name '*.java' -print -quit) ]]; then
  log "building the appliance's test classes ($TARGET)"
  (cd "$ROOT" && mvn -o -q -B -pl appliance -Dturnstile.target="$TARGET" test-compile \
      org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath \
      -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test)
fi
CP="$APP/$TARGET/test-classes:$APP/$TARGET/classes:$(cat "$CP_FILE")"

machine_line | tee "$OUT/triad-chaos.txt"
log "running $SCHEDULES schedules from seed $SEED (budget ${BUDGET_S} s, reclaim grace ${RECLAIM_GRACE_MS:-20000} ms)"
set +e
# The chaos JVM starts and kills the three members itself (by PID) and kills what is left when it exits.
timeout --kill-after=30 $(( BUDGET_S + 300 )) java -Xmx512m -Dtriad.chaos.reclaim.grace.ms="${RECLAIM_GRACE_MS:-20000}" \
  -cp "$CP" dev.turnstile.appliance.triad.TriadChaos \
  "$SCHEDULES" "$SEED" "$BUDGET_S" 2>"$OUT/triad-chaos-stderr.txt" | tee -a "$OUT/triad-chaos.txt"
rc=${PIPESTATUS[0]}
set -e
grep '^SUMMARY' "$OUT/triad-chaos.txt" >&2 || true
if [[ $rc -ne 0 ]]; then
  log "the chaos run failed (exit $rc): see VIOLATION lines in $OUT/triad-chaos.txt and $OUT/triad-chaos-stderr.txt"
  exit 1
fi
log "no violation; full output: $OUT/triad-chaos.txt"
