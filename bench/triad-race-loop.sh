#!/usr/bin/env bash
# The failover race of issue 14 in a loop: RUNS times in a row (default 200), each on a fresh in-JVM triad,
# TriadAppliancesTest's "a seat checked in during a failover reaches the waiting checkout promptly": all seats
# held, a checkout waiting in the leader's queue, the leader killed, a seat checked in while its holder fails over;
# the waiting checkout must get it on the new leader (not after the 30 s reclaim grace). Stops at the first failure.
#
#   bench/triad-race-loop.sh              # 200 runs
#   RUNS=20 bench/triad-race-loop.sh
#
# Output: one line per run, then the result; all of it in $OUT/triad-race-loop.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
RUNS=${RUNS:-200}
machine_line | tee "$OUT/triad-race-loop.txt"
log "running the failover race $RUNS times in a row"
set +e
(cd "$ROOT" && mvn -B -ntp -pl appliance -am test -Dtest='TriadAppliancesTest#the_failover_race_in_a_loop' \
  -Dsurefire.failIfNoSpecifiedTests=false -Dtriad.race.runs="$RUNS") \
  > "$OUT/triad-race-loop-maven.txt" 2>&1
rc=$?
set -e
# the test's own output (surefire writes it to a file per class)
REPORT=$ROOT/appliance/target/surefire-reports/dev.turnstile.appliance.triad.TriadAppliancesTest-output.txt
grep -E 'race loop:' "$REPORT" 2>/dev/null | sed -E 's/^.*(race loop:)/\1/' | tee -a "$OUT/triad-race-loop.txt" || true
if [[ $rc -ne 0 ]]; then
  grep -E 'FAIL|expected|Exception' "$OUT/triad-race-loop-maven.txt" | head -20 | tee -a "$OUT/triad-race-loop.txt" >&2
  log "a run failed (Maven exit $rc): full output in $OUT/triad-race-loop-maven.txt"
  exit 1
fi
log "$RUNS of $RUNS runs passed; full output: $OUT/triad-race-loop-maven.txt"
