package dev.turnstile.appliance.store;

import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SeatLedger;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restart recovery: the leases that were active when the appliance last stopped are put back into
 * the ledger, orphaned, for {@code reclaimGrace} counted from the moment the TCP listener accepts
 * (issue 12: loading them waits until the spill of an earlier run is written, which can take longer
 * than the grace; clients cannot reclaim before they can connect). A client that reconnects with the
 * same lease id and hardware id gets its seat back (a RECLAIM); nobody else can take those seats
 * meanwhile; when the grace ends the ledger releases the rest with reason {@code serverRestart}.
 * Two steps: {@link #restore} before the listener opens (the leases hold their seats, their grace not
 * yet begun), {@link #startGrace} once it accepts.
 */
public final class RestartRecovery {
    private static final Logger LOG = LoggerFactory.getLogger("dev.turnstile.appliance.store");

    private RestartRecovery() {
    }

    /**
     * Loads and restores. Never fails: when the database cannot be read, it says so in the log
     * (seats held at the last stop may then be granted to others) and restores nothing.
     *
     * @return how many leases were restored
     */
    public static Future<Integer> restore(PersistenceService store, ConcurrentLedger ledger) {
        if (!store.persistent()) {
            return Future.succeededFuture(0);
        }
        return store.loadActiveLeases().map(leases -> apply(leases, ledger)).recover(e -> {
            LOG.warn("store: restart recovery skipped: {}. Leases held before the restart are not protected; "
                    + "their clients get new ones when they reconnect", e.getMessage());
            return Future.succeededFuture(0);
        });
    }

    private static int apply(List<LeaseView> leases, ConcurrentLedger ledger) {
        for (LeaseView l : leases) {
            ledger.restoreLease(l, SeatLedger.GRACE_NOT_STARTED); // the grace begins in startGrace
        }
        if (!leases.isEmpty()) {
            LOG.info("store: restart recovery: {} leases held at the last stop keep their seats; their reclaim grace "
                    + "begins when the TCP listener accepts", leases.size());
        }
        return leases.size();
    }

    /**
     * Call once the TCP listener accepts: the reclaim grace of the restored leases begins now and ends at
     * {@code nowMs + reclaimGraceMs}. {@code sinceStartMs} (how long the start took until then) is only logged.
     *
     * @return how many restored leases wait for their clients
     */
    public static int startGrace(ConcurrentLedger ledger, long nowMs, long reclaimGraceMs, long sinceStartMs) {
        long graceUntil = nowMs + reclaimGraceMs;
        int n = ledger.startRestartGrace(graceUntil);
        if (n > 0) {
            LOG.info("store: restart recovery: the TCP listener accepts {} ms after the start; {} leases held at the last "
                    + "stop wait for their clients to reclaim them until {} (server.reclaim_grace {} ms from now)",
                    sinceStartMs, n, Instant.ofEpochMilli(graceUntil), reclaimGraceMs);
        }
        return n;
    }
}
