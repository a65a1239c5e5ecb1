package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.license.LicenseConfig;
import dev.turnstile.appliance.license.LicenseDocument;
import dev.turnstile.appliance.license.LicenseService;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.ErrorCode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A SyncService and LicenseService around a bare ledger, for tests that need to swap the store
 * (a crash between saving and committing) or to look at the ledger's listener calls. The cloud is
 * still the fake cloud over real HTTP.
 */
final class ServiceRig implements AutoCloseable {
    final List<ErrorCode> endedReasons = new CopyOnWriteArrayList<>();
    final ConcurrentLedger ledger = new ConcurrentLedger(LedgerSettings.defaults().withLeaseTimeoutMs(86_400_000L),
            new LedgerListener() {
                @Override
                public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
                }

                @Override
                public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
                }

                @Override
                public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
                    endedReasons.add(reason);
                }

                @Override
                public void journal(LedgerEvent event) {
                }
            });
    final LicenseService license;
    final SyncService sync;

    private ServiceRig(SyncFixture f, JsonObject tree, SyncStore store) {
        ConfigReader r = new ConfigReader();
        LicenseConfig lc = LicenseConfig.bind(tree, r);
        SyncConfig sc = SyncConfig.bind(tree.getJsonObject("sync"), r);
        r.throwIfAny();
        SyncService[] holder = new SyncService[1];
        license = new LicenseService(f.vertx, lc, f.clock::millis, new LicenseService.Hooks() {
            @Override
            public Future<Void> applyLicenseEntitlements(LicenseDocument doc, String trigger) {
                return holder[0].applyLicenseEntitlements(doc, trigger);
            }

            @Override
            public void urgentSync(String reason) {
            }

            @Override
            public void noticeExpiring(long validUntilMs, String text) {
            }

            @Override
            public int revokeAllLeases(String why) {
                return 0;
            }
        }, new SimpleMeterRegistry());
        sync = new SyncService(f.vertx, sc, new dev.turnstile.appliance.authority.LocalSeatAuthority(ledger), f.clock::millis, store, license, new SimpleMeterRegistry(),
                new SplittableRandom(7));
        holder[0] = sync;
    }

    /** Starts both services on one context, as the sync verticle does (the first sync is left to the test). */
    static ServiceRig start(SyncFixture f, JsonObject tree, SyncStore store) throws Exception {
        ServiceRig rig = new ServiceRig(f, tree, store);
        Context ctx = f.vertx.getOrCreateContext();
        Promise<Void> started = Promise.promise();
        ctx.runOnContext(v -> rig.sync.start().compose(x -> rig.license.start()).onComplete(started));
        started.future().await(30, TimeUnit.SECONDS);
        return rig;
    }

    AuditRecord syncNow() throws Exception {
        return sync.trigger("test").await(30, TimeUnit.SECONDS);
    }

    SyncState state() throws Exception {
        return sync.snapshot().await(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        license.stop();
        sync.stop().await(30, TimeUnit.SECONDS);
    }
}
