package dev.turnstile.client;

import dev.turnstile.client.impl.ClientConfig;
import dev.turnstile.client.impl.Durations;
import dev.turnstile.client.impl.ServerAddress;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.protocol.Limits;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;

/**
 * Configures and builds a {@link TurnstileClient}. Every setting has a {@code DEFAULT_*} constant;
 * {@link #build()} validates the whole configuration and names the setting that is wrong.
 *
 * <p>Settings can also come from {@link Properties} or a map ({@link #fromProperties(Properties)})
 * with these keys: {@value #KEY_SERVERS} (comma-separated {@code host:port}), {@value #KEY_CLIENT_ID},
 * {@value #KEY_HW_ID}, {@value #KEY_CLIENT_VERSION}, {@value #KEY_AUTH_TOKEN},
 * {@value #KEY_CONNECT_TIMEOUT}, {@value #KEY_REQUEST_TIMEOUT}, {@value #KEY_BACKOFF_INITIAL},
 * {@value #KEY_BACKOFF_MAX} (durations such as {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}),
 * {@value #KEY_BACKOFF_JITTER} (0..1), {@value #KEY_TOKEN_AUTOMATIC_INVALIDATION_DISABLED} and
 * {@value #KEY_RECLAIM_STORED_TOKENS} ({@code true}/{@code false}), {@value #KEY_TOKEN_FILE} (a path:
 * use a {@link FileTokenManager}). Keys it does not know are ignored, so an application can keep
 * its own settings in the same file.
 *
 * <p><b>Thread-safety:</b> not thread-safe; configure it on one thread. {@link #build()} copies
 * the settings, so the builder can be reused.
 */
public final class TurnstileClientBuilder {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_BACKOFF_INITIAL = Duration.ofMillis(250);
    public static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(30);
    /** Each backoff delay is the nominal delay times a random factor in [1 - jitter, 1 + jitter]. */
    public static final double DEFAULT_BACKOFF_JITTER = 0.2;
    public static final boolean DEFAULT_TOKEN_AUTOMATIC_INVALIDATION_DISABLED = false;
    public static final boolean DEFAULT_RECLAIM_STORED_TOKENS = true;
    public static final boolean DEFAULT_TLS_HOSTNAME_VERIFICATION = true;
    public static final String DEFAULT_CLIENT_VERSION = "";
    public static final String DEFAULT_AUTH_TOKEN = "";

    public static final String KEY_SERVERS = "servers";
    public static final String KEY_CLIENT_ID = "client_id";
    public static final String KEY_HW_ID = "hw_id";
    public static final String KEY_CLIENT_VERSION = "client_version";
    public static final String KEY_AUTH_TOKEN = "auth_token";
    public static final String KEY_CONNECT_TIMEOUT = "connect_timeout";
    public static final String KEY_REQUEST_TIMEOUT = "request_timeout";
    public static final String KEY_BACKOFF_INITIAL = "backoff_initial";
    public static final String KEY_BACKOFF_MAX = "backoff_max";
    public static final String KEY_BACKOFF_JITTER = "backoff_jitter";
    public static final String KEY_TOKEN_AUTOMATIC_INVALIDATION_DISABLED = "token_automatic_invalidation_disabled";
    public static final String KEY_RECLAIM_STORED_TOKENS = "reclaim_stored_tokens";
    public static final String KEY_TOKEN_FILE = "token_file";

    private List<String> servers = List.of();
    private String clientId;
    private String hwId;
    private String clientVersion = DEFAULT_CLIENT_VERSION;
    private String authToken = DEFAULT_AUTH_TOKEN;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private Duration backoffInitial = DEFAULT_BACKOFF_INITIAL;
    private Duration backoffMax = DEFAULT_BACKOFF_MAX;
    private double backoffJitter = DEFAULT_BACKOFF_JITTER;
    private TokenManager tokenManager;
    private TokenInvalidationHandler tokenInvalidationHandler = DefaultTokenInvalidationHandler.INSTANCE;
    private boolean tokenAutomaticInvalidationDisabled = DEFAULT_TOKEN_AUTOMATIC_INVALIDATION_DISABLED;
    private boolean reclaimStoredTokens = DEFAULT_RECLAIM_STORED_TOKENS;
    private LeaseListener listener = new LeaseListener() {
    };
    private SSLContext sslContext;
    private boolean tlsHostnameVerification = DEFAULT_TLS_HOSTNAME_VERIFICATION;
    private LongSupplier ticker = System::nanoTime;

    /** Use {@link TurnstileClient#builder()}. */
    TurnstileClientBuilder() {
    }

    /** The servers to try, in order ({@code host:port}, IPv6 as {@code [addr]:port}). Required. */
    public TurnstileClientBuilder servers(List<String> hostPorts) {
        this.servers = List.copyOf(Objects.requireNonNull(hostPorts, "servers"));
        return this;
    }

    public TurnstileClientBuilder servers(String... hostPorts) {
        return servers(Arrays.asList(hostPorts));
    }

    /** The program's id in HELLO (1..128 UTF-8 bytes). Required. */
    public TurnstileClientBuilder clientId(String clientId) {
        this.clientId = clientId;
        return this;
    }

    /** The machine's hardware id (1..128 UTF-8 bytes); reclaims must come with the same one. Required. */
    public TurnstileClientBuilder hwId(String hwId) {
        this.hwId = hwId;
        return this;
    }

    /** The program's version (0..64 bytes); servers with a version policy refuse an empty one. */
    public TurnstileClientBuilder clientVersion(String clientVersion) {
        this.clientVersion = clientVersion;
        return this;
    }

    /** The shared secret some servers require (0..512 bytes). Never logged, never stored in a token. */
    public TurnstileClientBuilder authToken(String authToken) {
        this.authToken = authToken;
        return this;
    }

    /** Time for one attempt at one server: TCP connect, TLS handshake, preamble and HELLO/WELCOME. */
    public TurnstileClientBuilder connectTimeout(Duration timeout) {
        this.connectTimeout = timeout;
        return this;
    }

    /**
     * Time for a server's answer to a request (a queued checkout gets its wait timeout on top), and
     * for a request made while no session is up to wait for one.
     */
    public TurnstileClientBuilder requestTimeout(Duration timeout) {
        this.requestTimeout = timeout;
        return this;
    }

    /**
     * Pause between two rounds over all servers: {@code initial}, doubling up to {@code max}, each
     * multiplied by a random factor in [1 - jitter, 1 + jitter] so that many clients do not
     * reconnect in step.
     */
    public TurnstileClientBuilder backoff(Duration initial, Duration max, double jitter) {
        this.backoffInitial = initial;
        this.backoffMax = max;
        this.backoffJitter = jitter;
        return this;
    }

    /** Where lease tokens are kept; default: a new {@link InMemoryTokenManager}. */
    public TurnstileClientBuilder withTokenManager(TokenManager tokenManager) {
        this.tokenManager = Objects.requireNonNull(tokenManager, "tokenManager");
        return this;
    }

    /** Decides which failed checks delete a token; default {@link DefaultTokenInvalidationHandler}. */
    public TurnstileClientBuilder withTokenInvalidationHandler(TokenInvalidationHandler handler) {
        this.tokenInvalidationHandler = Objects.requireNonNull(handler, "handler");
        return this;
    }

    /**
     * When true, the client never deletes a token on its own: the invalidation handler is not
     * consulted, whatever the server reports (failed heartbeat, revoked lease, refused reclaim);
     * the application removes tokens with {@link TokenManager#removeSafelyByLeaseId}. Tokens of
     * leases the application checks in (or ends with {@code close()}) are still removed. Default
     * false; key {@value #KEY_TOKEN_AUTOMATIC_INVALIDATION_DISABLED}.
     */
    public TurnstileClientBuilder tokenAutomaticInvalidationDisabled(boolean disabled) {
        this.tokenAutomaticInvalidationDisabled = disabled;
        return this;
    }

    /**
     * When true (the default), the first session reclaims the leases whose tokens the token manager
     * holds for this hardware id (a restarted program gets its seats back).
     */
    public TurnstileClientBuilder reclaimStoredTokens(boolean reclaim) {
        this.reclaimStoredTokens = reclaim;
        return this;
    }

    /** Receives lease and session events; default: none. */
    public TurnstileClientBuilder listener(LeaseListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Speaks the protocol over TLS with this context (same framing inside). Default: plain TCP. */
    public TurnstileClientBuilder tls(SSLContext context) {
        this.sslContext = context;
        return this;
    }

    /** Checks the server certificate's name against the host dialled (HTTPS rules). Default true. */
    public TurnstileClientBuilder tlsHostnameVerification(boolean verify) {
        this.tlsHostnameVerification = verify;
        return this;
    }

    /**
     * The monotonic time source (nanoseconds, like {@link System#nanoTime()}, the default) from which
     * the client measures how long ago a server last confirmed each lease, to expire it locally
     * after its lease timeout. For tests that must not wait a real lease timeout; never needed by
     * applications. Wall-clock time is not used for this on purpose: a clock step (NTP, a manual
     * correction) must not expire a lease that is still held.
     */
    public TurnstileClientBuilder ticker(LongSupplier nanoTime) {
        this.ticker = Objects.requireNonNull(nanoTime, "nanoTime");
        return this;
    }

    /** Applies the keys of {@code properties} that this builder knows; see the class comment. */
    public TurnstileClientBuilder fromProperties(Properties properties) {
        Objects.requireNonNull(properties, "properties");
        for (String key : properties.stringPropertyNames()) {
            apply(key, properties.getProperty(key));
        }
        return this;
    }

    /** Applies the keys of {@code map} that this builder knows (values as strings, or their toString). */
    public TurnstileClientBuilder fromProperties(Map<String, ?> map) {
        Objects.requireNonNull(map, "map");
        for (Map.Entry<String, ?> e : map.entrySet()) {
            if (e.getValue() != null) {
                apply(e.getKey(), String.valueOf(e.getValue()));
            }
        }
        return this;
    }

    private void apply(String key, String raw) {
        String v = raw.trim();
        switch (key) {
            case KEY_SERVERS -> {
                List<String> list = new ArrayList<>();
                for (String s : v.split(",")) {
                    if (!s.isBlank()) {
                        list.add(s.trim());
                    }
                }
                servers = List.copyOf(list);
            }
            case KEY_CLIENT_ID -> clientId = v;
            case KEY_HW_ID -> hwId = v;
            case KEY_CLIENT_VERSION -> clientVersion = v;
            case KEY_AUTH_TOKEN -> authToken = raw;
            case KEY_CONNECT_TIMEOUT -> connectTimeout = Durations.parse(key, v);
            case KEY_REQUEST_TIMEOUT -> requestTimeout = Durations.parse(key, v);
            case KEY_BACKOFF_INITIAL -> backoffInitial = Durations.parse(key, v);
            case KEY_BACKOFF_MAX -> backoffMax = Durations.parse(key, v);
            case KEY_BACKOFF_JITTER -> {
                try {
                    backoffJitter = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(key + ": expected a number from 0 to 1, got '" + v + "'");
                }
            }
            case KEY_TOKEN_AUTOMATIC_INVALIDATION_DISABLED -> tokenAutomaticInvalidationDisabled = bool(key, v);
            case KEY_RECLAIM_STORED_TOKENS -> reclaimStoredTokens = bool(key, v);
            case KEY_TOKEN_FILE -> {
                if (v.isEmpty()) {
                    throw new IllegalArgumentException(key + ": expected a file path, got an empty value");
                }
                tokenManager = new FileTokenManager(Path.of(v));
            }
            default -> {
                // Not ours: the application's own settings may share the file.
            }
        }
    }

    private static boolean bool(String key, String v) {
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(key + ": expected true or false, got '" + v + "'");
    }

    /**
     * Builds the client (it does not connect yet: see {@link TurnstileClient#connect()}).
     *
     * @throws IllegalArgumentException naming the first setting that is missing or wrong
     */
    public TurnstileClient build() {
        return new TurnstileClientImpl(config());
    }

    /** The validated settings (for the implementation and tests). */
    public ClientConfig config() {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException(KEY_SERVERS + ": at least one host:port is required");
        }
        List<ServerAddress> addresses = new ArrayList<>();
        for (String s : servers) {
            addresses.add(ServerAddress.parse(KEY_SERVERS, s));
        }
        checkString(KEY_CLIENT_ID, clientId, 1, Limits.MAX_CLIENT_ID);
        checkString(KEY_HW_ID, hwId, 1, Limits.MAX_HW_ID);
        checkString(KEY_CLIENT_VERSION, clientVersion, 0, Limits.MAX_CLIENT_VERSION);
        checkString(KEY_AUTH_TOKEN, authToken, 0, Limits.MAX_AUTH_TOKEN);
        checkPositive(KEY_CONNECT_TIMEOUT, connectTimeout);
        checkPositive(KEY_REQUEST_TIMEOUT, requestTimeout);
        checkPositive(KEY_BACKOFF_INITIAL, backoffInitial);
        checkPositive(KEY_BACKOFF_MAX, backoffMax);
        if (backoffMax.compareTo(backoffInitial) < 0) {
            throw new IllegalArgumentException(KEY_BACKOFF_MAX + ": must not be shorter than " + KEY_BACKOFF_INITIAL
                    + " (" + backoffMax + " < " + backoffInitial + ")");
        }
        if (!(backoffJitter >= 0 && backoffJitter <= 1)) {
            throw new IllegalArgumentException(KEY_BACKOFF_JITTER + ": expected 0..1, got " + backoffJitter);
        }
        return new ClientConfig(addresses, clientId, hwId, clientVersion, authToken, connectTimeout, requestTimeout,
                backoffInitial, backoffMax, backoffJitter,
                tokenManager == null ? new InMemoryTokenManager() : tokenManager, tokenInvalidationHandler,
                tokenAutomaticInvalidationDisabled, reclaimStoredTokens, listener, sslContext,
                tlsHostnameVerification, ticker);
    }

    private static void checkString(String key, String v, int min, int max) {
        if (v == null) {
            throw new IllegalArgumentException(key + ": required");
        }
        int n = v.getBytes(StandardCharsets.UTF_8).length;
        if (n < min || n > max) {
            throw new IllegalArgumentException(key + ": expected " + min + ".." + max + " UTF-8 bytes, got " + n);
        }
    }

    private static void checkPositive(String key, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(key + ": expected a positive duration, got " + d);
        }
        if (d.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + ": at most " + Integer.MAX_VALUE + " ms, got " + d);
        }
    }

    @Override
    public String toString() {
        // The auth token is never shown.
        return "TurnstileClientBuilder[servers=" + servers + ", clientId=" + clientId + ", hwId=" + hwId
                + ", clientVersion=" + clientVersion + ", authToken=" + (authToken == null || authToken.isEmpty()
                ? "none" : "***") + "]";
    }
}
