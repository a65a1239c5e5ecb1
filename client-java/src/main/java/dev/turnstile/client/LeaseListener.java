package dev.turnstile.client;

import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message.Notice;
import java.time.Instant;

/**
 * Tells the application what happens to its leases and its session without it asking. Every
 * method has an empty default; implement the ones you need.
 *
 * <p><b>Thread-safety:</b> the client calls a listener from one dedicated callback thread, one
 * call at a time, in the order the events happened. A callback may call the client, including its
 * blocking methods (a blocking call from a callback waits for the network, never for another
 * callback), but while it runs no other callback is delivered, so keep them short. A callback
 * that throws is logged and does not affect the client.
 */
public interface LeaseListener {

    /**
     * The application no longer holds {@code lease}: it expired, the server revoked it (NOTICE
     * LEASE_REVOKED), a heartbeat reported it gone, its reclaim after a reconnect or restart
     * was refused, or no server confirmed it for longer than its lease timeout (then
     * {@code reason} is {@code null}: see {@link #leaseLost(Lease, LeaseLossReason)}, which names
     * it {@code expiredLocally}). The client stopped heartbeating it.
     *
     * @param reason the server's code ({@code licenseCheckoutExpired}, {@code leaseIdNotFound},
     *               {@code forcedRelease}, ...), or {@code null} when the server sent a code
     *               this SDK does not know or the client expired the lease locally
     */
    default void leaseLost(Lease lease, ErrorCode reason) {
    }

    /**
     * The application no longer holds {@code lease}, with the reason named: a server's code, or
     * {@link LeaseLossReason#EXPIRED_LOCALLY} when the client expired the lease itself because no
     * server confirmed it for longer than its lease timeout (every server unreachable). The client
     * calls this method; its default calls {@link #leaseLost(Lease, ErrorCode)} with
     * {@link LeaseLossReason#errorCode()}, which is {@code null} for {@code expiredLocally}.
     * Override this one to tell the local expiry from an unknown server code.
     */
    default void leaseLost(Lease lease, LeaseLossReason reason) {
        leaseLost(lease, reason.errorCode());
    }

    /**
     * After a failover, {@code toServer} accepted the reclaim of {@code lease}: the application
     * still holds it, with the same lease id. Not called when the client reconnected to the same
     * server (the lease was simply kept).
     */
    default void leaseMoved(Lease lease, String fromServer, String toServer) {
    }

    /**
     * At the first connect, a lease stored by an earlier run of the program (a token in a
     * persistent {@link TokenManager}) was reclaimed from {@code server}: the application holds it
     * again, see {@link TurnstileClient#leases()}.
     */
    default void leaseRestored(Lease lease, String server) {
    }

    /** A NOTICE the server pushed (draining, lease revoked, entitlement changed, ...), as received. */
    default void notice(Notice notice) {
    }

    /** The server's signed license ends at {@code validUntil}; seats will stop after it. */
    default void licenseExpiring(Instant validUntil) {
    }

    /** The session with {@code server} ended; the client is reconnecting (unless it was closed). */
    default void disconnected(String server, Throwable cause) {
    }

    /**
     * A session is up again after {@link #disconnected}: the held leases were reclaimed
     * ({@link #leaseMoved} or {@link #leaseLost} came first, for each of them).
     */
    default void reconnected(SessionInfo session) {
    }
}
