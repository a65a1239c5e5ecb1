package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.config.ConfigReader;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.Locale;

/**
 * The {@code sync:} section (appliance/SYNC.md, "Configuration"), bound and validated; every
 * problem names its key.
 * <pre>
 * sync:
 *   enabled: true
 *   cloud_server_url: "https://cloud.example.com"
 *   local_server_id: "local-server-abc123"
 *   schedule:
 *     enabled: true
 *     interval: "1h"          # or
 *     cron: null              # e.g. "0 * * * *" (five fields, UNIX cron; wins over interval when set)
 *     timezone: "UTC"         # for cron; default: the machine's zone
 *   conflict_resolution: "cloud_wins"   # cloud_wins, local_wins, merge, manual
 *   authentication:
 *     method: "bearer_token"            # or mtls
 *     token: "${SYNC_TOKEN}"
 *     cert: "/etc/turnstile/sync-client.pem"   # mtls: client certificate chain (PEM)
 *     key: "/etc/turnstile/sync-client.key"    # mtls: its private key (PEM)
 *     ca: "/etc/turnstile/cloud-ca.pem"        # optional: trust only this CA for the cloud
 *   retry:
 *     max_attempts: 5
 *     initial_delay_seconds: 1
 *     max_delay_seconds: 300
 *   circuit_breaker:
 *     max_failures: 5         # failed calls before the breaker opens
 *     reset_timeout: "60s"    # open this long, then half-open: one trial call
 *     call_timeout: "30s"     # one HTTP exchange at most this long
 *   alerts:
 *     repeated_failures: 3    # failed syncs in a row before the repeated-failures alert
 *     conflicts: 10           # pending conflicts (or conflicts in one sync) before the conflict alert
 *   urgent_min_interval: "5m" # urgent syncs (see SYNC.md) at most this often
 *   state_dir: "data"         # file-backed sync state when no store: section is configured
 * </pre>
 */
public record SyncConfig(boolean enabled, String cloudServerUrl, String localServerId, Schedule schedule,
                         ConflictPolicy conflictResolution, Authentication authentication, Retry retry,
                         Breaker breaker, int repeatedFailuresAlert, int conflictsAlert, long urgentMinIntervalMs,
                         Path stateDir) {

    public static final String DEFAULT_STATE_DIR = "data";

    /** When syncs run on their own. {@code cronExpression} wins over {@code intervalMs} when set. */
    public record Schedule(boolean enabled, long intervalMs, String cronExpression, ZoneId zone) {
    }

    /** How the appliance proves itself to the cloud. */
    public record Authentication(Method method, String token, String certPath, String keyPath, String caPath) {
        public enum Method {
            BEARER_TOKEN, MTLS
        }

        @Override
        public String toString() {
            return "Authentication[" + method.name().toLowerCase(Locale.ROOT) + (token == null || token.isEmpty() ? "" : ", token=***")
                    + (certPath == null ? "" : ", cert=" + certPath) + "]";
        }
    }

    /** Retries of one sync: exponential backoff with jitter. */
    public record Retry(int maxAttempts, long initialDelayMs, long maxDelayMs) {
    }

    /** The vertx-circuit-breaker around every call to the cloud. */
    public record Breaker(int maxFailures, long resetTimeoutMs, long callTimeoutMs) {
    }

    /** The longest failure window the breaker is given (vertx-circuit-breaker keeps one map entry per second of it). */
    public static final long MAX_BREAKER_FAILURE_WINDOW_MS = 86_400_000L;

    /**
     * How far back the breaker counts failed calls (vertx-circuit-breaker's {@code failuresRollingWindow}; its default,
     * 10 s, is shorter than one {@code call_timeout}, so timeouts could never add up to {@code max_failures}). Two
     * failed calls in a row are at most {@code call_timeout} + the longest wait apart: a call fails at the latest
     * {@code call_timeout} after it starts, and the next starts after the retry back-off (at most
     * {@code retry.max_delay_seconds}) or, after a failed sync, with the next sync (at most
     * max({@code retry.max_delay_seconds}, 1 s) later, see SyncService.scheduleNext). So {@code max_failures} failures
     * in a row span at most (max_failures - 1) such gaps; the window is one gap longer, for the library's whole-second
     * buckets: {@code max_failures x (call_timeout + max(max_delay, 1 s))}, whole seconds, at most one day. With the
     * defaults: 5 x (30 s + 300 s) = 1650 s. A success resets the count, so the breaker opens on {@code max_failures}
     * failures in a row, as the schedule spaces them.
     */
    public long breakerFailureWindowMs() {
        long gap = breaker.callTimeoutMs() + Math.max(retry.maxDelayMs(), 1_000L);
        long window = Math.min(MAX_BREAKER_FAILURE_WINDOW_MS, (long) breaker.maxFailures() * gap);
        return Math.max(1_000L, (window + 999) / 1_000 * 1_000);
    }

    /** The defaults of a disabled sync (the appliance still keeps entitlement state for imported licenses). */
    public static SyncConfig disabled(Path stateDir) {
        return new SyncConfig(false, "", "", new Schedule(false, 3_600_000L, null, ZoneId.of("UTC")),
                ConflictPolicy.CLOUD_WINS, new Authentication(Authentication.Method.BEARER_TOKEN, "", null, null, null),
                new Retry(5, 1_000, 300_000), new Breaker(5, 60_000, 30_000), 3, 10, 300_000, stateDir);
    }

    /** Binds {@code sync} (the section, possibly empty); problems go to {@code r}. */
    public static SyncConfig bind(JsonObject sync, ConfigReader r) {
        boolean enabled = r.bool(sync, "enabled", "sync.enabled", false);
        String url = r.string(sync, "cloud_server_url", "sync.cloud_server_url", "");
        String localId = r.string(sync, "local_server_id", "sync.local_server_id", "");
        if (enabled) {
            if (url.isBlank()) {
                r.problem("sync.cloud_server_url", "the cloud's https:// base URL", url);
            } else {
                try {
                    URI u = URI.create(url.trim());
                    if (u.getScheme() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))
                            || u.getHost() == null) {
                        r.problem("sync.cloud_server_url", "an https:// (or http://) URL with a host", url);
                    }
                } catch (IllegalArgumentException e) {
                    r.problem("sync.cloud_server_url", "a URL (" + e.getMessage() + ")", url);
                }
            }
            if (localId.isBlank()) {
                r.problem("sync.local_server_id", "this appliance's id at the cloud (a non-empty string)", localId);
            }
        }
        JsonObject s = r.object(sync, "schedule", "sync.schedule");
        boolean schedOn = r.bool(s, "enabled", "sync.schedule.enabled", true);
        long interval = r.durationMs(s, "interval", "sync.schedule.interval", 3_600_000L, 1_000, 30L * 86_400_000L);
        String cron = r.string(s, "cron", "sync.schedule.cron", null);
        if (cron != null && cron.isBlank()) {
            cron = null;
        }
        if (cron != null) {
            String problem = SyncSchedule.checkCron(cron);
            if (problem != null) {
                r.problem("sync.schedule.cron", "a five-field UNIX cron expression like \"0 * * * *\" (" + problem + ")", cron);
            }
        }
        String zoneText = r.string(s, "timezone", "sync.schedule.timezone", null);
        ZoneId zone = ZoneId.systemDefault();
        if (zoneText != null) {
            try {
                zone = ZoneId.of(zoneText);
            } catch (RuntimeException e) {
                r.problem("sync.schedule.timezone", "a time zone like UTC or Europe/Berlin", zoneText);
            }
        }
        String policyText = r.string(sync, "conflict_resolution", "sync.conflict_resolution", "cloud_wins");
        ConflictPolicy policy = ConflictPolicy.ofName(policyText);
        if (policy == null) {
            r.problem("sync.conflict_resolution", "cloud_wins, local_wins, merge or manual", policyText);
            policy = ConflictPolicy.CLOUD_WINS;
        }
        JsonObject a = r.object(sync, "authentication", "sync.authentication");
        String methodText = r.string(a, "method", "sync.authentication.method", "bearer_token");
        Authentication.Method method = Authentication.Method.BEARER_TOKEN;
        if (methodText.equals("mtls")) {
            method = Authentication.Method.MTLS;
        } else if (!methodText.equals("bearer_token")) {
            r.problem("sync.authentication.method", "bearer_token or mtls", methodText);
        }
        String token = r.string(a, "token", "sync.authentication.token", "");
        String cert = r.string(a, "cert", "sync.authentication.cert", null);
        String key = r.string(a, "key", "sync.authentication.key", null);
        String ca = r.string(a, "ca", "sync.authentication.ca", null);
        if (enabled && method == Authentication.Method.BEARER_TOKEN && token.isBlank()) {
            r.problem("sync.authentication.token", "the bearer token the cloud issued (set SYNC_TOKEN)", token);
        }
        if (enabled && method == Authentication.Method.MTLS) {
            if (cert == null || cert.isBlank()) {
                r.problem("sync.authentication.cert", "the client certificate PEM file for mtls", cert);
            }
            if (key == null || key.isBlank()) {
                r.problem("sync.authentication.key", "the client private key PEM file for mtls", key);
            }
        }
        JsonObject rt = r.object(sync, "retry", "sync.retry");
        int attempts = (int) r.integer(rt, "max_attempts", "sync.retry.max_attempts", 5, 1, 100);
        long initial = seconds(rt, "initial_delay_seconds", "sync.retry.initial_delay_seconds", 1_000, r);
        long max = seconds(rt, "max_delay_seconds", "sync.retry.max_delay_seconds", 300_000, r);
        if (max < initial) {
            r.problem("sync.retry.max_delay_seconds", "at least sync.retry.initial_delay_seconds (" + initial / 1000.0 + ")",
                    max / 1000.0);
        }
        JsonObject b = r.object(sync, "circuit_breaker", "sync.circuit_breaker");
        int maxFailures = (int) r.integer(b, "max_failures", "sync.circuit_breaker.max_failures", 5, 1, 1_000);
        long reset = r.durationMs(b, "reset_timeout", "sync.circuit_breaker.reset_timeout", 60_000, 10, 86_400_000L);
        long call = r.durationMs(b, "call_timeout", "sync.circuit_breaker.call_timeout", 30_000, 10, 600_000);
        JsonObject al = r.object(sync, "alerts", "sync.alerts");
        int repeated = (int) r.integer(al, "repeated_failures", "sync.alerts.repeated_failures", 3, 1, 1_000);
        int conflicts = (int) r.integer(al, "conflicts", "sync.alerts.conflicts", 10, 1, 1_000_000);
        long urgent = r.durationMs(sync, "urgent_min_interval", "sync.urgent_min_interval", 300_000, 0, 86_400_000L);
        String dir = r.string(sync, "state_dir", "sync.state_dir", DEFAULT_STATE_DIR);
        Path stateDir = Path.of(DEFAULT_STATE_DIR);
        try {
            stateDir = Path.of(dir);
        } catch (RuntimeException e) {
            r.problem("sync.state_dir", "a directory path", dir);
        }
        String base = url.trim();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return new SyncConfig(enabled, base, localId, new Schedule(schedOn, interval, cron, zone), policy,
                new Authentication(method, token, cert, key, ca), new Retry(attempts, initial, max),
                new Breaker(maxFailures, reset, call), repeated, conflicts, urgent, stateDir);
    }

    /** A number of seconds (integer or decimal, 0 to one day) as milliseconds. */
    private static long seconds(JsonObject o, String name, String key, long defMs, ConfigReader r) {
        Object v = r.value(o, name, key);
        if (v == null) {
            return defMs;
        }
        double d;
        if (v instanceof Number n) {
            d = n.doubleValue();
        } else {
            try {
                d = Double.parseDouble(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                r.problem(key, "a number of seconds from 0 to 86400", v);
                return defMs;
            }
        }
        if (!(d >= 0 && d <= 86_400)) {
            r.problem(key, "a number of seconds from 0 to 86400", v);
            return defMs;
        }
        return Math.round(d * 1000);
    }

    /** The sync endpoint. */
    public String endpoint() {
        return cloudServerUrl + "/v1/sync/entitlements";
    }
}
