package dev.turnstile.appliance.license;

import dev.turnstile.appliance.log.Redaction;
import dev.turnstile.protocol.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import dev.turnstile.appliance.metrics.MeterSet;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.PublicKey;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The installed license and its validity (appliance/LICENSE.md). Holds the current verified
 * document; answers, at the time of each call, whether checkouts are refused and what WELCOME
 * says; checks validity every {@code license.check_interval} to alert (log, metric, status,
 * NOTICE) and, past the end, to apply {@code license.on_expiry}; installs documents from the sync
 * and from imports (file, CLI, API), always verified first.
 *
 * <p>Threading: the read methods ({@link #checkoutRefusal}, {@link #validUntilMs}, {@link #expiring},
 * {@link #statusJson}) are cheap and safe on any thread. Everything else runs on the context that
 * called {@link #start} (the sync verticle's); file I/O runs on worker threads.
 */
public final class LicenseService {
    private static final Logger LOG = LoggerFactory.getLogger(LicenseService.class);
    /** Classpath location of the DEMO license, signed with the DEMO key for appliance "turnstile-demo". */
    public static final String DEMO_LICENSE_RESOURCE = "/license/DEMO-license.json";
    /** While expiring, the warning is logged again this often. */
    static final long REPEAT_WARNING_MS = 86_400_000L;

    /** The license's condition at one instant. */
    public enum State {
        /** No verified license is installed: checkouts are refused. */
        NONE,
        /** Valid, with more than {@code license.expiry_warning} left. */
        VALID,
        /** Valid, with less than {@code license.expiry_warning} left: alerting. */
        EXPIRING,
        /** Validity has ended: checkouts are refused with licenseExpired. */
        EXPIRED;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What the license needs from the rest of the appliance. */
    public interface Hooks {
        /** Applies the entitlements of a license that came from a file or an import (not from the sync). */
        Future<Void> applyLicenseEntitlements(LicenseDocument doc, String trigger);

        /** A sync would help now (validity running out or over). */
        void urgentSync(String reason);

        /** Tell every client: the license expires at {@code validUntilMs} (NOTICE LICENSE_EXPIRING). */
        void noticeExpiring(long validUntilMs, String text);

        /** {@code license.on_expiry: revoke_leases}: revoke every held lease. Returns how many. */
        int revokeAllLeases(String why);
    }

    private final Vertx vertx;
    private final LicenseConfig config;
    private final LongSupplier clock;
    private final Hooks hooks;

    private volatile PublicKey publicKey;
    private volatile LicenseVerifier verifier;
    private volatile LicenseDocument current;
    private volatile String currentSource = "";
    private volatile String lastError;
    private volatile State lastState = State.NONE;
    private long lastWarningMs = Long.MIN_VALUE / 2;
    private boolean revokedForCurrent;
    private volatile long fileModifiedMs = -1;
    private volatile long fileSize = -1;
    private io.vertx.core.Context context;
    private long timer = -1;
    private boolean checking;

    /** Meters this service registered: removed again on stop, so a restart in one JVM registers fresh ones. */
    private final MeterSet meters;

    private <M extends io.micrometer.core.instrument.Meter> M track(M meter) {
        return meters.add(meter);
    }

    private final MeterRegistry registry;
    private final Counter alertsExpiring;
    private final Counter alertsExpired;
    private final Counter installs;
    private final Counter refusedDocuments;

    /** One help text for both kinds: Prometheus has one per metric family. */
    private static final String ALERTS_HELP = "License alerts raised, by kind (expiring: less than license.expiry_warning "
            + "of validity left; expired)";

    /**
     * @param registry where the meters go, each tagged {@code server_id} = {@code license.local_server_id}
     */
    public LicenseService(Vertx vertx, LicenseConfig config, LongSupplier clock, Hooks hooks, MeterRegistry registry) {
        this.vertx = vertx;
        this.config = config;
        this.clock = clock;
        this.hooks = hooks;
        this.registry = registry;
        this.meters = new MeterSet(registry);
        track(Gauge.builder("turnstile_license_seconds_left", this, s -> s.secondsLeft(s.clock.getAsLong()))
                .description("Seconds of license validity left (negative once expired; 0 with no license)")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_license_expiring", this, s -> s.state(s.clock.getAsLong()) == State.EXPIRING ? 1 : 0)
                .description("1 while less than license.expiry_warning of validity is left")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_license_valid", this, s -> s.checkoutRefusal(s.clock.getAsLong()) == null ? 1 : 0)
                .description("1 while the license allows checkouts")
                .tag("server_id", config.localServerId()).register(registry));
        alertsExpiring = track(Counter.builder("turnstile_license_alerts_total").tag("kind", "expiring")
                .description(ALERTS_HELP)
                .tag("server_id", config.localServerId()).register(registry));
        alertsExpired = track(Counter.builder("turnstile_license_alerts_total").tag("kind", "expired")
                .description(ALERTS_HELP)
                .tag("server_id", config.localServerId()).register(registry));
        installs = track(Counter.builder("turnstile_license_installs_total").description("License documents installed")
                .tag("server_id", config.localServerId()).register(registry));
        refusedDocuments = track(Counter.builder("turnstile_license_refused_total")
                .description("License documents refused (bad signature, wrong server, expired, ...)")
                .tag("server_id", config.localServerId()).register(registry));
    }

    public LicenseConfig config() {
        return config;
    }

    /** The verifier, once {@link #start} has resolved the key. */
    public LicenseVerifier verifier() {
        return verifier;
    }

    public LicenseDocument current() {
        return current;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Resolves the public key (reading the file when {@code license.public_key} is a path), loads
     * the license file (or, for the DEMO key with no file yet, the built-in DEMO license) and starts
     * the periodic check. Fails only when the key cannot be had; a missing or bad license file is
     * logged and leaves the appliance refusing checkouts until a license arrives.
     */
    public Future<Void> start() {
        context = vertx.getOrCreateContext();
        return vertx.executeBlocking(this::resolveKey).compose(key -> {
            publicKey = key;
            verifier = new LicenseVerifier(key, config.localServerId(), config.allowDemoKey());
            LOG.info("license: vendor key {}{} for appliance '{}', file {}", LicenseKeys.fingerprint(key),
                    LicenseKeys.isDemo(key) ? " (the DEMO key: demo configuration, not for production)" : "",
                    config.localServerId(), config.file().toAbsolutePath());
            return loadFile(true);
        }).onSuccess(v -> {
            timer = vertx.setPeriodic(config.checkIntervalMs(), id -> check());
            check();
        });
    }

    public void stop() {
        meters.removeAll();
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
    }

    private PublicKey resolveKey() throws Exception {
        if (config.publicKey() != null) {
            return config.publicKey();
        }
        Path p = Path.of(config.publicKeyText().trim());
        String text;
        try {
            text = Files.readString(p, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new dev.turnstile.appliance.config.ConfigException(java.util.List.of(
                    "license.public_key: expected a readable Ed25519 public key file, got '" + p + "' (" + e + ")"));
        }
        PublicKey key;
        try {
            key = LicenseKeys.parsePublicKey(text);
        } catch (IllegalArgumentException e) {
            throw new dev.turnstile.appliance.config.ConfigException(java.util.List.of(
                    "license.public_key: expected an Ed25519 public key in '" + p + "' (" + e.getMessage() + ")"));
        }
        if (LicenseKeys.isDemo(key) && !config.allowDemoKey()) {
            throw new dev.turnstile.appliance.config.ConfigException(java.util.List.of(
                    "license.public_key: expected the vendor's public key; '" + p + "' holds the DEMO key, which is "
                            + "refused outside the demo configuration"));
        }
        return key;
    }

    /** A file read: the text and its stamp, or {@code null} text when there is no file. */
    private record FileRead(String text, long modifiedMs, long size) {
    }

    private FileRead readFile() throws IOException {
        Path f = config.file();
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            if (a.lastModifiedTime().toMillis() == fileModifiedMs && a.size() == fileSize) {
                return new FileRead(null, fileModifiedMs, fileSize); // unchanged
            }
            return new FileRead(Files.readString(f, StandardCharsets.UTF_8), a.lastModifiedTime().toMillis(), a.size());
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** SIGHUP: reads the license file again now (a newer, valid one is installed). */
    public Future<Void> reloadFile() {
        return loadFile(false);
    }

    /** Loads the license file when it changed (or at start), verifies it and installs it when newer. */
    private Future<Void> loadFile(boolean atStart) {
        return vertx.executeBlocking(this::readFile).compose(read -> {
            if (read == null) {
                if (atStart && current == null && LicenseKeys.isDemo(publicKey)) {
                    return installDemo();
                }
                if (atStart) {
                    LOG.warn("license: no license file at {} yet: checkouts are refused (licenseExpired) until the "
                            + "first sync or an import", config.file().toAbsolutePath());
                }
                return Future.succeededFuture();
            }
            if (read.text() == null) {
                return Future.succeededFuture();
            }
            fileModifiedMs = read.modifiedMs();
            fileSize = read.size();
            LicenseDocument doc;
            try {
                doc = verifier.verify(read.text());
            } catch (LicenseException e) {
                refused("the license file " + config.file().toAbsolutePath(), e);
                return Future.succeededFuture();
            }
            LicenseDocument cur = current;
            if (cur != null && !doc.issuedAt().isAfter(cur.issuedAt())) {
                if (doc.issuedAt().isBefore(cur.issuedAt())) {
                    LOG.warn("license: the file {} holds {} issued {}, older than the installed {} issued {}: ignored",
                            config.file(), doc.licenseId(), doc.issuedAt(), cur.licenseId(), cur.issuedAt());
                }
                return Future.succeededFuture();
            }
            if (atStart) {
                // The file is what this appliance last installed (or an import made while it was stopped): the
                // sync state knows whether its entitlements are applied.
                return hooks.applyLicenseEntitlements(doc, "start").map(v -> {
                    setCurrent(doc, "file");
                    return (Void) null;
                });
            }
            return hooks.applyLicenseEntitlements(doc, "file").map(v -> {
                setCurrent(doc, "file");
                return (Void) null;
            });
        }).recover(e -> {
            lastError = Redaction.redact("cannot read the license file " + config.file() + ": " + e.getMessage());
            LOG.error("license: {}", lastError);
            return Future.succeededFuture();
        });
    }

    private Future<Void> installDemo() {
        String text;
        try (InputStream in = LicenseService.class.getResourceAsStream(DEMO_LICENSE_RESOURCE)) {
            if (in == null) {
                return Future.failedFuture("the DEMO license " + DEMO_LICENSE_RESOURCE + " is missing from the jar");
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return Future.failedFuture(e);
        }
        LicenseDocument doc;
        try {
            doc = verifier.verify(text);
            LicenseVerifier.checkTime(doc, clock.getAsLong(), config.maxClockSkewMs());
        } catch (LicenseException e) {
            refused("the built-in DEMO license", e);
            return Future.succeededFuture();
        }
        LOG.warn("license: using the built-in DEMO license {} (valid until {}): demo configuration only",
                doc.licenseId(), doc.validUntil());
        return hooks.applyLicenseEntitlements(doc, "demo").map(v -> {
            setCurrent(doc, "built-in DEMO license");
            return (Void) null;
        });
    }

    private void refused(String what, LicenseException e) {
        refusedDocuments.increment();
        lastError = Redaction.redact(e.getMessage());
        LOG.error("license: {} refused ({}): {}", what, e.reason().code(), e.getMessage());
    }

    private void setCurrent(LicenseDocument doc, String source) {
        LicenseDocument before = current;
        current = doc;
        currentSource = source;
        revokedForCurrent = false;
        lastError = null;
        installs.increment();
        long now = clock.getAsLong();
        LOG.info("license: {} installed from {}: for '{}', key {}, issued {}, valid until {} ({}), {} entitlements",
                doc.licenseId(), source, doc.localServerId(), doc.keyId(), doc.issuedAt(), doc.validUntil(),
                describeLeft(doc.remainingMs(now)), doc.entitlements().size());
        if (before != null && before.remainingMs(now) <= 0 && doc.remainingMs(now) > 0) {
            LOG.info("license: validity restored: checkouts are accepted again");
        }
        check();
    }

    // ------------------------------------------------------------------ installs

    /**
     * Installs a document that arrived with a successful sync (already verified by the sync, its
     * changes applied): writes the license file and makes it current at once.
     */
    public Future<Void> installFromSync(LicenseDocument doc) {
        LicenseDocument cur = current;
        if (cur != null && doc.issuedAt().isBefore(cur.issuedAt())) {
            LOG.warn("license: the cloud sent {} issued {}, older than the installed {} issued {}: kept the installed one",
                    doc.licenseId(), doc.issuedAt(), cur.licenseId(), cur.issuedAt());
            return Future.succeededFuture();
        }
        return writeFile(doc).map(v -> {
            setCurrent(doc, "sync");
            return (Void) null;
        });
    }

    /**
     * Verifies an imported document (air-gapped sites: {@code POST /v1/license}, {@code appliance
     * import-license}), applies its entitlements and installs it.
     *
     * @return the installed document; fails with {@link LicenseException} when it is refused
     */
    public Future<LicenseDocument> importText(String text, String source) {
        if (context != null && io.vertx.core.Vertx.currentContext() != context) {
            io.vertx.core.Promise<LicenseDocument> p = io.vertx.core.Promise.promise();
            context.runOnContext(v -> importText(text, source).onComplete(p));
            return p.future();
        }
        LicenseDocument doc;
        try {
            doc = verifyForInstall(text);
        } catch (LicenseException e) {
            refused("an imported license (" + source + ")", e);
            return Future.failedFuture(e);
        }
        return hooks.applyLicenseEntitlements(doc, "import")
                .compose(v -> writeFile(doc))
                .map(v -> {
                    setCurrent(doc, source);
                    return doc;
                });
    }

    /** The checks an import passes: signature and content, time, not older than the installed license. */
    public LicenseDocument verifyForInstall(String text) throws LicenseException {
        LicenseVerifier v = verifier;
        if (v == null) {
            throw new LicenseException(LicenseException.Reason.MALFORMED, "licensing is not started");
        }
        LicenseDocument doc = v.verify(text);
        LicenseVerifier.checkTime(doc, clock.getAsLong(), config.maxClockSkewMs());
        LicenseDocument cur = current;
        if (cur != null && doc.issuedAt().isBefore(cur.issuedAt())) {
            throw new LicenseException(LicenseException.Reason.OLDER_THAN_INSTALLED, "the license " + doc.licenseId()
                    + " was issued " + doc.issuedAt() + ", before the installed " + cur.licenseId() + " (" + cur.issuedAt() + ")");
        }
        return doc;
    }

    private Future<Void> writeFile(LicenseDocument doc) {
        Path f = config.file();
        return vertx.executeBlocking(() -> {
            AtomicFiles.write(f, doc.toFileText());
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            return new long[] {a.lastModifiedTime().toMillis(), a.size()};
        }).map(stamp -> {
            fileModifiedMs = stamp[0];
            fileSize = stamp[1];
            return (Void) null;
        });
    }

    // ------------------------------------------------------------------ validity

    public State state(long nowMs) {
        LicenseDocument d = current;
        if (d == null) {
            return State.NONE;
        }
        long left = d.remainingMs(nowMs);
        if (left <= 0) {
            return State.EXPIRED;
        }
        return left < config.expiryWarningMs() ? State.EXPIRING : State.VALID;
    }

    /** licenseExpired while no valid license is installed, else {@code null}. */
    public ErrorCode checkoutRefusal(long nowMs) {
        State s = state(nowMs);
        return s == State.NONE || s == State.EXPIRED ? ErrorCode.LICENSE_EXPIRED : null;
    }

    public String checkoutRefusalMessage(long nowMs) {
        LicenseDocument d = current;
        if (d == null) {
            return "this appliance has no valid license yet (waiting for the cloud sync or an imported license file)";
        }
        return "the appliance's license " + d.licenseId() + " expired at " + d.validUntil()
                + "; it comes back with the next successful sync or an imported license";
    }

    /** WELCOME's license_valid_until_ms: the end of validity, 0 when none is known. */
    public long validUntilMs() {
        LicenseDocument d = current;
        return d == null ? 0 : d.validUntil().toEpochMilli();
    }

    /** WELCOME's LICENSE_EXPIRING flag: less than the warning period left (or already over). */
    public boolean expiring(long nowMs) {
        State s = state(nowMs);
        return s == State.EXPIRING || s == State.EXPIRED;
    }

    public long secondsLeft(long nowMs) {
        LicenseDocument d = current;
        return d == null ? 0 : Math.floorDiv(d.remainingMs(nowMs), 1000);
    }

    /**
     * The periodic check (also run after every install): re-reads the license file when it
     * changed, raises the alerts on state changes, repeats the expiring warning daily, applies
     * {@code on_expiry} once per expired license. Runs on the service's context.
     */
    public void check() {
        long now = clock.getAsLong();
        State s = state(now);
        State before = lastState;
        lastState = s;
        LicenseDocument d = current;
        if (s == State.EXPIRING && (before != State.EXPIRING || now - lastWarningMs >= REPEAT_WARNING_MS)) {
            lastWarningMs = now;
            if (before != State.EXPIRING) {
                hooks.noticeExpiring(d.validUntil().toEpochMilli(), "license expires at " + d.validUntil());
                hooks.urgentSync("license expiring");
            }
            alertsExpiring.increment();
            LOG.warn("license ALERT: {} expires at {} ({} left, warning below {}): the appliance needs a successful "
                    + "sync or an imported license before then", d.licenseId(), d.validUntil(), describeLeft(d.remainingMs(now)),
                    describeLeft(config.expiryWarningMs()));
        }
        if (s == State.EXPIRED && before != State.EXPIRED) {
            hooks.noticeExpiring(d.validUntil().toEpochMilli(), "license expired at " + d.validUntil());
            hooks.urgentSync("license expired");
            alertsExpired.increment();
            LOG.error("license ALERT: {} expired at {}: new checkouts are refused (licenseExpired); held leases are {}",
                    d.licenseId(), d.validUntil(), config.onExpiry() == LicenseConfig.OnExpiry.KEEP_LEASES
                            ? "kept (license.on_expiry: keep_leases)" : "revoked (license.on_expiry: revoke_leases)");
        }
        if (s == State.EXPIRED && config.onExpiry() == LicenseConfig.OnExpiry.REVOKE_LEASES && !revokedForCurrent) {
            revokedForCurrent = true;
            int n = hooks.revokeAllLeases("license " + d.licenseId() + " expired at " + d.validUntil());
            LOG.warn("license: revoked {} held leases (license.on_expiry: revoke_leases)", n);
        }
        if (!checking && verifier != null && timer >= 0) {
            checking = true;
            loadFile(false).onComplete(ar -> checking = false);
        }
    }

    static String describeLeft(long ms) {
        if (ms <= 0) {
            return "none";
        }
        long s = ms / 1000;
        if (s >= 86_400) {
            return String.format(Locale.ROOT, "%.1f days", s / 86_400.0);
        }
        if (s >= 3_600) {
            return String.format(Locale.ROOT, "%.1f hours", s / 3_600.0);
        }
        return s + " s";
    }

    /** The {@code license} object of the status JSON. */
    public JsonObject statusJson(long nowMs) {
        LicenseDocument d = current;
        State s = state(nowMs);
        JsonObject o = new JsonObject()
                .put("state", s.wireName())
                .put("checkouts_allowed", checkoutRefusal(nowMs) == null)
                .put("expiring", s == State.EXPIRING)
                .put("expiry_warning_seconds", config.expiryWarningMs() / 1000)
                .put("on_expiry", config.onExpiry().configName())
                .put("file", config.file().toString())
                .put("source", d == null ? null : currentSource)
                .put("last_error", lastError);
        if (d != null) {
            long left = secondsLeft(nowMs);
            o.put("license_id", d.licenseId())
                    .put("key_id", d.keyId())
                    .put("demo", d.isDemo())
                    .put("local_server_id", d.localServerId())
                    .put("issued_at", d.issuedAt().toString())
                    .put("valid_until", d.validUntil().toString())
                    .put("seconds_left", left)
                    .put("days_left", Math.floorDiv(left, 86_400L))
                    .put("entitlements", d.entitlements().size());
        }
        return o;
    }
}
