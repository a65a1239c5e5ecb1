package dev.turnstile.appliance.config;

import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The resource limits of the client listener, bound from the {@code server:} section (keys
 * {@code server.max_sessions_per_address}, {@code server.fd_headroom}, {@code server.evict_idle_after},
 * {@code server.partial_frame_budget}, {@code server.partial_frame_budget_per_address},
 * {@code server.auth_failures_before_backoff}, {@code server.auth_backoff}, {@code server.auth_backoff_max},
 * {@code server.slow_consumer_close_wait}, {@code server.socket_send_buffer}). PROTOCOL.md sections 5.5 and 7 say what a client sees;
 * systemd/turnstile.yaml documents each key.
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

    private static final Pattern SIZE = Pattern.compile("^\\s*(\\d+)\\s*(|b|kib|mib|gib|kb|mb|gb)\\s*$");

    public static SessionLimitsConfig defaults() {
        return new SessionLimitsConfig(DEFAULT_MAX_SESSIONS_PER_ADDRESS, DEFAULT_FD_HEADROOM,
                DEFAULT_EVICT_IDLE_AFTER_MS, DEFAULT_PARTIAL_FRAME_BUDGET, DEFAULT_PARTIAL_FRAME_BUDGET_PER_ADDRESS,
                DEFAULT_AUTH_FAILURES_BEFORE_BACKOFF, DEFAULT_AUTH_BACKOFF_MS, DEFAULT_AUTH_BACKOFF_MAX_MS,
                DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS, DEFAULT_SOCKET_SEND_BUFFER);
    }

    /** Binds the limit keys of the {@code server:} mapping {@code o}. */
    public static SessionLimitsConfig bind(JsonObject o, ConfigReader r) {
        int perAddress = (int) r.integer(o, "max_sessions_per_address", "server.max_sessions_per_address",
                DEFAULT_MAX_SESSIONS_PER_ADDRESS, 1, 10_000_000);
        int headroom = (int) r.integer(o, "fd_headroom", "server.fd_headroom", DEFAULT_FD_HEADROOM, 16, 1_000_000);
        long idle = r.durationMs(o, "evict_idle_after", "server.evict_idle_after", DEFAULT_EVICT_IDLE_AFTER_MS,
                100, 86_400_000);
        long frame = 64 * 1024 + 4; // one whole frame must fit
        long budget = size(o, r, "partial_frame_budget", DEFAULT_PARTIAL_FRAME_BUDGET, frame, 1L << 40);
        long budgetPerAddress = size(o, r, "partial_frame_budget_per_address",
                DEFAULT_PARTIAL_FRAME_BUDGET_PER_ADDRESS, frame, 1L << 40);
        if (budgetPerAddress > budget) {
            r.problem("server.partial_frame_budget_per_address: expected at most server.partial_frame_budget ("
                    + budget + " bytes), got " + budgetPerAddress + " bytes");
        }
        int failures = (int) r.integer(o, "auth_failures_before_backoff", "server.auth_failures_before_backoff",
                DEFAULT_AUTH_FAILURES_BEFORE_BACKOFF, 1, 1_000_000);
        long backoff = r.durationMs(o, "auth_backoff", "server.auth_backoff", DEFAULT_AUTH_BACKOFF_MS, 1, 86_400_000);
        long backoffMax = r.durationMs(o, "auth_backoff_max", "server.auth_backoff_max", DEFAULT_AUTH_BACKOFF_MAX_MS,
                1, 86_400_000);
        if (backoffMax < backoff) {
            r.problem("server.auth_backoff_max: expected at least server.auth_backoff ("
                    + ConfigReader.formatMs(backoff) + "), got " + ConfigReader.formatMs(backoffMax));
        }
        long closeWait = r.durationMs(o, "slow_consumer_close_wait", "server.slow_consumer_close_wait",
                DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS, 0, 600_000);
        int sendBuffer = (int) size(o, r, "socket_send_buffer", DEFAULT_SOCKET_SEND_BUFFER, 0, 64L << 20);
        if (sendBuffer > 0 && sendBuffer < 4096) {
            r.problem("server.socket_send_buffer", "0 (the system's autotuning) or from 4096 bytes to 64MiB",
                    String.valueOf(sendBuffer));
            sendBuffer = DEFAULT_SOCKET_SEND_BUFFER;
        }
        return new SessionLimitsConfig(perAddress, headroom, idle, budget, budgetPerAddress, failures, backoff,
                backoffMax, closeWait, sendBuffer);
    }

    /** A byte size: a bare number of bytes, or a number with KiB, MiB, GiB (or kB, MB, GB, powers of ten). */
    private static long size(JsonObject o, ConfigReader r, String name, long def, long min, long max) {
        String key = "server." + name;
        String text = r.string(o, name, key, null);
        if (text == null) {
            return def;
        }
        Long bytes = parseSize(text);
        if (bytes == null || bytes < min || bytes > max) {
            r.problem(key, "a size like 65540, 512KiB, 64MiB or 1GiB, from " + min + " to " + max + " bytes", text);
            return def;
        }
        return bytes;
    }

    static Long parseSize(String text) {
        Matcher m = SIZE.matcher(text.toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        long factor = switch (m.group(2)) {
            case "kib" -> 1L << 10;
            case "mib" -> 1L << 20;
            case "gib" -> 1L << 30;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            default -> 1L;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (ArithmeticException | NumberFormatException e) {
            return null;
        }
    }
}
