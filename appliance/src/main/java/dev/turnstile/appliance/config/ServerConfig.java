package dev.turnstile.appliance.config;

import dev.turnstile.protocol.Limits;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** The {@code server:} section: the TCP listener and the lease timing it announces. */
public record ServerConfig(
        String id,
        String host,
        int port,
        int eventLoops,
        long heartbeatIntervalMs,
        long leaseTimeoutMs,
        long reclaimGraceMs,
        long helloTimeoutMs,
        long drainTimeoutMs,
        long slowConsumerTimeoutMs,
        int maxSessions,
        int maxLeasesPerSession,
        int maxQueuePerPool,
        long defaultWaitMs,
        long maxWaitMs,
        List<String> peers,
        TlsConfig tls,
        SessionLimitsConfig limits,
        // secret: what a protocol 1.0 client's reclaim may do (PROTOCOL.md 10.6); default refuse
        dev.turnstile.appliance.seat.LegacyReclaim legacyReclaim,
        // pipeline: requests one connection may have in flight (PROTOCOL.md 5.3)
        int maxInFlight) {

    public static final String DEFAULT_ID = "turnstile";
    public static final String DEFAULT_HOST = "0.0.0.0";
    public static final int DEFAULT_PORT = 7878;
    public static final long DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
    public static final long DEFAULT_LEASE_TIMEOUT_MS = 30_000;
    public static final long DEFAULT_RECLAIM_GRACE_MS = 0;
    public static final long DEFAULT_HELLO_TIMEOUT_MS = 10_000;
    public static final long DEFAULT_DRAIN_TIMEOUT_MS = 5_000;
    public static final long DEFAULT_SLOW_CONSUMER_TIMEOUT_MS = 10_000;
    public static final int DEFAULT_MAX_SESSIONS = 250_000;
    public static final int DEFAULT_MAX_LEASES_PER_SESSION = 1_024;
    public static final int DEFAULT_MAX_QUEUE_PER_POOL = 10_000;
    public static final long DEFAULT_WAIT_MS = 30_000;
    public static final long DEFAULT_MAX_WAIT_MS = 600_000;
    public static final int DEFAULT_MAX_IN_FLIGHT = 32;

    public static final ConfigKey SERVER = ConfigKey.mapping("server",
            "The client listener (the binary protocol of PROTOCOL.md) and the lease timing it announces.");
    public static final ConfigKey ID = ConfigKey.string("server.id", DEFAULT_ID,
            "This server's name, shown to clients in WELCOME; unique per member of a triad (1 to "
                    + Limits.MAX_SERVER_ID + " characters)");
    public static final ConfigKey HOST = ConfigKey.string("server.host", DEFAULT_HOST,
            "Address the client listener binds; anything but loopback without clients.auth_token is warned about");
    public static final ConfigKey PORT = ConfigKey.integer("server.port", DEFAULT_PORT, 0, 65_535,
            "TCP port of the client listener; 0 takes a free port and logs it");
    public static final ConfigKey EVENT_LOOPS = ConfigKey.integer("server.event_loops", 0L,
            "0 (two per core)", 0, 256, "Listener instances (event loops) serving client sessions");
    public static final ConfigKey HEARTBEAT_INTERVAL = ConfigKey.duration("server.heartbeat_interval",
            DEFAULT_HEARTBEAT_INTERVAL_MS, 100, 3_600_000, "How often clients heartbeat, announced in WELCOME");
    public static final ConfigKey LEASE_TIMEOUT = ConfigKey.duration("server.lease_timeout", DEFAULT_LEASE_TIMEOUT_MS,
            300, 86_400_000, "A lease with no heartbeat for this long expires; at least twice server.heartbeat_interval");
    public static final ConfigKey RECLAIM_GRACE = ConfigKey.duration("server.reclaim_grace", DEFAULT_RECLAIM_GRACE_MS,
            0, 86_400_000, "How long the leases of a lost session stay orphaned for a RECLAIM on a new socket "
                    + "(0: the seats come back at once)");
    public static final ConfigKey HELLO_TIMEOUT = ConfigKey.duration("server.hello_timeout", DEFAULT_HELLO_TIMEOUT_MS,
            100, 600_000, "A connection that has not completed HELLO by then is closed");
    public static final ConfigKey DRAIN_TIMEOUT = ConfigKey.duration("server.drain_timeout", DEFAULT_DRAIN_TIMEOUT_MS,
            0, 600_000, "On stop, clients get this long (after NOTICE DRAINING) to leave before the sockets close");
    public static final ConfigKey SLOW_CONSUMER_TIMEOUT = ConfigKey.duration("server.slow_consumer_timeout",
            DEFAULT_SLOW_CONSUMER_TIMEOUT_MS, 100, 3_600_000,
            "A client whose replies stay unread this long gets ERROR slowConsumer and is closed (keep it below "
                    + "server.lease_timeout)");
    public static final ConfigKey MAX_SESSIONS = ConfigKey.integer("server.max_sessions", DEFAULT_MAX_SESSIONS, 1,
            10_000_000, "Connected clients at most (also capped at the descriptor limit minus server.fd_headroom)");
    public static final ConfigKey MAX_LEASES_PER_SESSION = ConfigKey.integer("server.max_leases_per_session",
            DEFAULT_MAX_LEASES_PER_SESSION, 1, 1_000_000, "Leases one session may hold at once");
    public static final ConfigKey MAX_QUEUE_PER_POOL = ConfigKey.integer("server.max_queue_per_pool",
            DEFAULT_MAX_QUEUE_PER_POOL, 0, 1_000_000, "Checkouts one pool may queue waiting for a seat; beyond it a checkout is refused queueFull");
    public static final ConfigKey DEFAULT_WAIT = ConfigKey.duration("server.default_wait", DEFAULT_WAIT_MS, 0,
            86_400_000, "Wait timeout of a queued checkout that asks for 0");
    public static final ConfigKey MAX_WAIT = ConfigKey.duration("server.max_wait", DEFAULT_MAX_WAIT_MS, 0, 86_400_000,
            "Cap of any checkout's wait timeout");
    public static final ConfigKey MAX_IN_FLIGHT = ConfigKey.integer("server.max_in_flight", DEFAULT_MAX_IN_FLIGHT, 1,
            1_024, "Requests one connection may have in flight (pipelining, PROTOCOL.md 5.3); at the limit the server "
                    + "reads that connection's next request only once an answer is written. In a triad the answers "
                    + "wait for their commit, so this is what lets one connection keep the Raft log busy");
    public static final ConfigKey PEERS = ConfigKey.strings("server.peers",
            "Other servers' client addresses (host:port, at most " + Limits.MAX_PEERS
                    + ") announced in WELCOME for failover; a triad announces its members itself");
    public static final TlsConfig.Keys TLS = TlsConfig.keys("server.tls", "client connections");
    public static final ConfigKey LEGACY_RECLAIM = ConfigKey.choice("server.legacy_reclaim",
            dev.turnstile.appliance.seat.LedgerSettings.DEFAULT_LEGACY_RECLAIM.configName(),
            java.util.List.of("refuse", "orphaned", "identity"),
            "What a protocol 1.0 client (no reclaim secret) may reclaim: refuse, only orphaned leases, or by "
                    + "identity alone (insecure, warned about; PROTOCOL.md 10.6)");

    /** The {@code server:} section: its own keys, then the limits' ({@link SessionLimitsConfig}). */
    public static ConfigSection section() {
        java.util.List<ConfigKey> keys = new java.util.ArrayList<>(java.util.List.of(ID, HOST, PORT, EVENT_LOOPS,
                HEARTBEAT_INTERVAL, LEASE_TIMEOUT, RECLAIM_GRACE, HELLO_TIMEOUT, DRAIN_TIMEOUT, SLOW_CONSUMER_TIMEOUT,
                MAX_SESSIONS, MAX_LEASES_PER_SESSION, MAX_QUEUE_PER_POOL, DEFAULT_WAIT, MAX_WAIT, PEERS, LEGACY_RECLAIM,
                MAX_IN_FLIGHT));
        keys.addAll(TLS.all());
        keys.addAll(SessionLimitsConfig.KEYS);
        return new ConfigSection(SERVER, "Limits against squatters and guessers on the plant LAN are PROTOCOL.md "
                + "section 7.1; each is on /metrics.", keys);
    }

    /** TLS of a listener ({@code server.tls}, {@code http.tls}): PEM certificate chain and key. */
    public record TlsConfig(boolean enabled, String certPath, String keyPath) {
        /** The three keys of one listener's {@code tls:} mapping. */
        public record Keys(ConfigKey section, ConfigKey enabled, ConfigKey cert, ConfigKey key) {
            public java.util.List<ConfigKey> all() {
                return java.util.List.of(section, enabled, cert, key);
            }
        }

        public static Keys keys(String prefix, String what) {
            return new Keys(ConfigKey.mapping(prefix, "TLS for " + what),
                    ConfigKey.bool(prefix + ".enabled", false, "Serve " + what + " over TLS"),
                    ConfigKey.string(prefix + ".cert", "", "PEM file of the certificate chain (required when enabled)"),
                    ConfigKey.string(prefix + ".key", "", "PEM file of its private key (required when enabled)"));
        }

        /** Binds the {@code tls:} mapping of {@code parent}. */
        public static TlsConfig bind(JsonObject parent, ConfigReader r, Keys k) {
            JsonObject o = r.object(parent, k.section());
            boolean enabled = r.bool(o, k.enabled());
            String cert = r.string(o, k.cert());
            String key = r.string(o, k.key());
            if (enabled && (cert.isBlank() || key.isBlank())) {
                r.problem(k.section().path() + ": TLS is enabled, so cert and key must name PEM files");
            }
            return new TlsConfig(enabled, cert, key);
        }
    }

    public static ServerConfig bind(JsonObject o, ConfigReader r) {
        String id = r.string(o, ID);
        if (id.isEmpty() || id.length() > Limits.MAX_SERVER_ID) {
            r.problem("server.id", "1 to " + Limits.MAX_SERVER_ID + " characters", id);
        }
        long hb = r.durationMs(o, HEARTBEAT_INTERVAL);
        long lt = r.durationMs(o, LEASE_TIMEOUT);
        if (lt < 2 * hb) {
            r.problem("server.lease_timeout: expected at least twice server.heartbeat_interval ("
                    + ConfigReader.formatMs(2 * hb) + ") so that one lost heartbeat does not expire a lease, got "
                    + ConfigReader.formatMs(lt));
        }
        List<String> peers = r.strings(o, PEERS);
        for (int i = 0; i < peers.size(); i++) {
            String p = peers.get(i);
            if (p.lastIndexOf(':') <= 0 || p.length() > Limits.MAX_ADDRESS) {
                r.problem("server.peers[" + i + "]", "host:port", p);
            }
        }
        if (peers.size() > Limits.MAX_PEERS) {
            r.problem("server.peers", "at most " + Limits.MAX_PEERS + " entries", peers.size() + " entries");
        }
        return new ServerConfig(
                id,
                r.string(o, HOST),
                (int) r.integer(o, PORT),
                (int) r.integer(o, EVENT_LOOPS),
                hb,
                lt,
                r.durationMs(o, RECLAIM_GRACE),
                r.durationMs(o, HELLO_TIMEOUT),
                r.durationMs(o, DRAIN_TIMEOUT),
                r.durationMs(o, SLOW_CONSUMER_TIMEOUT),
                (int) r.integer(o, MAX_SESSIONS),
                (int) r.integer(o, MAX_LEASES_PER_SESSION),
                (int) r.integer(o, MAX_QUEUE_PER_POOL),
                r.durationMs(o, DEFAULT_WAIT),
                r.durationMs(o, MAX_WAIT),
                peers,
                TlsConfig.bind(o, r, TLS),
                SessionLimitsConfig.bind(o, r),
                legacyReclaim(o, r), // secret:
                (int) r.integer(o, MAX_IN_FLIGHT)); // pipeline:
    }

    // secret: server.legacy_reclaim: refuse (default) | orphaned | identity
    private static dev.turnstile.appliance.seat.LegacyReclaim legacyReclaim(JsonObject o, ConfigReader r) {
        String v = r.string(o, LEGACY_RECLAIM);
        dev.turnstile.appliance.seat.LegacyReclaim m = dev.turnstile.appliance.seat.LegacyReclaim.ofConfigName(v.trim());
        if (m == null) {
            r.problem("server.legacy_reclaim", "one of " + String.join(", ", LEGACY_RECLAIM.choices()), v);
            return dev.turnstile.appliance.seat.LedgerSettings.DEFAULT_LEGACY_RECLAIM;
        }
        return m;
    }
}
