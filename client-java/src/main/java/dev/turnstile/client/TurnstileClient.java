package dev.turnstile.client;

import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A client of Turnstile appliances: one session (one TCP connection) at a time to one of the
 * configured servers, checkouts and checkins on it, automatic heartbeats, failover with lease
 * reclaim, and a {@link TokenManager} that remembers the leases.
 *
 * <pre>{@code
 * try (TurnstileClient client = TurnstileClient.builder()
 *         .servers(List.of("license-a:7070", "license-b:7070"))
 *         .clientId("cad-station-12").hwId("00:1b:21:3a:4f:10").clientVersion("4.2.0")
 *         .build()) {
 *     Lease lease = client.checkout("cad-pro");
 *     ...                      // heartbeats run in the background
 *     client.checkin(lease);
 * }
 * }</pre>
 *
 * <p><b>Session.</b> The first {@link #connect()} (or the first request) starts the session: the
 * client tries the servers in order and keeps the first that welcomes it. When the session is lost
 * (socket closed, no answer, a server that says it is not the master or is draining) the client
 * moves to the next server, reclaims every held lease there by id, and tells the
 * {@link LeaseListener}; after a full round of failures it waits (exponential backoff with
 * jitter) and starts another round, until {@link #close()}. Requests made while no session is up
 * wait for one, for at most the request timeout.
 *
 * <p><b>Blocking and asynchronous calls.</b> Every operation has a blocking form, which throws
 * {@link TurnstileException}, and a {@code ...Async} form whose future completes on the client's
 * callback thread (the thread of {@link LeaseListener}): attach short actions, or use the
 * {@code ...Async} stage methods with your own executor. Requests are pipelined on the connection
 * and matched by correlation id, so many threads may call at once.
 *
 * <p><b>Threads.</b> A client runs one internal thread (protocol state, heartbeats, tokens), one
 * callback thread, one reader thread per connection and, while it connects, one connector thread;
 * all are daemon threads. A program that exits without {@link #close()} leaves its leases to the
 * server's reclaim grace, so that its next run can reclaim them from a persistent token store.
 *
 * <p><b>Thread-safety:</b> implementations are thread-safe; every method may be called from any
 * thread, including listener callbacks.
 */
public interface TurnstileClient extends AutoCloseable {

    /** A new builder with the defaults of {@link TurnstileClientBuilder}. */
    static TurnstileClientBuilder builder() {
        return new TurnstileClientBuilder();
    }

    /** The life cycle of a client. */
    enum State {
        /** Built, not yet connected. */
        NEW,
        /** Looking for its first session. */
        CONNECTING,
        /** A session is up and the held leases are reclaimed. */
        CONNECTED,
        /** The session was lost; looking for another (leases are reclaimed when it is up). */
        RECONNECTING,
        /**
         * A server refused the client itself (bad auth token, client version not allowed): it does
         * not retry until {@link #connect()} is called again.
         */
        FAILED,
        /** {@link #close()} was called. */
        CLOSED
    }

    /**
     * Connects, if not connected yet, and waits for the session. Trying every known server once
     * without success throws, but the client keeps trying in the background until closed.
     *
     * @return the session's details
     * @throws TurnstileException {@code CONNECTION} when a full round failed, {@code REFUSED} when a
     *     server refused the client (auth token, client version), {@code CLOSED}
     */
    SessionInfo connect();

    /** {@link #connect()} without blocking. */
    CompletableFuture<SessionInfo> connectAsync();

    /** Checks out one seat of {@code product}; see {@link #checkout(CheckoutRequest)}. */
    Lease checkout(String product);

    /**
     * Checks out seats and starts heartbeating them. Stores the lease's token before returning.
     *
     * @throws TurnstileException {@code REFUSED} with the server's code ({@code noSeatsAvailable},
     *     {@code unknownProduct}, {@code queueTimeout}, ...), {@code TIMEOUT}, {@code CONNECTION},
     *     {@code CLOSED}
     */
    Lease checkout(CheckoutRequest request);

    CompletableFuture<Lease> checkoutAsync(String product);

    CompletableFuture<Lease> checkoutAsync(CheckoutRequest request);

    /**
     * Gives the seats of {@code lease} back and removes its token. A lease the server already
     * forgot (expired, unknown) and a lease checked in while no session is up (the server frees it
     * when its reclaim grace ends) count as checked in.
     *
     * @throws TurnstileException {@code REFUSED}, {@code TIMEOUT}, {@code CLOSED}
     */
    void checkin(Lease lease);

    /** {@link #checkin(Lease)} by lease id. */
    void checkin(UUID leaseId);

    CompletableFuture<Void> checkinAsync(Lease lease);

    /** The leases this client holds now (including those being reclaimed after a reconnect). */
    List<Lease> leases();

    /** The current state. */
    State state();

    /** The current session, while {@link State#CONNECTED}. */
    Optional<SessionInfo> session();

    /** The failover list: the configured servers, then the peers servers named in WELCOME. */
    List<String> servers();

    /** The token store this client uses. */
    TokenManager tokenManager();

    /**
     * Says GOODBYE (the server checks in every lease of the session), waits for the answer for at
     * most the request timeout, removes the tokens of the leases the server confirmed checked in,
     * and stops every thread. Idempotent. Pending calls fail with {@code CLOSED}.
     */
    @Override
    void close();
}
