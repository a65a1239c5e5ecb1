package dev.turnstile.appliance.sdk;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileClientBuilder;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.VertxAwait;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Real appliances for the SDK's integration tests: each on its own Vert.x (so that a test can kill
 * one abruptly by closing its Vert.x), on loopback with a port chosen at run time, all sharing one
 * {@link TestClock} that only moves when a test moves it, so expiry happens exactly when a test
 * says. Clients talk to them over real sockets. Not thread-safe: one per test.
 */
final class SdkFixture implements AutoCloseable {
    static final String CAD = "cad-pro";
    static final String SIM = "sim-suite";
    static final int CAD_SEATS = 3;
    static final long HEARTBEAT_MS = 300;
    static final long LEASE_TIMEOUT_MS = 1_500;

    /** A clock that stands still until {@link #advance} (the appliance reads time only through it). */
    static final class TestClock extends Clock {
        private final AtomicLong ms;

        TestClock(Instant start) {
            this.ms = new AtomicLong(start.toEpochMilli());
        }

        void advance(Duration d) {
            ms.addAndGet(d.toMillis());
        }

        @Override
        public long millis() {
            return ms.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(ms.get());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    final TestClock clock = new TestClock(Instant.parse("2027-03-01T08:00:00Z"));
    private final Map<Appliance, Vertx> vertxOf = new IdentityHashMap<>();
    private final List<Appliance> killed = new ArrayList<>();
    private final List<TurnstileClient> clients = new ArrayList<>();

    static JsonObject config(String serverId) {
        return new JsonObject()
                .put("server", new JsonObject()
                        .put("id", serverId)
                        .put("host", "127.0.0.1")
                        .put("port", 0)
                        .put("event_loops", 1)
                        .put("heartbeat_interval", HEARTBEAT_MS + "ms")
                        .put("lease_timeout", LEASE_TIMEOUT_MS + "ms")
                        .put("reclaim_grace", "0s")
                        .put("hello_timeout", "5s")
                        .put("drain_timeout", "3s"))
                .put("clients", new JsonObject().put("min_version", "1.0.0"))
                .put("entitlements", new JsonArray()
                        .add(entitlement("ent-cad", CAD, CAD_SEATS, "seats"))
                        .add(entitlement("ent-sim", SIM, 2, "checkouts")));
    }

    static JsonObject entitlement(String id, String product, int seats, String enforcement) {
        return new JsonObject()
                .put("entitlement_id", id)
                .put("tenant_id", "acme")
                .put("product_id", product)
                .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", seats)
                        .put("enforcement", enforcement))
                .put("starts_at", "2026-01-01T00:00:00Z")
                .put("ends_at", "2036-01-01T00:00:00Z");
    }

    Appliance start(String serverId) throws Exception {
        return start(serverId, c -> {
        });
    }

    /** Starts an appliance whose configuration {@code tweak} may change first. */
    Appliance start(String serverId, Consumer<JsonObject> tweak) throws Exception {
        JsonObject cfg = config(serverId);
        tweak.accept(cfg);
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
        try {
            Appliance a = await(Appliance.start(vertx, cfg, clock));
            vertxOf.put(a, vertx);
            return a;
        } catch (Exception e) {
            await(vertx.close());
            throw e;
        }
    }

    static String address(Appliance a) {
        return "127.0.0.1:" + a.tcpPort();
    }

    /** Kills {@code a} without draining: every socket closes at once, as when the process dies. */
    void kill(Appliance a) throws Exception {
        killed.add(a);
        await(vertxOf.get(a).close());
    }

    /** A builder aimed at {@code servers}, in that order, with fast, bounded timings. */
    TurnstileClientBuilder client(LeaseListener listener, Appliance... servers) {
        List<String> list = new ArrayList<>();
        for (Appliance a : servers) {
            list.add(address(a));
        }
        return TurnstileClient.builder().servers(list).clientId("sdk-it").hwId("hw-it-1").clientVersion("1.0.0")
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(500), 0.2).listener(listener);
    }

    /** Builds and remembers the client (closed by {@link #close()}). */
    TurnstileClientImpl build(TurnstileClientBuilder b) {
        TurnstileClientImpl c = (TurnstileClientImpl) b.build();
        clients.add(c);
        return c;
    }

    @Override
    public void close() throws Exception {
        for (TurnstileClient c : clients) {
            c.close();
        }
        for (Map.Entry<Appliance, Vertx> e : vertxOf.entrySet()) {
            if (!killed.contains(e.getKey())) {
                try {
                    await(e.getKey().shutdown());
                } finally {
                    await(e.getValue().close());
                }
            }
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        return VertxAwait.result(f, Duration.ofSeconds(30));
    }

    /** Bounded polling: at most 20 s, then fail saying what was awaited. */
    static void until(String what, BooleanSupplier condition) {
        Wait.until(what, Duration.ofSeconds(20), condition);
    }

    /** Records listener calls. Thread-safe. */
    static final class Events implements LeaseListener {
        /** {@code reason} as the ErrorCode callback gets it, {@code named} as the client names it, and when. */
        record Lost(Lease lease, ErrorCode reason, LeaseLossReason named, long atNanos) {
        }

        record Moved(Lease lease, String from, String to) {
        }

        final List<Lost> lost = new CopyOnWriteArrayList<>();
        final List<Moved> moved = new CopyOnWriteArrayList<>();
        final List<Lease> restored = new CopyOnWriteArrayList<>();
        final List<String> disconnected = new CopyOnWriteArrayList<>();
        final List<String> reconnected = new CopyOnWriteArrayList<>();

        @Override
        public void leaseLost(Lease lease, LeaseLossReason reason) {
            lost.add(new Lost(lease, reason.errorCode(), reason, System.nanoTime()));
        }

        @Override
        public void leaseMoved(Lease lease, String fromServer, String toServer) {
            moved.add(new Moved(lease, fromServer, toServer));
        }

        @Override
        public void leaseRestored(Lease lease, String server) {
            restored.add(lease);
        }

        @Override
        public void disconnected(String server, Throwable cause) {
            disconnected.add(server);
        }

        @Override
        public void reconnected(SessionInfo session) {
            reconnected.add(session.server());
        }

        boolean lostWith(UUID id, LeaseLossReason reason) {
            return lost.stream().anyMatch(l -> l.lease().id().equals(id) && l.named().equals(reason));
        }

        boolean lostWith(UUID id, ErrorCode reason) {
            return lost.stream().anyMatch(l -> l.lease().id().equals(id) && l.reason() == reason);
        }
    }
}
