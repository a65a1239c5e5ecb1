package dev.turnstile.appliance.authority;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Message;
import io.vertx.core.Future;
import java.util.List;
import java.util.UUID;

/** A single appliance: its own ledger decides, at once, on the caller's thread. Every future is complete. */
public final class LocalSeatAuthority implements SeatAuthority {
    private static final Future<Void> DONE = Future.succeededFuture();
    private final ConcurrentLedger ledger;

    public LocalSeatAuthority(ConcurrentLedger ledger) {
        this.ledger = ledger;
    }

    @Override
    public Future<CheckoutResult> checkout(CheckoutCommand command) {
        return Future.succeededFuture(CheckoutResult.local(ledger.checkout(command)));
    }

    @Override
    public Future<List<Message.LeaseStatus>> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
        return Future.succeededFuture(ledger.heartbeat(client, leaseIds, nowMs));
    }

    @Override
    public Future<LeaseDecision> checkin(ClientRef client, UUID leaseId, SecretHash proof, long nowMs) {
        return Future.succeededFuture(new LeaseDecision(ledger.checkin(client, leaseId, proof, nowMs), 0));
    }

    @Override
    public Future<Integer> releaseAll(ClientRef client, long nowMs) {
        return Future.succeededFuture(ledger.releaseAllOf(client, nowMs));
    }

    @Override
    public Future<Void> sessionLost(long sessionId, long nowMs) {
        ledger.sessionLost(sessionId, nowMs);
        return DONE;
    }

    @Override
    public Future<LeaseDecision> forceRelease(UUID leaseId, long nowMs) {
        return Future.succeededFuture(new LeaseDecision(ledger.forceRelease(leaseId, nowMs), 0));
    }

    @Override
    public Future<Void> upsertEntitlement(Entitlement entitlement, long nowMs) {
        try {
            ledger.upsertEntitlement(entitlement, nowMs);
            return DONE;
        } catch (RuntimeException e) { // the ledger refuses an entitlement it cannot take (IllegalArgumentException)
            return Future.failedFuture(e);
        }
    }

    @Override
    public Future<Void> removeEntitlement(String entitlementId, long nowMs) {
        try {
            ledger.removeEntitlement(entitlementId, nowMs);
            return DONE;
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    @Override
    public boolean decidesHere() {
        return true;
    }

    @Override
    public AuthorityRefusal refusal() {
        return null;
    }

    @Override
    public long term() {
        return 0;
    }

    @Override
    public long logIndex() {
        return 0;
    }
}
