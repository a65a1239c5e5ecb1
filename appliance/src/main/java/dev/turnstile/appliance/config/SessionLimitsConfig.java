package dev.turnstile.appliance.config;

import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The resource limits of the client listener, bound from the {@code server:} section (keys
 * {@code server.max_sessions_per_address}, {@code server.fd_headroom}, {@code server.evict_idle_after},
 * {@code server.partial_frame_budget}, {@code server.partial_frame_budget_per_address},
 * {@code server.auth_failures_before_backoff}, {@code server.auth_backoff}, {@code server.auth_backoff_max},
 * {@code server.slow_consumer_close_wait}, {@code server.socket_send_buffer}). PROTOCOL.md sections 5.5 and 7 say what a client sees;
 * appliance/CONFIG.md documents each key (generated from {@link #KEYS}).
 *
 * @param maxSessionsPerAddress    connections one source address may hold open at once
 * @param fdHeadroom               file descriptors kept free below the process limit for the admin page,
 *                                 PostgreSQL, the spill and log files: the session cap is at most
 *                                 {@code RLIMIT_NOFILE - fdHeadroom}
 * @param evictIdleAfterMs         a session past HELLO that holds no lease and no queued checkout and has
 *                                 sent nothing for this long may be evicted when the server is full
 * @param partialFrameBudget       bytes of incomplete frames buffered across all sessions
 * @param partialFrameBudgetPerAddress bytes of incomplete frames buffered for one source address
 * @param authFailuresBeforeBackoff failed HELLOs from one address before it is made to wait
 * @param authBackoffMs            the first wait; each further failure doubles it
 * @param authBackoffMaxMs         the longest wait; an address quiet for twice this long starts afresh
 * @param slowConsumerCloseWaitMs  after a closing ERROR or GOODBYE, how long the server waits for the
 *                                 client to read it and close before it cuts the connection
 * @param socketSendBuffer         SO_SNDBUF of each client connection in bytes (the kernel doubles it), or 0
 *                                 for the system's autotuning: bounds what a client that does not read can
 *                                 park in the kernel, and so what its slowConsumer ERROR queues behind
 */
public record SessionLimitsConfig(
        int maxSessionsPerAddress,
        int fdHeadroom,
        long evictIdleAfterMs,
        long partialFrameBudget,
        long partialFrameBudgetPerAddress,
        int authFailuresBeforeBackoff,
        long authBackoffMs,
        long authBackoffMaxMs,
        long slowConsumerCloseWaitMs,
        int socketSendBuffer) {

    public static final int DEFAULT_MAX_SESSIONS_PER_ADDRESS = 1_000;
    public static final int DEFAULT_FD_HEADROOM = 512;
    public static final long DEFAULT_EVICT_IDLE_AFTER_MS = 10_000;
    public static final long DEFAULT_PARTIAL_FRAME_BUDGET = 64L << 20;
    public static final long DEFAULT_PARTIAL_FRAME_BUDGET_PER_ADDRESS = 8L << 20;
    public static final int DEFAULT_AUTH_FAILURES_BEFORE_BACKOFF = 5;
    public static final long DEFAULT_AUTH_BACKOFF_MS = 1_000;
    public static final long DEFAULT_AUTH_BACKOFF_MAX_MS = 60_000;
    public static final long DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS = 5_000;
    public static final int DEFAULT_SOCKET_SEND_BUFFER = 64 * 1024;
    /** One whole frame (64 KiB and its length prefix) must fit in a partial-frame budget. */
    static final long MIN_FRAME_BUDGET = 64 * 1024 + 4;

    public static final ConfigKey MAX_SESSIONS_PER_ADDRESS = ConfigKey.integer("server.max_sessions_per_address",
            DEFAULT_MAX_SESSIONS_PER_ADDRESS, 1, 10_000_000,
            "Connections one source address may hold open; more are closed before the preamble");
    public static final ConfigKey FD_HEADROOM = ConfigKey.integer("server.fd_headroom", DEFAULT_FD_HEADROOM, 16,
            1_000_000, "Descriptors kept free below the process limit for the admin page, PostgreSQL and files: "
                    + "the session cap is at most LimitNOFILE minus this");
    public static final ConfigKey EVICT_IDLE_AFTER = ConfigKey.duration("server.evict_idle_after",
            DEFAULT_EVICT_IDLE_AFTER_MS, 100, 86_400_000, "When full, a session holding no lease and no queued "
                    + "checkout that has sent nothing this long may be evicted (GOODBYE serverBusy) to admit a newcomer");
    public static final ConfigKey PARTIAL_FRAME_BUDGET = ConfigKey.size("server.partial_frame_budget",
            DEFAULT_PARTIAL_FRAME_BUDGET, MIN_FRAME_BUDGET, 1L << 40, "Bytes of incomplete frames buffered across all "
                    + "sessions; over it the largest frames of the heaviest address are closed first");
    public static final ConfigKey PARTIAL_FRAME_BUDGET_PER_ADDRESS = ConfigKey.size(
            "server.partial_frame_budget_per_address", DEFAULT_PARTIAL_FRAME_BUDGET_PER_ADDRESS, MIN_FRAME_BUDGET,
            1L << 40, "Bytes of incomplete frames buffered for one source address; at most server.partial_frame_budget");
    public static final ConfigKey AUTH_FAILURES_BEFORE_BACKOFF = ConfigKey.integer(
            "server.auth_failures_before_backoff", DEFAULT_AUTH_FAILURES_BEFORE_BACKOFF, 1, 1_000_000,
            "Failed HELLOs (wrong token) from one address before its HELLOs are refused unchecked for a while");
    public static final ConfigKey AUTH_BACKOFF = ConfigKey.duration("server.auth_backoff", DEFAULT_AUTH_BACKOFF_MS, 1,
            86_400_000, "The first such wait; each further failure doubles it");
    public static final ConfigKey AUTH_BACKOFF_MAX = ConfigKey.duration("server.auth_backoff_max",
            DEFAULT_AUTH_BACKOFF_MAX_MS, 1, 86_400_000, "The longest wait (at least server.auth_backoff); an address "
                    + "without a failure for twice this long starts afresh");
    public static final ConfigKey SLOW_CONSUMER_CLOSE_WAIT = ConfigKey.duration("server.slow_consumer_close_wait",
            DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS, 0, 600_000, "After a closing ERROR or GOODBYE, how long the client "
                    + "gets to read it and close before the server cuts the connection");
    public static final ConfigKey SOCKET_SEND_BUFFER = ConfigKey.size("server.socket_send_buffer",
            DEFAULT_SOCKET_SEND_BUFFER, 0, 64L << 20, "SO_SNDBUF of each client connection (0: the system's "
                    + "autotuning, else at least 4096 bytes): bounds what a client that does not read parks in the kernel");

    /** The limit keys, documented under {@code server:}. */
    public static final List<ConfigKey> KEYS = List.of(MAX_SESSIONS_PER_ADDRESS, FD_HEADROOM, EVICT_IDLE_AFTER,
            PARTIAL_FRAME_BUDGET, PARTIAL_FRAME_BUDGET_PER_ADDRESS, AUTH_FAILURES_BEFORE_BACKOFF, AUTH_BACKOFF,
            AUTH_BACKOFF_MAX, SLOW_CONSUMER_CLOSE_WAIT, SOCKET_SEND_BUFFER);

    public static SessionLimitsConfig defaults() {
        return new SessionLimitsConfig(DEFAULT_MAX_SESSIONS_PER_ADDRESS, DEFAULT_FD_HEADROOM,
                DEFAULT_EVICT_IDLE_AFTER_MS, DEFAULT_PARTIAL_FRAME_BUDGET, DEFAULT_PARTIAL_FRAME_BUDGET_PER_ADDRESS,
                DEFAULT_AUTH_FAILURES_BEFORE_BACKOFF, DEFAULT_AUTH_BACKOFF_MS, DEFAULT_AUTH_BACKOFF_MAX_MS,
                DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS, DEFAULT_SOCKET_SEND_BUFFER);
    }

    /** Binds the limit keys of the {@code server:} mapping {@code o}. */
    public static SessionLimitsConfig bind(JsonObject o, ConfigReader r) {
        int perAddress = (int) r.integer(o, MAX_SESSIONS_PER_ADDRESS);
        int headroom = (int) r.integer(o, FD_HEADROOM);
        long idle = r.durationMs(o, EVICT_IDLE_AFTER);
        long budget = r.size(o, PARTIAL_FRAME_BUDGET);
        long budgetPerAddress = r.size(o, PARTIAL_FRAME_BUDGET_PER_ADDRESS);
        if (budgetPerAddress > budget) {
            r.problem("server.partial_frame_budget_per_address: expected at most server.partial_frame_budget ("
                    + budget + " bytes), got " + budgetPerAddress + " bytes");
        }
        int failures = (int) r.integer(o, AUTH_FAILURES_BEFORE_BACKOFF);
        long backoff = r.durationMs(o, AUTH_BACKOFF);
        long backoffMax = r.durationMs(o, AUTH_BACKOFF_MAX);
        if (backoffMax < backoff) {
            r.problem("server.auth_backoff_max: expected at least server.auth_backoff ("
                    + ConfigReader.formatMs(backoff) + "), got " + ConfigReader.formatMs(backoffMax));
        }
        long closeWait = r.durationMs(o, SLOW_CONSUMER_CLOSE_WAIT);
        int sendBuffer = (int) r.size(o, SOCKET_SEND_BUFFER);
        if (sendBuffer > 0 && sendBuffer < 4096) {
            r.problem("server.socket_send_buffer", "0 (the system's autotuning) or from 4096 bytes to 64MiB",
                    String.valueOf(sendBuffer));
            sendBuffer = DEFAULT_SOCKET_SEND_BUFFER;
        }
        return new SessionLimitsConfig(perAddress, headroom, idle, budget, budgetPerAddress, failures, backoff,
                backoffMax, closeWait, sendBuffer);
    }
}
