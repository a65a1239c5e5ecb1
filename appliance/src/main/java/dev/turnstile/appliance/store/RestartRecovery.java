package dev.turnstile.appliance.store;

import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseView;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restart recovery: the leases that were active when the appliance last stopped are put back into
 * the ledger, orphaned, until {@code now + reclaimGrace}. A client that reconnects with the same
 * lease id and hardware id gets its seat back (a RECLAIM); nobody else can take those seats
 * meanwhile; when the grace ends the ledger releases the rest with reason {@code serverRestart}.
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
    public static Future<Integer> restore(PersistenceService store, ConcurrentLedger ledger, long nowMs,
                                          long reclaimGraceMs) {
        if (!store.persistent()) {
            return Future.succeededFuture(0);
        }
        long graceUntil = nowMs + reclaimGraceMs;
        return store.loadActiveLeases().map(leases -> apply(leases, ledger, graceUntil)).recover(e -> {
            LOG.warn("store: restart recovery skipped: {}. Leases held before the restart are not protected; "
                    + "their clients get new ones when they reconnect", e.getMessage());
            return Future.succeededFuture(0);
        });
    }

    private static int apply(List<LeaseView> leases, ConcurrentLedger ledger, long graceUntil) {
        for (LeaseView l : leases) {
            ledger.restoreLease(l, graceUntil);
        }
        if (!leases.isEmpty()) {
            LOG.info("store: restart recovery: {} leases held at the last stop keep their seats for reclaim until {}",
                    leases.size(), Instant.ofEpochMilli(graceUntil));
        }
        return leases.size();
    }
}
