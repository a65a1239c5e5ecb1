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
        dev.turnstile.appliance.seat.LegacyReclaim legacyReclaim) {

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

    public record TlsConfig(boolean enabled, String certPath, String keyPath) {
        public static TlsConfig bind(JsonObject o, ConfigReader r, String prefix) {
            boolean enabled = r.bool(o, "enabled", prefix + ".enabled", false);
            String cert = r.string(o, "cert", prefix + ".cert", "");
            String key = r.string(o, "key", prefix + ".key", "");
            if (enabled && (cert.isBlank() || key.isBlank())) {
                r.problem(prefix + ": TLS is enabled, so cert and key must name PEM files");
            }
            return new TlsConfig(enabled, cert, key);
        }
    }

    public static ServerConfig bind(JsonObject o, ConfigReader r) {
        String id = r.string(o, "id", "server.id", DEFAULT_ID);
        if (id.isEmpty() || id.length() > Limits.MAX_SERVER_ID) {
            r.problem("server.id", "1 to " + Limits.MAX_SERVER_ID + " characters", id);
        }
        long hb = r.durationMs(o, "heartbeat_interval", "server.heartbeat_interval", DEFAULT_HEARTBEAT_INTERVAL_MS, 100, 3_600_000);
        long lt = r.durationMs(o, "lease_timeout", "server.lease_timeout", DEFAULT_LEASE_TIMEOUT_MS, 300, 86_400_000);
        if (lt < 2 * hb) {
            r.problem("server.lease_timeout: expected at least twice server.heartbeat_interval ("
                    + ConfigReader.formatMs(2 * hb) + ") so that one lost heartbeat does not expire a lease, got "
                    + ConfigReader.formatMs(lt));
        }
        List<String> peers = r.strings(o, "peers", "server.peers");
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
                r.string(o, "host", "server.host", DEFAULT_HOST),
                (int) r.integer(o, "port", "server.port", DEFAULT_PORT, 0, 65_535),
                (int) r.integer(o, "event_loops", "server.event_loops", 0, 0, 256),
                hb,
                lt,
                r.durationMs(o, "reclaim_grace", "server.reclaim_grace", DEFAULT_RECLAIM_GRACE_MS, 0, 86_400_000),
                r.durationMs(o, "hello_timeout", "server.hello_timeout", DEFAULT_HELLO_TIMEOUT_MS, 100, 600_000),
                r.durationMs(o, "drain_timeout", "server.drain_timeout", DEFAULT_DRAIN_TIMEOUT_MS, 0, 600_000),
                r.durationMs(o, "slow_consumer_timeout", "server.slow_consumer_timeout", DEFAULT_SLOW_CONSUMER_TIMEOUT_MS, 100, 3_600_000),
                (int) r.integer(o, "max_sessions", "server.max_sessions", DEFAULT_MAX_SESSIONS, 1, 10_000_000),
                (int) r.integer(o, "max_leases_per_session", "server.max_leases_per_session", DEFAULT_MAX_LEASES_PER_SESSION, 1, 1_000_000),
                (int) r.integer(o, "max_queue_per_pool", "server.max_queue_per_pool", DEFAULT_MAX_QUEUE_PER_POOL, 0, 1_000_000),
                r.durationMs(o, "default_wait", "server.default_wait", DEFAULT_WAIT_MS, 0, 86_400_000),
                r.durationMs(o, "max_wait", "server.max_wait", DEFAULT_MAX_WAIT_MS, 0, 86_400_000),
                peers,
                TlsConfig.bind(r.object(o, "tls", "server.tls"), r, "server.tls"),
                SessionLimitsConfig.bind(o, r),
                legacyReclaim(o, r)); // secret:
    }

    // secret: server.legacy_reclaim: refuse (default) | orphaned | identity
    private static dev.turnstile.appliance.seat.LegacyReclaim legacyReclaim(JsonObject o, ConfigReader r) {
        String v = r.string(o, "legacy_reclaim", "server.legacy_reclaim",
                dev.turnstile.appliance.seat.LedgerSettings.DEFAULT_LEGACY_RECLAIM.configName());
        dev.turnstile.appliance.seat.LegacyReclaim m = dev.turnstile.appliance.seat.LegacyReclaim.ofConfigName(v.trim());
        if (m == null) {
            r.problem("server.legacy_reclaim", "one of refuse, orphaned, identity", v);
            return dev.turnstile.appliance.seat.LedgerSettings.DEFAULT_LEGACY_RECLAIM;
        }
        return m;
    }
}
