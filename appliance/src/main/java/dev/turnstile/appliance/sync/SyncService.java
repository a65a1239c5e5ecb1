package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.license.CanonicalJson;
import dev.turnstile.appliance.license.LicenseDocument;
import dev.turnstile.appliance.license.LicenseException;
import dev.turnstile.appliance.license.LicenseService;
import dev.turnstile.appliance.license.LicenseVerifier;
import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.sync.SyncEngine.LedgerOp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import dev.turnstile.appliance.metrics.MeterSet;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cloud sync (appliance/SYNC.md): pulls entitlement changes from the vendor's cloud over
 * outbound HTTPS, verifies the signed license that comes with them, applies them to the seat
 * ledger through {@link SyncEngine} (conflict policy included), saves them, and only then commits
 * the sync token. Around the exchange: retries with exponential backoff and jitter, the
 * vertx-circuit-breaker, triggers (start, schedule, on demand, urgent events), alerts, metrics and
 * one audit row per sync. It also owns the entitlements of imported licenses and the admin's local
 * edits and conflict resolutions.
 *
 * <p>Threading: all state lives on the context that called {@link #start} (the sync verticle's);
 * public methods hop onto it and return futures. Store I/O is asynchronous or on a worker; ledger
 * calls are short. Nothing here blocks an event loop, and no failure stops seat service.
 */
public final class SyncService {
    private static final Logger LOG = LoggerFactory.getLogger(SyncService.class);
    /** How often a store that could not be loaded at start is tried again. */
    static final long STORE_RETRY_MS = 30_000;
    /** How long a stop waits for a sync in flight. */
    static final long STOP_WAIT_MS = 2_000;

    private final Vertx vertx;
    private final SyncConfig config;
    private final SeatAuthority authority;
    private final LongSupplier clock;
    private final SyncStore store;
    private final LicenseService license;
    private final Backoff backoff;
    private final SyncSchedule schedule;

    private Context context;
    private CircuitBreaker breaker;
    private CloudClient cloud;
    private SyncState state = new SyncState();
    private boolean storeAvailable;
    private Future<AuditRecord> running;
    private long timerId = -1;
    private long storeRetryTimer = -1;
    private volatile long nextSyncAtMs = -1;
    private Runnable entitlementsChanged = () -> { };
    private volatile long lastUrgentMs = Long.MIN_VALUE / 2;
    private volatile boolean stopped;
    /** The timer of a retry waiting for its back-off, and the sync it belongs to (cancelled and ended by a stop). */
    private long retryTimerId = -1;
    private Runnable retryAbandon;
    private int consecutiveFailures;
    private volatile String status = "idle";
    private volatile AuditRecord lastRecord;
    private volatile JsonObject stateSummary = new JsonObject();
    /** The last audit write, so a stop lets it finish. */
    private Future<Void> lastAuditWrite = Future.succeededFuture();
    private final Map<String, JsonObject> alerts = new ConcurrentHashMap<>();

    private final Counter successes;
    private final Counter failures;
    private final Timer duration;
    private final Map<String, Counter> applied = new LinkedHashMap<>();
    private final Counter conflictCounter;
    private final MeterRegistry registry;
    private volatile long lastSuccessMs = -1;

    /** One help text for both outcomes: Prometheus has one per metric family. */
    private static final String ATTEMPTS_HELP = "Syncs by outcome (success rate = success / all)";

    /** Meters this service registered: removed again on stop, so a restart in one JVM registers fresh ones. */
    private final MeterSet meters;

    private <M extends io.micrometer.core.instrument.Meter> M track(M meter) {
        return meters.add(meter);
    }

    public SyncService(Vertx vertx, SyncConfig config, SeatAuthority authority, LongSupplier clock, SyncStore store,
                       LicenseService license, MeterRegistry registry, RandomGenerator random) {
        this.vertx = vertx;
        this.config = config;
        this.authority = authority;
        this.clock = clock;
        this.store = store;
        this.license = license;
        this.registry = registry;
        this.meters = new MeterSet(registry);
        this.backoff = new Backoff(config.retry().initialDelayMs(), config.retry().maxDelayMs(), random);
        this.schedule = new SyncSchedule(config.schedule());
        successes = track(Counter.builder("turnstile_sync_attempts_total").tag("outcome", "success")
                .description(ATTEMPTS_HELP)
                .tag("server_id", config.localServerId()).register(registry));
        failures = track(Counter.builder("turnstile_sync_attempts_total").tag("outcome", "failure")
                .description(ATTEMPTS_HELP)
                .tag("server_id", config.localServerId()).register(registry));
        duration = track(Timer.builder("turnstile_sync_duration_seconds").description("Duration of whole syncs, retries included")
                .tag("server_id", config.localServerId()).register(registry));
        for (Change.Action a : Change.Action.values()) {
            applied.put(a.wireName(), track(Counter.builder("turnstile_sync_changes_applied_total").tag("action", a.wireName())
                    .description("Entitlement changes applied from the cloud or an imported license")
                .tag("server_id", config.localServerId()).register(registry)));
        }
        conflictCounter = track(Counter.builder("turnstile_sync_conflicts_total").tag("policy", config.conflictResolution().configName())
                .description("Conflicts between cloud changes and local edits")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_sync_last_success_timestamp_seconds", this, s -> s.lastSuccessMs < 0 ? 0 : s.lastSuccessMs / 1000.0)
                .description("When the last sync succeeded (Unix seconds)")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_sync_conflicts_pending", this, s -> s.stateSummary.getLong("pending_conflicts", 0L))
                .description("Conflicts waiting for an admin (policy manual)")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_sync_breaker_open", this, s -> s.breaker != null && s.breaker.state() == CircuitBreakerState.OPEN ? 1 : 0)
                .description("1 while the circuit breaker to the cloud is open")
                .tag("server_id", config.localServerId()).register(registry));
        track(Gauge.builder("turnstile_sync_consecutive_failures", this, s -> s.consecutiveFailures)
                .description("Failed syncs in a row")
                .tag("server_id", config.localServerId()).register(registry));
    }

    private Counter errorCounter(SyncFailure.Kind kind) {
        return track(Counter.builder("turnstile_sync_errors_total").tag("kind", kind.wireName())
                .description("Failed syncs by cause")
                .tag("server_id", config.localServerId()).register(registry));
    }

    private Counter alertCounter(String kind) {
        return track(Counter.builder("turnstile_sync_alerts_total").tag("kind", kind)
                .description("Sync alerts raised")
                .tag("server_id", config.localServerId()).register(registry));
    }

    public SyncConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Loads the saved state and puts its entitlements into the ledger. A store that cannot be read
     * does not fail the start: the appliance serves the installed license's entitlements, syncs
     * wait, and loading is retried every {@value #STORE_RETRY_MS} ms.
     */
    public Future<Void> start() {
        context = vertx.getOrCreateContext();
        if (config.enabled()) {
            breaker = CircuitBreaker.create("turnstile-cloud-sync", vertx, new CircuitBreakerOptions()
                            .setMaxFailures(config.breaker().maxFailures())
                            .setResetTimeout(config.breaker().resetTimeoutMs())
                            .setTimeout(config.breaker().callTimeoutMs())
                            // issue 12: count failures as far apart as the retry schedule spaces them (the
                            // default 10 s window is shorter than one call_timeout): SyncConfig.breakerFailureWindowMs
                            .setFailuresRollingWindow(config.breakerFailureWindowMs())
                            .setMaxRetries(0)
                            .setNotificationAddress(null))
                    .openHandler(v -> LOG.warn("sync: circuit breaker OPEN ({} failed calls): no call to the cloud for {}",
                            config.breaker().maxFailures(), dev.turnstile.appliance.config.ConfigReader.formatMs(config.breaker().resetTimeoutMs())))
                    .halfOpenHandler(v -> LOG.info("sync: circuit breaker HALF-OPEN: the next sync is a trial call"))
                    .closeHandler(v -> LOG.info("sync: circuit breaker CLOSED"));
            // a call cut short by the appliance's stop says nothing about the cloud: not a failure
            breaker.<Object>failurePolicy(ar -> ar.failed() && !stopped
                    && (!(ar.cause() instanceof SyncFailure f) || f.kind().breakerFailure()));
            cloud = new CloudClient(vertx, config);
        }
        return store.load().transform(ar -> {
            if (ar.succeeded()) {
                storeAvailable = true;
                state = ar.result();
                applyToLedger(SyncEngine.ledgerOps(Map.of(), state.effective));
                LOG.info("sync: state loaded from {}: {} entitlements served, {} local edits, {} pending conflicts, "
                                + "last sync {} (token {})", store.describe(), state.effective.size(), state.localEdits.size(),
                        state.pendingConflicts(), state.lastSyncAtMs < 0 ? "never" : Instant.ofEpochMilli(state.lastSyncAtMs),
                        state.lastSyncToken);
            } else {
                storeAvailable = false;
                raise("store", "ERROR", "the sync state cannot be loaded from " + store.describe() + ": "
                        + ar.cause().getMessage() + "; serving the installed license's entitlements, syncs wait");
                storeRetryTimer = vertx.setPeriodic(STORE_RETRY_MS, id -> retryStoreLoad());
            }
            refreshSummary();
            return Future.<Void>succeededFuture();
        });
    }

    /** Starts the schedule and the first sync ("at start"); call once the license is loaded. */
    public void startSyncing() {
        if (!config.enabled()) {
            LOG.info("sync: disabled (sync.enabled: false): entitlements come from imported license files");
            status = "disabled";
            refreshSummary();
            return;
        }
        LOG.info("sync: cloud {} as '{}', schedule {}, conflicts {}, retries {} (backoff {}..{} ms), breaker {} failures / "
                        + "{} ms open / {} ms per call, state in {}", dev.turnstile.appliance.log.Redaction.redactUrl(config.cloudServerUrl()),
                config.localServerId(),
                schedule.describe(), config.conflictResolution().configName(), config.retry().maxAttempts(),
                config.retry().initialDelayMs(), config.retry().maxDelayMs(), config.breaker().maxFailures(),
                config.breaker().resetTimeoutMs(), config.breaker().callTimeoutMs(), store.describe());
        if (config.cloudServerUrl().startsWith("http://")) {
            LOG.warn("sync: sync.cloud_server_url is plain http://: use https:// outside tests and demos");
        }
        trigger("start");
    }

    public Future<Void> stop() {
        stopped = true;
        meters.removeAll();
        return onContext(() -> {
            if (timerId >= 0) {
                vertx.cancelTimer(timerId);
            }
            if (retryTimerId >= 0 && vertx.cancelTimer(retryTimerId) && retryAbandon != null) {
                retryAbandon.run(); // a sync waiting for its next attempt ends now, as stopped: no call, no failure
            }
            retryTimerId = -1;
            retryAbandon = null;
            if (storeRetryTimer >= 0) {
                vertx.cancelTimer(storeRetryTimer);
            }
            if (breaker != null) {
                breaker.close();
            }
            if (cloud != null) {
                cloud.close();
            }
            // A sync in flight gets a moment to save what it applied; one waiting on a dead cloud does not hold the stop.
            Promise<Void> bounded = Promise.promise();
            long t = vertx.setTimer(STOP_WAIT_MS, id -> bounded.tryComplete());
            (running == null ? Future.succeededFuture() : running)
                    .transform(ar -> lastAuditWrite)
                    .onComplete(ar -> {
                        vertx.cancelTimer(t);
                        bounded.tryComplete();
                    });
            return bounded.future().eventually(store::close).mapEmpty();
        });
    }

    private void retryStoreLoad() {
        if (storeAvailable || stopped) {
            return;
        }
        store.load().onSuccess(loaded -> {
            if (storeAvailable) {
                return;
            }
            Map<String, JsonObject> before = state.effective;
            SyncState fallback = state;
            state = loaded;
            storeAvailable = true;
            vertx.cancelTimer(storeRetryTimer);
            storeRetryTimer = -1;
            applyToLedger(SyncEngine.ledgerOps(before, state.effective));
            alerts.remove("store");
            LOG.info("sync: state loaded from {} after all; {} entitlements served", store.describe(), state.effective.size());
            LicenseDocument doc = license == null ? null : license.current();
            if (doc != null && doc.issuedAt().toEpochMilli() > state.appliedLicenseIssuedAtMs
                    && fallback.appliedLicenseIssuedAtMs == doc.issuedAt().toEpochMilli()) {
                applyLicenseEntitlements(doc, "start");
            }
            refreshSummary();
        });
    }

    // ------------------------------------------------------------------ triggers

    /**
     * Runs one sync now (retries included), or joins the one already running.
     *
     * @param trigger start, schedule, manual, urgent:&lt;reason&gt;
     * @return the audit row of the sync; fails only when the sync is disabled
     */
    public Future<AuditRecord> trigger(String trigger) {
        return onContext(() -> {
            if (!config.enabled()) {
                return Future.failedFuture(new IllegalStateException("sync is disabled (sync.enabled: false)"));
            }
            if (stopped) {
                return Future.failedFuture(new IllegalStateException("the sync is stopped"));
            }
            if (!maySync.getAsBoolean()) { // only the deciding member (triad leader) calls the cloud; the rest keep a schedule
                skippedSyncs++;
                lastSkipMs = clock.getAsLong();
                LOG.debug("sync ({}) skipped: this triad member is not the leader", trigger);
                if (!"manual".equals(trigger)) {
                    scheduleNext(true);
                }
                return Future.failedFuture(new IllegalStateException(
                        "this triad member is not the leader: only the triad leader syncs with the cloud"));
            }
            if (running != null) {
                return running;
            }
            Future<AuditRecord> f = runSync(trigger);
            running = f;
            f.onComplete(ar -> {
                running = null;
                scheduleNext(ar.succeeded() && ar.result().success());
            });
            return f;
        });
    }

    /**
     * A local event that makes a sync urgent (see SYNC.md): runs one at once unless one ran for an
     * urgent reason less than {@code sync.urgent_min_interval} ago. Cheap; any thread.
     */
    public void urgent(String reason) {
        if (!config.enabled() || stopped || context == null) {
            return;
        }
        long now = clock.getAsLong();
        if (now - lastUrgentMs < config.urgentMinIntervalMs()) {
            return;
        }
        lastUrgentMs = now;
        LOG.info("sync: urgent sync: {}", reason);
        trigger("urgent:" + reason);
    }

    private void scheduleNext(boolean succeeded) {
        if (stopped || !config.enabled()) {
            return;
        }
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
        long now = clock.getAsLong();
        long next = schedule.nextAfter(now);
        if (!succeeded && next >= 0) {
            next = Math.min(next, now + Math.max(config.retry().maxDelayMs(), 1_000));
        }
        nextSyncAtMs = next;
        refreshSummary();
        if (next < 0) {
            return;
        }
        timerId = vertx.setTimer(Math.max(1, next - now), id -> {
            timerId = -1;
            trigger("schedule");
        });
    }

    // ------------------------------------------------------------------ one sync

    private record Applied(String token, SyncEngine.Result result, int attempts) {
    }

    private Future<AuditRecord> runSync(String trigger) {
        long started = clock.getAsLong();
        long t0 = System.nanoTime();
        String tokenBefore = state.fullResyncRequested ? null : state.lastSyncToken;
        status = "syncing";
        refreshSummary();
        if (!storeAvailable) {
            return Future.succeededFuture(finish(started, t0, trigger, tokenBefore, 0, null,
                    new SyncFailure(SyncFailure.Kind.STORE, "the sync state is not loaded (" + store.describe()
                            + " unavailable): no sync until it is")));
        }
        Promise<AuditRecord> done = Promise.promise();
        attempt(1, tokenBefore, trigger, started, t0, done);
        return done.future();
    }

    private void attempt(int n, String tokenBefore, String trigger, long started, long t0, Promise<AuditRecord> done) {
        if (stopped) { // a stop is not a failure: no call, nothing for the breaker
            done.tryComplete(stoppedRecord(started, t0, trigger, tokenBefore, n - 1));
            return;
        }
        breaker.<JsonObject>execute(() -> cloud.exchange(tokenBefore))
                .recover(e -> Future.failedFuture(breakerFailure(e)))
                .compose(answer -> handle(answer, tokenBefore, n))
                .onComplete(ar -> {
                    if (ar.succeeded()) {
                        done.complete(finish(started, t0, trigger, tokenBefore, n, ar.result(), null));
                        return;
                    }
                    if (stopped) { // the stop cut the call short (e.g. "Client is closed"): not a failed sync
                        done.tryComplete(stoppedRecord(started, t0, trigger, tokenBefore, n));
                        return;
                    }
                    SyncFailure f = ar.cause() instanceof SyncFailure sf ? sf : CloudClient.classify(ar.cause());
                    if (f.kind().retried() && n < config.retry().maxAttempts()) {
                        long delay = backoff.delayMs(n);
                        LOG.warn("sync: attempt {}/{} failed ({}): {}; next attempt in {} ms", n, config.retry().maxAttempts(),
                                f.kind().wireName(), f.getMessage(), delay);
                        retryAbandon = () -> done.tryComplete(stoppedRecord(started, t0, trigger, tokenBefore, n));
                        retryTimerId = vertx.setTimer(Math.max(1, delay), id -> {
                            retryTimerId = -1;
                            retryAbandon = null;
                            attempt(n + 1, tokenBefore, trigger, started, t0, done);
                        });
                        return;
                    }
                    if (f.kind().retried() && n >= config.retry().maxAttempts()) {
                        raise("retries_exhausted", "ERROR", "sync failed after " + n + " attempts: " + f.getMessage());
                    } else if (f.kind() == SyncFailure.Kind.BREAKER_OPEN) { // issue 12: the last attempt was refused
                        raise("retries_exhausted", "ERROR", "sync failed: attempt " + n + "/" + config.retry().maxAttempts()
                                + " was refused by the open circuit breaker (" + config.breaker().maxFailures()
                                + " failed calls in a row); no call to the cloud until it half-opens");
                    }
                    done.complete(finish(started, t0, trigger, tokenBefore, n, null, f));
                });
    }

    private static SyncFailure breakerFailure(Throwable e) {
        if (e instanceof OpenCircuitException) {
            return new SyncFailure(SyncFailure.Kind.BREAKER_OPEN, "the circuit breaker is open: the cloud failed repeatedly; "
                    + "no call until it half-opens");
        }
        if (e instanceof io.vertx.circuitbreaker.TimeoutException) {
            return new SyncFailure(SyncFailure.Kind.TIMEOUT, "no answer from the cloud within the call timeout", null, e);
        }
        return CloudClient.classify(e);
    }

    /** Verifies and applies one answer. Completes when the token is committed. */
    private Future<Applied> handle(JsonObject answer, String tokenBefore, int attempts) {
        long now = clock.getAsLong();
        String token;
        long cloudTime;
        LicenseDocument doc;
        List<Change> changes;
        try {
            if (!(answer.getValue("sync_token") instanceof String t) || t.isEmpty()) {
                throw invalid("the answer has no sync_token", null);
            }
            token = t;
            try {
                cloudTime = Instant.parse(String.valueOf(answer.getValue("sync_timestamp"))).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw invalid("sync_timestamp must be an ISO-8601 instant, got " + answer.getValue("sync_timestamp"), null);
            }
            if (!(answer.getValue("license") instanceof JsonObject lic)) {
                throw invalid("the answer carries no signed license: nothing is applied without one", null);
            }
            try {
                doc = license.verifier().verify(lic);
                LicenseVerifier.checkTime(doc, now, license.config().maxClockSkewMs());
            } catch (LicenseException e) {
                throw invalid("the license in the answer is refused (" + e.reason().code() + "): " + e.getMessage(), null);
            }
            if (!token.equals(doc.syncToken())) {
                throw invalid("the license is signed for sync token " + doc.syncToken() + ", the answer says " + token, null);
            }
            Object rawChanges = answer.getValue("changes");
            String digest;
            try {
                digest = CanonicalJson.digest(rawChanges == null ? new JsonArray() : rawChanges);
            } catch (IllegalArgumentException e) {
                throw invalid("the changes have no canonical form: " + e.getMessage(), null);
            }
            if (!digest.equals(doc.changesDigest())) {
                throw invalid("the license does not sign these changes (changes_digest " + doc.changesDigest()
                        + ", the changes give " + digest + ")", null);
            }
            try {
                changes = Change.parseAll(rawChanges, cloudTime);
            } catch (EntitlementJson.Invalid e) {
                throw invalid("invalid change data, batch refused: " + e.getMessage(), e.entitlementId());
            }
        } catch (SyncFailure f) {
            return Future.failedFuture(f);
        }
        SyncEngine.Result r;
        try {
            r = SyncEngine.apply(state, changes, tokenBefore == null, doc.entitlements(), config.conflictResolution(),
                    cloudTime, now);
        } catch (EntitlementJson.Invalid e) {
            return Future.failedFuture(invalid("invalid change data, batch refused: " + e.getMessage(), e.entitlementId()));
        } catch (SyncEngine.SignedListMismatch e) {
            state.fullResyncRequested = true;
            Future<Void> saved = store.saveState(state);
            return saved.transform(x -> Future.failedFuture(invalid(e.getMessage() + "; the next sync asks for every "
                    + "entitlement (full resync)", null)));
        }
        applyToLedger(r.ledgerOps());
        SyncState next = r.state();
        next.appliedLicenseId = doc.licenseId();
        next.appliedLicenseIssuedAtMs = doc.issuedAt().toEpochMilli();
        next.fullResyncRequested = false;
        next.syncCount++;
        state = next;
        logApplied("sync", r);
        return store.saveState(next)
                .compose(v -> store.commitToken(token, now))
                .recover(e -> Future.failedFuture(new SyncFailure(SyncFailure.Kind.STORE, "the changes are applied but "
                        + "cannot be saved (" + store.describe() + "): " + e.getMessage()
                        + "; the token is not committed, so the next sync repeats this batch", null, e)))
                .compose(v -> {
                    state.lastSyncToken = token;
                    state.lastSyncAtMs = now;
                    return license.installFromSync(doc).recover(e -> {
                        LOG.error("sync: the license {} could not be written to {}: {} (it is in force until restart)",
                                doc.licenseId(), license.config().file(), e.toString());
                        return Future.succeededFuture();
                    });
                })
                .map(v -> new Applied(token, r, attempts));
    }

    private static SyncFailure invalid(String message, String entitlementId) {
        return new SyncFailure(SyncFailure.Kind.INVALID, message, entitlementId, null);
    }

    private void logApplied(String what, SyncEngine.Result r) {
        applied.get("create").increment(r.created());
        applied.get("update").increment(r.updated());
        applied.get("delete").increment(r.deleted());
        conflictCounter.increment(r.conflicts().size());
        if (r.changesApplied() > 0 || !r.conflicts().isEmpty()) {
            LOG.info("{}: {} created, {} updated, {} deleted, {} unchanged, {} conflicts ({})", what, r.created(), r.updated(),
                    r.deleted(), r.unchanged(), r.conflicts().size(), config.conflictResolution().configName());
        }
        for (SyncState.Conflict c : r.conflicts()) {
            LOG.warn("sync: conflict #{} on entitlement '{}': the cloud changed {} while it was edited locally; {}",
                    c.id(), c.entitlementId(), c.cloudFields(),
                    c.pending() ? "waiting for an admin (POST /v1/sync/conflicts/" + c.id() + "/resolve)" : "resolved: " + c.resolution());
        }
        long pending = state.pendingConflicts();
        if (r.conflicts().size() >= config.conflictsAlert() || pending >= config.conflictsAlert()) {
            raise("conflicts", "WARN", r.conflicts().size() + " conflicts in one sync, " + pending + " pending (alert at "
                    + config.conflictsAlert() + ")");
        } else {
            alerts.remove("conflicts");
        }
    }

    /**
     * The audit row of a sync the appliance's stop ended (a call cut short, or a retry that will not come): outcome
     * {@code stopped}; not a failed sync, not a breaker failure, no alert.
     */
    private AuditRecord stoppedRecord(long started, long t0, String trigger, String tokenBefore, int attempts) {
        duration.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        AuditRecord rec = new AuditRecord(started, clock.getAsLong(), trigger, "stopped", attempts, tokenBefore, null,
                0, 0, 0, 0, "the appliance stopped during the sync");
        LOG.info("sync ({}) ended by the appliance's stop after {} attempt(s); not counted as a failure", trigger, attempts);
        status = "stopped";
        lastRecord = rec;
        refreshSummary();
        lastAuditWrite = store.appendAudit(rec)
                .onFailure(e -> LOG.debug("sync: audit row of the stopped sync not written: {}", e.toString()))
                .otherwiseEmpty();
        return rec;
    }

    private AuditRecord finish(long started, long t0, String trigger, String tokenBefore, int attempts, Applied ok,
                               SyncFailure failure) {
        long now = clock.getAsLong();
        duration.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        AuditRecord rec;
        if (ok != null) {
            SyncEngine.Result r = ok.result();
            rec = new AuditRecord(started, now, trigger, "success", attempts, tokenBefore, ok.token(), r.created(),
                    r.updated(), r.deleted(), r.conflicts().size(), null);
            successes.increment();
            lastSuccessMs = now;
            consecutiveFailures = 0;
            alerts.remove("retries_exhausted");
            alerts.remove("repeated_failures");
            alerts.remove("auth");
            alerts.remove("invalid");
            alerts.remove("store");
            status = "ok";
            if (ok.result().changesApplied() == 0) {
                LOG.debug("sync: no changes (token {})", ok.token());
            }
        } else {
            String outcome = switch (failure.kind()) {
                case AUTH -> "auth_failed";
                case INVALID -> "invalid";
                case BREAKER_OPEN -> "breaker_open";
                case STORE -> "store_failed";
                default -> "failed";
            };
            rec = new AuditRecord(started, now, trigger, outcome, attempts, tokenBefore, null, 0, 0, 0, 0,
                    failure.getMessage());
            failures.increment();
            errorCounter(failure.kind()).increment();
            state.errorCount++;
            consecutiveFailures++;
            status = outcome;
            switch (failure.kind()) {
                case AUTH -> raise("auth", "ERROR", "the cloud refused this appliance's credentials; fix "
                        + "sync.authentication (not retried until the next scheduled sync): " + failure.getMessage());
                case INVALID -> raise("invalid", "ERROR", failure.getMessage());
                case STORE -> raise("store", "ERROR", failure.getMessage());
                default -> LOG.warn("sync ({}) failed after {} attempt(s): {}", trigger, attempts, failure.getMessage());
            }
            if (consecutiveFailures >= config.repeatedFailuresAlert()) {
                raise("repeated_failures", "ERROR", consecutiveFailures + " syncs in a row failed; last: " + failure.getMessage());
            }
        }
        lastRecord = rec;
        refreshSummary();
        lastAuditWrite = store.appendAudit(rec)
                .onFailure(e -> LOG.warn("sync: audit row not written ({}): {}", store.describe(), e.toString()))
                .otherwiseEmpty();
        return rec;
    }

    private void raise(String kind, String level, String message) {
        JsonObject before = alerts.get(kind);
        alerts.put(kind, new JsonObject().put("kind", kind).put("level", level).put("message", message)
                .put("since", before == null ? Instant.ofEpochMilli(clock.getAsLong()).toString() : before.getString("since")));
        alertCounter(kind).increment();
        if ("ERROR".equals(level)) {
            LOG.error("sync ALERT [{}]: {}", kind, message);
        } else {
            LOG.warn("sync ALERT [{}]: {}", kind, message);
        }
    }

    // ------------------------------------------------------------------ licenses (import, file, demo)

    /**
     * Applies the entitlement list of a license that did not come with a sync (an import, the
     * license file, the DEMO license) as a snapshot: what it lists is served, what it does not list
     * is deleted, local edits and conflicts as in a sync. At start, a license whose entitlements
     * are already applied changes nothing.
     */
    public Future<Void> applyLicenseEntitlements(LicenseDocument doc, String trigger) {
        return onContext(() -> {
            long now = clock.getAsLong();
            long issued = doc.issuedAt().toEpochMilli();
            if (issued <= state.appliedLicenseIssuedAtMs && !"import".equals(trigger)) {
                return Future.succeededFuture();
            }
            long t0 = System.nanoTime();
            SyncEngine.Result r;
            try {
                r = SyncEngine.apply(state, SyncEngine.snapshotOf(doc.entitlements(), issued), true, null,
                        config.conflictResolution(), issued, now);
            } catch (EntitlementJson.Invalid | SyncEngine.SignedListMismatch e) {
                String msg = "the license " + doc.licenseId() + " has invalid entitlements: " + e.getMessage();
                finishLicense(now, t0, trigger, null, msg);
                return Future.failedFuture(new LicenseException(LicenseException.Reason.MALFORMED, msg));
            }
            applyToLedger(r.ledgerOps());
            SyncState next = r.state();
            next.appliedLicenseId = doc.licenseId();
            next.appliedLicenseIssuedAtMs = issued;
            // The cloud copy is now the license's: the next online sync asks for everything.
            next.fullResyncRequested = true;
            state = next;
            logApplied("license " + doc.licenseId() + " (" + trigger + ")", r);
            finishLicense(now, t0, trigger, r, null);
            if (!storeAvailable) {
                return Future.succeededFuture();
            }
            return store.saveState(next).recover(e -> {
                raise("store", "ERROR", "the entitlements of license " + doc.licenseId() + " are served but cannot be saved ("
                        + store.describe() + "): " + e.getMessage());
                return Future.succeededFuture();
            });
        });
    }

    private void finishLicense(long now, long t0, String trigger, SyncEngine.Result r, String error) {
        AuditRecord rec = new AuditRecord(now, clock.getAsLong(), trigger, error == null ? "success" : "invalid", 0,
                state.lastSyncToken, state.lastSyncToken, r == null ? 0 : r.created(), r == null ? 0 : r.updated(),
                r == null ? 0 : r.deleted(), r == null ? 0 : r.conflicts().size(), error);
        refreshSummary();
        if (storeAvailable) {
            lastAuditWrite = store.appendAudit(rec)
                    .onFailure(e -> LOG.warn("sync: audit row not written: {}", e.toString()))
                    .otherwiseEmpty();
        }
    }

    // ------------------------------------------------------------------ local edits and conflicts (admin API)

    /** An admin's change to one entitlement; fails with IllegalArgumentException / NoSuchElementException. */
    public Future<JsonObject> editLocally(String id, JsonObject body) {
        return onContext(() -> {
            JsonObject served = state.effective.get(id);
            if (served == null) {
                return Future.failedFuture(new java.util.NoSuchElementException("entitlement '" + id
                        + "' is not managed by the sync (only entitlements from the cloud or a license can be edited here)"));
            }
            Map<String, Object> fields;
            try {
                fields = EntitlementJson.fields(id, body);
                if (body.containsKey("entitlement_id") && !id.equals(body.getValue("entitlement_id"))) {
                    throw new EntitlementJson.Invalid(id, "entitlement_id cannot change");
                }
                for (String f : fields.keySet()) {
                    if (!EntitlementJson.LOCALLY_EDITABLE.contains(f)) {
                        throw new EntitlementJson.Invalid(id, f + " cannot be edited locally (editable: "
                                + EntitlementJson.LOCALLY_EDITABLE + ")");
                    }
                }
                if (fields.isEmpty()) {
                    throw new EntitlementJson.Invalid(id, "nothing to change: send policy.max_seats, starts_at or ends_at");
                }
                JsonObject after = EntitlementJson.apply(served, fields);
                long now = clock.getAsLong();
                SyncState.LocalEdit old = state.localEdits.get(id);
                Map<String, Object> values = new LinkedHashMap<>(old == null ? Map.of() : old.values());
                Map<String, Long> times = new LinkedHashMap<>(old == null ? Map.of() : old.editedAtMs());
                for (Map.Entry<String, Object> e : fields.entrySet()) {
                    values.put(e.getKey(), e.getValue());
                    times.put(e.getKey(), now);
                }
                Map<String, JsonObject> before = new java.util.TreeMap<>(state.effective);
                state.localEdits.put(id, new SyncState.LocalEdit(values, times));
                state.effective.put(id, after);
                applyToLedger(SyncEngine.ledgerOps(before, state.effective));
                LOG.info("sync: entitlement '{}' edited locally: {}", id, fields);
                refreshSummary();
                return save().map(v -> entitlementJson(id));
            } catch (EntitlementJson.Invalid e) {
                return Future.failedFuture(new IllegalArgumentException(e.getMessage()));
            }
        });
    }

    /** Drops the local edit of {@code id}: the cloud's version is served again. */
    public Future<JsonObject> revertLocalEdit(String id) {
        return onContext(() -> {
            if (!state.localEdits.containsKey(id)) {
                return Future.failedFuture(new java.util.NoSuchElementException("entitlement '" + id + "' has no local edit"));
            }
            takeCloudVersion(id, "revert");
            LOG.info("sync: local edit of entitlement '{}' reverted to the cloud's version", id);
            return save().map(v -> entitlementJson(id));
        });
    }

    /**
     * Resolves a pending conflict: {@code cloud} serves the cloud's current version and drops the
     * local edit; {@code local} keeps what is served and the local edit. Resolves every pending
     * conflict of the same entitlement.
     */
    public Future<JsonObject> resolveConflict(long conflictId, String resolution) {
        return onContext(() -> {
            SyncState.Conflict c = state.conflicts.stream().filter(x -> x.id() == conflictId).findFirst().orElse(null);
            if (c == null) {
                return Future.failedFuture(new java.util.NoSuchElementException("no conflict " + conflictId));
            }
            if (!c.pending()) {
                return Future.failedFuture(new IllegalStateException("conflict " + conflictId + " is already resolved ("
                        + c.resolution() + ")"));
            }
            if (!"cloud".equals(resolution) && !"local".equals(resolution)) {
                return Future.failedFuture(new IllegalArgumentException("resolution must be cloud or local, got " + resolution));
            }
            if ("cloud".equals(resolution)) {
                takeCloudVersion(c.entitlementId(), "admin");
            } else {
                resolvePending(c.entitlementId(), "local", "admin");
            }
            LOG.info("sync: conflict #{} on '{}' resolved by an admin: {}", conflictId, c.entitlementId(), resolution);
            return save().map(v -> state.conflicts.stream().filter(x -> x.id() == conflictId).findFirst()
                    .map(SyncState.Conflict::toJson).orElse(new JsonObject()));
        });
    }

    private void takeCloudVersion(String id, String by) {
        Map<String, JsonObject> before = new java.util.TreeMap<>(state.effective);
        state.localEdits.remove(id);
        JsonObject cloudVersion = state.cloud.get(id);
        if (cloudVersion == null) {
            state.effective.remove(id);
        } else {
            state.effective.put(id, cloudVersion.copy());
        }
        resolvePending(id, "cloud", by);
        applyToLedger(SyncEngine.ledgerOps(before, state.effective));
    }

    private void resolvePending(String id, String resolution, String by) {
        long now = clock.getAsLong();
        for (int i = 0; i < state.conflicts.size(); i++) {
            SyncState.Conflict c = state.conflicts.get(i);
            if (c.pending() && c.entitlementId().equals(id)) {
                state.conflicts.set(i, c.resolve(resolution, now, by));
            }
        }
        if (state.pendingConflicts() < config.conflictsAlert()) {
            alerts.remove("conflicts");
        }
        refreshSummary();
    }

    private Future<Void> save() {
        if (!storeAvailable) {
            return Future.failedFuture(new IllegalStateException("the sync state store (" + store.describe()
                    + ") is unavailable: the change is served but not saved"));
        }
        return store.saveState(state);
    }

    /** The conflicts, pending only or all kept. */
    public Future<JsonArray> conflicts(boolean pendingOnly) {
        return onContext(() -> {
            JsonArray out = new JsonArray();
            for (SyncState.Conflict c : state.conflicts) {
                if (!pendingOnly || c.pending()) {
                    out.add(c.toJson());
                }
            }
            return Future.succeededFuture(out);
        });
    }

    /** Every entitlement the sync manages: served version, cloud version, local edit, pending conflicts. */
    public Future<JsonArray> entitlements() {
        return onContext(() -> {
            JsonArray out = new JsonArray();
            java.util.TreeSet<String> ids = new java.util.TreeSet<>(state.effective.keySet());
            ids.addAll(state.cloud.keySet());
            for (String id : ids) {
                out.add(entitlementJson(id));
            }
            return Future.succeededFuture(out);
        });
    }

    private JsonObject entitlementJson(String id) {
        SyncState.LocalEdit e = state.localEdits.get(id);
        return new JsonObject()
                .put("entitlement_id", id)
                .put("served", state.effective.get(id))
                .put("cloud", state.cloud.get(id))
                .put("local_edit", e == null ? null : e.toJson())
                .put("pending_conflicts", state.conflicts.stream().filter(c -> c.pending() && c.entitlementId().equals(id)).count());
    }

    /** The newest audit rows. */
    public Future<List<AuditRecord>> audit(int limit) {
        return store.recentAudit(limit);
    }

    // ------------------------------------------------------------------ ledger, status, helpers

    /** Called (on the sync's context) after the ledger's entitlements changed, e.g. to record them in the store. */
    public void onEntitlementsChanged(Runnable listener) {
        this.entitlementsChanged = listener == null ? () -> { } : listener;
    }

    // whether this appliance may call the cloud now: always on a single server; in a triad the leader only (the
    // composition root's leader gate); a follower skips its start, scheduled and urgent syncs and refuses manual
    // ones, and says so in status
    private volatile java.util.function.BooleanSupplier maySync = () -> true;
    private volatile boolean gated;
    private volatile long skippedSyncs;
    private volatile long lastSkipMs = -1;

    /** Only while {@code maySync} says so does this appliance call the cloud; null: always (a single server). */
    public void leaderGate(java.util.function.BooleanSupplier maySync) {
        this.maySync = maySync == null ? () -> true : maySync;
        this.gated = maySync != null;
    }

    /**
     * Hands the changes to the seat authority (in a triad, log entries the leader proposes; a follower's are
     * refused and its pools follow the log), then records the served entitlements once every change is decided.
     */
    private void applyToLedger(List<LedgerOp> ops) {
        if (ops.isEmpty()) {
            return;
        }
        long now = clock.getAsLong();
        List<Future<Void>> decided = new ArrayList<>(ops.size());
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> why = new java.util.concurrent.atomic.AtomicReference<>();
        for (LedgerOp op : ops) {
            Future<Void> f = op.remove() ? authority.removeEntitlement(op.entitlementId(), now)
                    : authority.upsertEntitlement(op.entitlement(), now);
            decided.add(f.andThen(ar -> {
                if (ar.succeeded()) {
                    if (op.remove()) {
                        LOG.info("sync: entitlement '{}' removed: its leases are revoked (entitlementDeleted)",
                                op.entitlementId());
                    }
                } else if (AuthorityRefusal.of(ar.cause()) != null) {
                    refused.incrementAndGet();
                    why.set(ar.cause().getMessage());
                } else {
                    LOG.error("sync: the ledger refused {} for entitlement '{}': {}",
                            op.remove() ? "the removal" : "the change", op.entitlementId(), ar.cause().toString());
                }
            }));
        }
        Future.join(decided).onComplete(ar -> {
            if (refused.get() > 0) {
                LOG.info("sync: {} entitlement change(s) not applied here: {}", refused.get(), why.get());
            }
            try {
                entitlementsChanged.run();
            } catch (RuntimeException e) {
                LOG.warn("sync: recording the changed entitlements failed: {}", e.toString());
            }
        });
    }

    private void refreshSummary() {
        SyncState s = state;
        stateSummary = new JsonObject()
                .put("last_sync_at", s.lastSyncAtMs < 0 ? null : Instant.ofEpochMilli(s.lastSyncAtMs).toString())
                .put("last_sync_token", s.lastSyncToken)
                .put("sync_count", s.syncCount)
                .put("conflict_count", s.conflictCount)
                .put("pending_conflicts", s.pendingConflicts())
                .put("error_count", s.errorCount)
                .put("entitlements", s.effective.size())
                .put("local_edits", s.localEdits.size())
                .put("full_resync_requested", s.fullResyncRequested)
                .put("applied_license_id", s.appliedLicenseId);
    }

    /** {@code GET /v1/sync/status}. Cheap, any thread. */
    public JsonObject statusJson() {
        JsonObject o = stateSummary.copy();
        long next = nextSyncAtMs;
        AuditRecord last = lastRecord;
        JsonObject b = new JsonObject()
                .put("state", breaker == null ? "none" : breaker.state().name().toLowerCase(java.util.Locale.ROOT))
                .put("failure_count", breaker == null ? 0 : breaker.failureCount())
                .put("max_failures", config.breaker().maxFailures())
                .put("failure_window_ms", config.breakerFailureWindowMs())
                .put("reset_timeout_ms", config.breaker().resetTimeoutMs())
                .put("call_timeout_ms", config.breaker().callTimeoutMs());
        JsonArray al = new JsonArray();
        alerts.values().forEach(al::add);
        o.put("status", status)
                .put("enabled", config.enabled())
                .put("cloud_server_url", config.enabled() ? dev.turnstile.appliance.log.Redaction.redactUrl(config.cloudServerUrl()) : null)
                .put("local_server_id", config.localServerId())
                .put("conflict_resolution", config.conflictResolution().configName())
                .put("schedule", schedule.describe())
                .put("next_sync_at", next < 0 ? null : Instant.ofEpochMilli(next).toString())
                .put("consecutive_failures", consecutiveFailures)
                .put("last_outcome", last == null ? null : last.outcome())
                .put("last_attempt_at", last == null ? null : Instant.ofEpochMilli(last.startedAtMs()).toString())
                .put("last_error", last == null ? null : last.error())
                .put("breaker", b)
                .put("alerts", al)
                .put("store", store.describe())
                .put("store_available", storeAvailable);
        if (gated) { // a triad: only the leader syncs
            boolean leader = maySync.getAsBoolean();
            o.put("triad_role", leader ? "leader: syncs with the cloud" : "follower: skips syncing (only the triad leader syncs)")
                    .put("triad_syncing", leader)
                    .put("triad_skipped_syncs", skippedSyncs)
                    .put("triad_last_skipped_at", lastSkipMs < 0 ? null : Instant.ofEpochMilli(lastSkipMs).toString());
        }
        return o;
    }

    /** Runs {@code work} on the sync's context; the result completes wherever the work completes it. */
    private <T> Future<T> onContext(Supplier<Future<T>> work) {
        if (context == null) {
            return Future.failedFuture(new IllegalStateException("the sync is not started"));
        }
        if (Vertx.currentContext() == context) {
            try {
                return work.get();
            } catch (RuntimeException e) {
                return Future.failedFuture(e);
            }
        }
        Promise<T> p = Promise.promise();
        context.runOnContext(v -> {
            try {
                work.get().onComplete(p);
            } catch (RuntimeException e) {
                p.fail(e);
            }
        });
        return p.future();
    }

    /** For tests: the state as it is now (a copy). */
    public Future<SyncState> snapshot() {
        return onContext(() -> Future.succeededFuture(state.copy()));
    }
}
