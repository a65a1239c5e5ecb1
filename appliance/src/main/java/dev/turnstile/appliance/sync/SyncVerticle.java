package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.authority.LeaseDecision;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.license.LicenseConfig;
import dev.turnstile.appliance.license.LicenseDocument;
import dev.turnstile.appliance.license.LicenseService;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.session.SessionRegistry;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's sync and license component, deployed by the composition root between loading the
 * configured entitlements and listening: binds {@code sync:} and {@code license:}, starts the
 * {@link SyncService} (saved state into the ledger) and the {@link LicenseService} (installed
 * license), then the first sync and the schedule. Both run on this verticle's context.
 *
 * <p>Absent ({@link #create} returns {@code null}) when neither section asks for it, so an
 * appliance without {@code license:} and with sync off behaves as before: no validity, no refusal.
 *
 * <p>It sees the appliance through {@link Deps} (the seat authority, the ledger read only, the session registry,
 * the clock, the leader gate) and registers its meters in the registry it is given.
 */
public final class SyncVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(SyncVerticle.class);
    /** Refusals that suggest the cloud may know something this appliance does not yet: they make a sync urgent. */
    static final Set<ErrorCode> URGENT_DENIALS = EnumSet.of(ErrorCode.UNKNOWN_PRODUCT, ErrorCode.UNKNOWN_LICENSE_KEY,
            ErrorCode.ENTITLEMENT_NOT_ACTIVE);

    /**
     * What the sync and the license need of the appliance: narrow ports, never the composition root.
     *
     * @param authority  applies entitlement changes and revokes leases (in a triad through the Raft log)
     * @param ledger     what the ledger serves, read only
     * @param sessions   ledger events (urgent syncs) and NOTICE broadcasts
     * @param clock      the appliance's clock (ms)
     * @param leaderGate whether this appliance may call the cloud now; null: always (a single server)
     */
    public record Deps(SeatAuthority authority, LedgerView ledger, SessionRegistry sessions, LongSupplier clock,
                       BooleanSupplier leaderGate) {
    }

    private final Deps deps;
    private final LicenseConfig licenseConfig;
    private final SyncConfig syncConfig;
    private final StoreConfig storeConfig;
    private final MeterRegistry registry;
    private final Consumer<List<Entitlement>> recordEntitlements;
    private LicenseService license;
    private SyncService sync;

    private SyncVerticle(Deps deps, LicenseConfig licenseConfig, SyncConfig syncConfig, StoreConfig storeConfig,
                         MeterRegistry registry, Consumer<List<Entitlement>> recordEntitlements) {
        this.deps = deps;
        this.recordEntitlements = recordEntitlements;
        this.licenseConfig = licenseConfig;
        this.syncConfig = syncConfig;
        this.storeConfig = storeConfig;
        this.registry = registry;
    }

    /**
     * The component for the appliance's {@code sync:} and {@code license:} sections (bound with the whole file).
     *
     * @param recordEntitlements given every entitlement the ledger serves after the sync changed them (the
     *                           store's {@code entitlements} table); may be {@code null}
     * @return the component, or {@code null} when licensing is off (no {@code license:}, sync disabled)
     */
    public static SyncVerticle create(LicenseConfig license, SyncConfig sync, StoreConfig store, Deps deps,
                                      MeterRegistry registry, Consumer<List<Entitlement>> recordEntitlements) {
        if (!license.enabled()) {
            return null;
        }
        return new SyncVerticle(deps, license, sync, store, registry, recordEntitlements);
    }

    private SyncStore openStore() {
        if (storeConfig != null) {
            try {
                return new PgSyncStore(vertx, storeConfig);
            } catch (RuntimeException e) {
                LOG.error("sync: cannot use the store: section for the sync state ({}); using files in {}",
                        e.getMessage(), syncConfig.stateDir().toAbsolutePath());
            }
        }
        return new FileSyncStore(vertx, syncConfig.stateDir());
    }

    @Override
    public Future<?> start() {
        SyncStore store = openStore();
        license = new LicenseService(vertx, licenseConfig, deps.clock(), new Hooks(), registry);
        sync = new SyncService(vertx, syncConfig, deps.authority(), deps.clock(), store, license, registry,
                new SplittableRandom());
        sync.leaderGate(deps.leaderGate()); // in a triad only the leader calls the cloud
        if (recordEntitlements != null) {
            sync.onEntitlementsChanged(() -> recordEntitlements.accept(servedEntitlements()));
        }
        return sync.start()
                .compose(v -> license.start())
                .onSuccess(v -> {
                    deps.sessions().addJournalSink(this::watch);
                    sync.startSyncing();
                });
    }

    @Override
    public Future<?> stop() {
        if (license != null) {
            license.stop();
        }
        return sync == null ? Future.succeededFuture() : sync.stop();
    }

    /** Every entitlement the ledger serves now (configured and synced). */
    private List<Entitlement> servedEntitlements() {
        List<Entitlement> out = new ArrayList<>();
        for (PoolView p : deps.ledger().pools()) {
            out.add(new Entitlement(p.entitlementId(), p.tenantId(), p.productId(), p.enforcement(), p.maxSeats(),
                    p.startsAt(), p.endsAt()));
        }
        return out;
    }

    /** Ledger events, on whichever thread: a refusal the cloud might cure makes a sync urgent. Cheap. */
    private void watch(LedgerEvent e) {
        if (e.kind() == LedgerEvent.Kind.DENIAL && URGENT_DENIALS.contains(e.reason())) {
            sync.urgent("checkout refused with " + e.reason().wireName());
        }
    }

    private final class Hooks implements LicenseService.Hooks {
        @Override
        public Future<Void> applyLicenseEntitlements(LicenseDocument doc, String trigger) {
            return sync.applyLicenseEntitlements(doc, trigger);
        }

        @Override
        public void urgentSync(String reason) {
            sync.urgent(reason);
        }

        @Override
        public void noticeExpiring(long validUntilMs, String text) {
            boolean over = validUntilMs <= deps.clock().getAsLong();
            deps.sessions().broadcast(new Message.Notice(NoticeKind.LICENSE_EXPIRING.code(), Message.NO_LEASE,
                    over ? ErrorCode.LICENSE_EXPIRED.code() : 0, "", validUntilMs, text));
        }

        @Override
        public int revokeAllLeases(String why) {
            // the deciding member revokes (in a triad the leader proposes; a follower's copy follows the log)
            SeatAuthority authority = deps.authority();
            if (!authority.decidesHere()) {
                return 0;
            }
            int n = 0;
            for (LeaseView l : deps.ledger().leases()) {
                Future<LeaseDecision> f = authority.forceRelease(l.leaseId(), deps.clock().getAsLong());
                if (!f.isComplete() || (f.succeeded() && f.result().ok())) { // released, or proposed
                    n++;
                }
            }
            return n;
        }
    }

    // ------------------------------------------------------------------ what the appliance asks

    public LicenseService license() {
        return license;
    }

    public SyncService sync() {
        return sync;
    }

    /** The appliance's clock (ms). */
    long nowMs() {
        return deps.clock().getAsLong();
    }

    /** licenseExpired while no valid license is installed, else {@code null}. */
    public ErrorCode checkoutRefusal() {
        return license == null ? null : license.checkoutRefusal(deps.clock().getAsLong());
    }

    public String checkoutRefusalMessage() {
        return license == null ? "" : license.checkoutRefusalMessage(deps.clock().getAsLong());
    }

    /** WELCOME's license_valid_until_ms. */
    public long licenseValidUntilMs() {
        return license == null ? 0 : license.validUntilMs();
    }

    /** WELCOME flags this component sets (LICENSE_EXPIRING). */
    public int welcomeFlags() {
        return license != null && license.expiring(deps.clock().getAsLong()) ? Message.Welcome.FLAG_LICENSE_EXPIRING : 0;
    }

    /** The {@code sync} and {@code license} objects of {@code GET /v1/status}. */
    public Map<String, JsonObject> statusJson() {
        return Map.of("sync", sync == null ? new JsonObject() : sync.statusJson(),
                "license", license == null ? new JsonObject() : license.statusJson(deps.clock().getAsLong()));
    }

    /** Mounts the sync, entitlement and license routes (SyncRoutes). */
    public void mountRoutes(dev.turnstile.appliance.http.HttpApi api) {
        SyncRoutes.mount(api, this);
    }
}
