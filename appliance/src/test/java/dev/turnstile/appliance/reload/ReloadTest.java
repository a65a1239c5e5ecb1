package dev.turnstile.appliance.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.ApplianceConfig;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ReloadTest {

    @Test
    @DisplayName("GIVEN a held lease WHEN the configuration is reloaded with a smaller pool, a new product and a stricter version THEN the socket stays, the lease is kept and the new rules apply")
    void reload_applies_entitlements_and_client_policy_without_dropping_sockets() throws Exception {
        Vertx vertx = Vertx.vertx();
        JsonObject cfg = TestAppliances.config("reload", 3);
        cfg.getJsonObject("server").put("lease_timeout", "60s").put("heartbeat_interval", "10s");
        Appliance a = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
        try (RawClient c = RawClient.session(a.tcpPort(), "c", "hw-c")) {
            Message.Granted g = (Message.Granted) c.request(c.checkout("cad-pro", 2)).message();

            JsonObject next = cfg.copy();
            next.getJsonObject("clients").put("min_version", "2.0.0");
            next.put("entitlements", new JsonArray()
                    .add(TestAppliances.entitlement("ent-cad", "cad-pro", 1, "seats"))
                    .add(TestAppliances.entitlement("ent-new", "new-tool", 5, "seats")));
            a.reload(ApplianceConfig.from(next)).await(10, TimeUnit.SECONDS);

            PoolView cad = a.ledger().pools().stream().filter(p -> p.productId().equals("cad-pro")).findFirst().orElseThrow();
            assertEquals(1, cad.maxSeats());
            assertEquals(2, cad.used(), "a shrunk pool keeps its leases");
            assertTrue(a.ledger().pools().stream().noneMatch(p -> p.productId().equals("sim-suite")), "removed");
            Message.HeartbeatResult r = (Message.HeartbeatResult) c.request(new Message.Heartbeat(List.of(g.leaseId()))).message();
            assertTrue(r.results().get(0).ok(), "the same socket still heartbeats its lease");
            assertEquals(ErrorCode.NO_SEATS_AVAILABLE,
                    ((Message.Denied) c.request(c.checkout("cad-pro", 1)).message()).errorCode(),
                    "no new seat until use falls under the new maximum");
            assertInstanceOf(Message.Granted.class, c.request(c.checkout("new-tool", 1)).message());
        }
        try (RawClient late = RawClient.connect(a.tcpPort())) {
            late.preamble();
            Message.Error e = (Message.Error) late.request(new Message.Hello("late", "hw", "1.5.0", "")).message();
            assertEquals(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, e.errorCode(), "the new minimum version applies");
        } finally {
            a.shutdown().await(20, TimeUnit.SECONDS);
            vertx.close().await(20, TimeUnit.SECONDS);
        }
    }
}
