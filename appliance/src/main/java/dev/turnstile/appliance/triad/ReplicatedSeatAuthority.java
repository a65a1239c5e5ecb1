package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.appliance.authority.CheckoutResult;
import dev.turnstile.appliance.authority.LeaseDecision;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The triad's seat authority: every decision is a Raft log entry proposed by the leader and answered once a
 * majority has committed it (TRIAD.md), except heartbeats, which the leader answers from its replicated ledger
 * (they are not log entries: a missed one becomes a committed expiry). A member that is not the leader, or that
 * sees no majority, refuses with {@code notMaster} (naming the leader) or {@code noQuorum}; a RECLAIM on a member
 * without quorum goes to the quorum-loss rule instead ({@link TriadNode#checkout}).
 *
 * <p>Futures complete on the caller's Vert.x context (a session's event loop), never on a JGroups thread;
 * proposals from one caller reach the log in the order they are made, so a session may keep several in flight.
 */
public final class ReplicatedSeatAuthority implements SeatAuthority {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicatedSeatAuthority.class);

    private final TriadNode node;
    private final ConcurrentLedger ledger;
    private final LongSupplier clock;
    private final Consumer<LedgerEvent> journal;

    /**
     * @param journal where a checkout refused before the log (notMaster, noQuorum) is recorded, as the ledger
     *                records its own denials (usage journal, denial metrics)
     */
    public ReplicatedSeatAuthority(TriadNode node, ConcurrentLedger ledger, LongSupplier clock,
                                   Consumer<LedgerEvent> journal) {
        this.node = node;
        this.ledger = ledger;
        this.clock = clock;
        this.journal = journal;
    }

    @Override
    public Future<CheckoutResult> checkout(CheckoutCommand c) {
        if (!node.isLeader() && !(c.reclaimLeaseId() != null && !node.hasQuorum())) {
            // refused before the log (a RECLAIM on a member without quorum goes on to the quorum-loss rule)
            TriadRefusal r = node.refusal();
            ClientRef client = c.client();
            journal.accept(new LedgerEvent(LedgerEvent.Kind.DENIAL, clock.getAsLong(), null, "", c.product(),
                    client.sessionId(), client.clientId(), client.hwId(), c.quantity(), r.code(), 0, 0));
            return Future.failedFuture(r);
        }
        return onCallersContext(node.checkout(c), a -> new CheckoutResult(a.value(), a.term(), a.index()));
    }

    @Override
    public Future<List<Message.LeaseStatus>> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
        return Future.succeededFuture(node.heartbeat(client, leaseIds, nowMs));
    }

    @Override
    public Future<LeaseDecision> checkin(ClientRef client, UUID leaseId, SecretHash proof, long nowMs) {
        return onCallersContext(node.checkin(client, leaseId, proof, nowMs), a -> new LeaseDecision(a.value(), a.term()));
    }

    @Override
    public Future<Integer> releaseAll(ClientRef client, long nowMs) {
        return onCallersContext(node.releaseAll(client, nowMs), a -> a.value() == null ? 0 : a.value());
    }

    @Override
    public Future<Void> sessionLost(long sessionId, long nowMs) {
        // a member that does not lead leaves it to the leader: its duties find the session gone (TriadNode)
        return onCallersContext(node.sessionLost(sessionId, nowMs), a -> null);
    }

    @Override
    public Future<LeaseDecision> forceRelease(UUID leaseId, long nowMs) {
        if (!node.isLeader()) {
            return Future.failedFuture(node.refusal());
        }
        return onCallersContext(node.forceRelease(leaseId, nowMs), a -> new LeaseDecision(a.value(), a.term()));
    }

    /**
     * Before the member joins, its ledger is its own start state (the configured entitlements, the last sync's):
     * a change then applies to it directly, as on every member; the log's snapshot or replay replaces it at join.
     * After, a change is a log entry the leader proposes; a follower's is refused.
     */
    @Override
    public Future<Void> upsertEntitlement(Entitlement entitlement, long nowMs) {
        if (!node.joined()) {
            return local(() -> ledger.upsertEntitlement(entitlement, nowMs));
        }
        return onCallersContext(node.upsertEntitlement(entitlement, nowMs), a -> null);
    }

    @Override
    public Future<Void> removeEntitlement(String entitlementId, long nowMs) {
        if (!node.joined()) {
            return local(() -> ledger.removeEntitlement(entitlementId, nowMs));
        }
        return onCallersContext(node.removeEntitlement(entitlementId, nowMs), a -> null);
    }

    private static Future<Void> local(Runnable change) {
        try {
            change.run();
            return Future.succeededFuture();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
    }

    @Override
    public boolean decidesHere() {
        return node.isLeader() && node.quorumVisible();
    }

    @Override
    public AuthorityRefusal refusal() {
        return decidesHere() ? null : node.refusal();
    }

    @Override
    public long term() {
        return node.term();
    }

    @Override
    public long logIndex() {
        return node.appliedIndex();
    }

    /**
     * A committed result, typed, completed on the context of the thread that proposed (or at once when there
     * is none). Anything but a refusal becomes {@code internalError}: the caller answers it, the log says why.
     */
    private static <T, R> Future<R> onCallersContext(CompletableFuture<LedgerStateMachine.Applied<T>> f,
                                                     Function<LedgerStateMachine.Applied<T>, R> typed) {
        Context context = Vertx.currentContext();
        Promise<R> p = Promise.promise();
        f.whenComplete((a, err) -> {
            Runnable complete = () -> {
                if (err == null) {
                    p.complete(typed.apply(a));
                    return;
                }
                AuthorityRefusal r = AuthorityRefusal.of(err);
                if (r == null) {
                    LOG.warn("triad: a command failed", err);
                    r = new AuthorityRefusal(ErrorCode.INTERNAL_ERROR, "", "internal error");
                }
                p.fail(r);
            };
            if (context == null) {
                complete.run();
            } else {
                context.runOnContext(v -> complete.run());
            }
        });
        return p.future();
    }
}
