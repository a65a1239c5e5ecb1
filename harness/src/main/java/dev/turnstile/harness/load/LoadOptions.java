package dev.turnstile.harness.load;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import java.time.Duration;
import java.util.List;

/**
 * Options of a load run. Three shapes: checkout/checkin cycles at a target rate, cycles flat out
 * (each connection keeps {@code pipeline} cycles in flight), or hold-only (every connection holds
 * its leases and heartbeats, nothing else).
 */
public final class LoadOptions {
    public static final int DEFAULT_CONNECTIONS = 16;
    public static final int DEFAULT_LEASES_PER_CONNECTION = 1;
    public static final int DEFAULT_PIPELINE = 1;
    public static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);
    public static final Duration DEFAULT_WARMUP = Duration.ofSeconds(3);
    public static final Duration DEFAULT_SETUP_TIMEOUT = Duration.ofMinutes(2);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final String DEFAULT_PRODUCT = "cad-pro";
    public static final String DEFAULT_CLIENT_VERSION = "1.0.0";
    public static final int DEFAULT_CONNECT_CONCURRENCY = 256;
    public static final int DEFAULT_EVENT_LOOPS = Math.max(1, Runtime.getRuntime().availableProcessors());
    /** Bound on cycles due but not yet started in rate mode (the generator fell behind); beyond it they are dropped. */
    public static final int MAX_BACKLOG = 1_000_000;
    public static final Duration MAX_DURATION = Duration.ofHours(6);

    private String host = "127.0.0.1";
    private int port;
    private int connections = DEFAULT_CONNECTIONS;
    private int leasesPerConnection = DEFAULT_LEASES_PER_CONNECTION;
    private double rate; // cycles/s over all connections; 0 with flatOut false and holdOnly false is invalid
    private boolean flatOut;
    private boolean holdOnly;
    private int pipeline = DEFAULT_PIPELINE;
    private Duration duration = DEFAULT_DURATION;
    private Duration warmup = DEFAULT_WARMUP;
    private Duration setupTimeout = DEFAULT_SETUP_TIMEOUT;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private String product = DEFAULT_PRODUCT;
    private String licenseKey = "";
    private Enforcement enforcement = Enforcement.SEATS;
    private String clientVersion = DEFAULT_CLIENT_VERSION;
    private String token = "";
    private String hwIdPrefix = "load";
    private List<String> bindAddresses = List.of();
    private int eventLoops = DEFAULT_EVENT_LOOPS;
    private int connectConcurrency = DEFAULT_CONNECT_CONCURRENCY;
    private boolean echoMode;
    private long endAtEpochMs;

    /** Checks that the options make a run; throws naming the option that does not. */
    public LoadOptions validate() {
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port must be 1..65535");
        }
        int modes = (flatOut ? 1 : 0) + (holdOnly ? 1 : 0) + (rate > 0 ? 1 : 0);
        if (modes != 1) {
            throw new IllegalArgumentException("choose exactly one of --rate R, --flat-out, --hold-only");
        }
        if (holdOnly && leasesPerConnection < 1 && !echoMode) {
            throw new IllegalArgumentException("--hold-only needs --leases-per-connection >= 1");
        }
        return this;
    }

    public String host() {
        return host;
    }

    public LoadOptions setHost(String host) {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("host must not be empty");
        }
        this.host = host;
        return this;
    }

    public int port() {
        return port;
    }

    public LoadOptions setPort(int port) {
        this.port = port;
        return this;
    }

    public int connections() {
        return connections;
    }

    public LoadOptions setConnections(int connections) {
        if (connections < 1 || connections > 1_000_000) {
            throw new IllegalArgumentException("--connections must be 1..1000000, was " + connections);
        }
        this.connections = connections;
        return this;
    }

    public int leasesPerConnection() {
        return leasesPerConnection;
    }

    /** Leases each connection checks out at the start and keeps (heartbeating) until the end. */
    public LoadOptions setLeasesPerConnection(int k) {
        if (k < 0 || k > Limits.MAX_HEARTBEAT_LEASES) {
            throw new IllegalArgumentException("--leases-per-connection must be 0.." + Limits.MAX_HEARTBEAT_LEASES + ", was " + k);
        }
        this.leasesPerConnection = k;
        return this;
    }

    public double rate() {
        return rate;
    }

    /** Target checkout+checkin cycles per second over all connections (open loop). */
    public LoadOptions setRate(double rate) {
        if (rate < 0 || Double.isNaN(rate) || Double.isInfinite(rate) || rate > 10_000_000) {
            throw new IllegalArgumentException("--rate must be 0..10000000 cycles/s, was " + rate);
        }
        this.rate = rate;
        return this;
    }

    public boolean flatOut() {
        return flatOut;
    }

    public LoadOptions setFlatOut(boolean flatOut) {
        this.flatOut = flatOut;
        return this;
    }

    public boolean holdOnly() {
        return holdOnly;
    }

    public LoadOptions setHoldOnly(boolean holdOnly) {
        this.holdOnly = holdOnly;
        return this;
    }

    public int pipeline() {
        return pipeline;
    }

    /** Cycles in flight per connection (flat out), or the most allowed in flight (rate mode). */
    public LoadOptions setPipeline(int pipeline) {
        if (pipeline < 1 || pipeline > 4096) {
            throw new IllegalArgumentException("--pipeline must be 1..4096, was " + pipeline);
        }
        this.pipeline = pipeline;
        return this;
    }

    public Duration duration() {
        return duration;
    }

    public LoadOptions setDuration(Duration d) {
        if (d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException("--duration must be above 0 and at most " + MAX_DURATION.toHours() + "h");
        }
        this.duration = d;
        return this;
    }

    public Duration warmup() {
        return warmup;
    }

    public LoadOptions setWarmup(Duration d) {
        if (d.isNegative() || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException("--warmup must be 0..10m");
        }
        this.warmup = d;
        return this;
    }

    public Duration setupTimeout() {
        return setupTimeout;
    }

    public LoadOptions setSetupTimeout(Duration d) {
        if (d.toMillis() < 100 || d.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("--setup-timeout must be 100ms..1h");
        }
        this.setupTimeout = d;
        return this;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    public LoadOptions setRequestTimeout(Duration d) {
        if (d.toMillis() < 10 || d.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new IllegalArgumentException("--request-timeout must be 10ms..10m");
        }
        this.requestTimeout = d;
        return this;
    }

    public String product() {
        return product;
    }

    public LoadOptions setProduct(String product) {
        if (product == null || product.isEmpty() || product.length() > Limits.MAX_PRODUCT) {
            throw new IllegalArgumentException("--product must be 1.." + Limits.MAX_PRODUCT + " characters");
        }
        this.product = product;
        return this;
    }

    public String licenseKey() {
        return licenseKey;
    }

    public LoadOptions setLicenseKey(String licenseKey) {
        if (licenseKey == null || licenseKey.length() > Limits.MAX_LICENSE_KEY) {
            throw new IllegalArgumentException("--license-key must be 0.." + Limits.MAX_LICENSE_KEY + " characters");
        }
        this.licenseKey = licenseKey;
        return this;
    }

    public Enforcement enforcement() {
        return enforcement;
    }

    public LoadOptions setEnforcement(Enforcement enforcement) {
        if (enforcement == null) {
            throw new IllegalArgumentException("enforcement must not be null");
        }
        this.enforcement = enforcement;
        return this;
    }

    public String clientVersion() {
        return clientVersion;
    }

    public LoadOptions setClientVersion(String v) {
        if (v == null || v.isEmpty() || v.length() > Limits.MAX_CLIENT_VERSION) {
            throw new IllegalArgumentException("--client-version must be 1.." + Limits.MAX_CLIENT_VERSION + " characters");
        }
        this.clientVersion = v;
        return this;
    }

    public String token() {
        return token;
    }

    public LoadOptions setToken(String token) {
        if (token == null || token.length() > Limits.MAX_AUTH_TOKEN) {
            throw new IllegalArgumentException("--token must be 0.." + Limits.MAX_AUTH_TOKEN + " characters");
        }
        this.token = token;
        return this;
    }

    public String hwIdPrefix() {
        return hwIdPrefix;
    }

    /** Connection i says HELLO with hw_id {@code PREFIX-i}; give each harness process its own prefix. */
    public LoadOptions setHwIdPrefix(String p) {
        if (p == null || p.isEmpty() || p.length() > 100) {
            throw new IllegalArgumentException("--hw-id-prefix must be 1..100 characters");
        }
        this.hwIdPrefix = p;
        return this;
    }

    public List<String> bindAddresses() {
        return bindAddresses;
    }

    /** Local source addresses to spread connections over (e.g. 127.0.0.2, 127.0.0.3); empty: the OS picks. */
    public LoadOptions setBindAddresses(List<String> addresses) {
        this.bindAddresses = List.copyOf(addresses);
        return this;
    }

    public int eventLoops() {
        return eventLoops;
    }

    public LoadOptions setEventLoops(int n) {
        if (n < 1 || n > 256) {
            throw new IllegalArgumentException("--event-loops must be 1..256");
        }
        this.eventLoops = n;
        return this;
    }

    public int connectConcurrency() {
        return connectConcurrency;
    }

    /** Connections being set up at once over all event loops. */
    public LoadOptions setConnectConcurrency(int n) {
        if (n < 1 || n > 100_000) {
            throw new IllegalArgumentException("--connect-concurrency must be 1..100000");
        }
        this.connectConcurrency = n;
        return this;
    }

    public boolean echoMode() {
        return echoMode;
    }

    /** Against the echo baseline server: a cycle is one CHECKOUT answered by a GRANTED-sized frame, no checkin. */
    public LoadOptions setEchoMode(boolean echoMode) {
        this.echoMode = echoMode;
        return this;
    }

    public long endAtEpochMs() {
        return endAtEpochMs;
    }

    /**
     * Ends the measured phase at this wall-clock time instead of after {@link #duration()}, so that
     * several harness processes started together hold their connections over one common window.
     * 0: use the duration.
     */
    public LoadOptions setEndAtEpochMs(long epochMs) {
        if (epochMs < 0) {
            throw new IllegalArgumentException("--end-at must be a Unix time");
        }
        this.endAtEpochMs = epochMs;
        return this;
    }

    /** The measured time left when measuring starts now: the duration, or the time until --end-at (bounded by 6 h). */
    public Duration measuredTime() {
        if (endAtEpochMs == 0) {
            return duration;
        }
        long left = endAtEpochMs - System.currentTimeMillis();
        return Duration.ofMillis(Math.max(1, Math.min(left, MAX_DURATION.toMillis())));
    }

    public String describeMode() {
        if (holdOnly) {
            return "hold-only";
        }
        return flatOut ? "flat out" : String.format("rate %.0f cycles/s", rate);
    }
}
