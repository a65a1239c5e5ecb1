package dev.turnstile.appliance.authority;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Message;
import io.vertx.core.Future;
import java.util.List;
import java.util.UUID;

/**
 * Everything that decides about seats, behind one port (see the package comment). Every method may be
 * called from any thread; a future's handlers run on the caller's Vert.x context (or at once, when the
 * future is already complete). A future fails with {@link AuthorityRefusal} when this authority could not
 * decide (the caller answers with its code and may point the client at {@link AuthorityRefusal#leader()}),
 * and an entitlement change also with the ledger's {@link IllegalArgumentException} for one it cannot take.
 *
 * <p>Requests from one caller are decided in the order they are made (a session's pipeline relies on it):
 * the local ledger decides at once, the Raft log commits its entries in the order they were proposed.
 */
public interface SeatAuthority {

    /** A CHECKOUT or RECLAIM (PROTOCOL.md 6.4, 10.5). */
    Future<CheckoutResult> checkout(CheckoutCommand command);

    /** A HEARTBEAT's per-lease answers (PROTOCOL.md 6.7). */
    Future<List<Message.LeaseStatus>> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs);

    /** A CHECKIN; {@code proof} is the hash of the presented reclaim secret, or null (PROTOCOL.md 6.10). */
    Future<LeaseDecision> checkin(ClientRef client, UUID leaseId, SecretHash proof, long nowMs);

    /** GOODBYE: checks in every lease of {@code client}'s session; the number checked in. */
    Future<Integer> releaseAll(ClientRef client, long nowMs);

    /** The socket of {@code sessionId} closed: its leases wait ORPHANED for the reclaim grace. */
    Future<Void> sessionLost(long sessionId, long nowMs);

    /** An admin frees a lease now (its holder gets NOTICE LEASE_REVOKED forcedRelease). */
    Future<LeaseDecision> forceRelease(UUID leaseId, long nowMs);

    /** An entitlement added or changed (configuration, reload, cloud sync, license). */
    Future<Void> upsertEntitlement(Entitlement entitlement, long nowMs);

    /** An entitlement removed: its leases are revoked (entitlementDeleted). */
    Future<Void> removeEntitlement(String entitlementId, long nowMs);

    /**
     * Whether this authority decides now. Always on a single appliance; in a triad, on the leader that sees a
     * majority. Work that only the deciding member should start (calling the cloud, revoking leases) asks this.
     */
    boolean decidesHere();

    /** Why this authority does not decide now, or null when it does. */
    AuthorityRefusal refusal();

    /** The term stamped on grants answered later (a queued checkout's GRANTED); 0 on a single appliance. */
    long term();

    /** The log index stamped on grants answered later; 0 on a single appliance. */
    long logIndex();
}
