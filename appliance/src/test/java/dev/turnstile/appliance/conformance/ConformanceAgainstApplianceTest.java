package dev.turnstile.appliance.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.harness.conformance.ConformanceOptions;
import dev.turnstile.harness.conformance.ConformanceResult;
import dev.turnstile.harness.conformance.ConformanceRunner;
import dev.turnstile.testsupport.VertxAwait;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The protocol harness's conformance runner (every scripted conversation and every client-sent
 * vector) against the real appliance on a loopback port chosen at run time: the appliance must
 * pass every case, with and without a reclaim grace.
 */
class ConformanceAgainstApplianceTest {
    private static final String PRODUCT = "cad-pro";
    private static final int SEATS = 3;

    private Vertx vertx;
    private Appliance appliance;

    @BeforeEach
    void start_vertx() {
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    }

    @AfterEach
    void stop() throws Exception {
        if (appliance != null) {
            await(appliance.shutdown());
        }
        await(vertx.close());
    }

    private static JsonObject config(String reclaimGrace) {
        return new JsonObject()
                .put("server", new JsonObject()
                        .put("id", "conformance")
                        .put("host", "127.0.0.1")
                        .put("port", 0)
                        .put("event_loops", 2)
                        .put("heartbeat_interval", "1s")
                        .put("lease_timeout", "3s")
                        .put("reclaim_grace", reclaimGrace)
                        .put("drain_timeout", "0s"))
                .put("clients", new JsonObject().put("min_version", "1.0.0"))
                .put("entitlements", new JsonArray()
                        .add(entitlement("ent-cad", PRODUCT, SEATS))
                        .add(entitlement("ent-other", "sim-suite", 2)));
    }

    private static JsonObject entitlement(String id, String product, int seats) {
        return new JsonObject()
                .put("entitlement_id", id)
                .put("tenant_id", "acme")
                .put("product_id", product)
                .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", seats).put("enforcement", "seats"))
                .put("starts_at", "2026-01-01T00:00:00Z")
                .put("ends_at", "2036-01-01T00:00:00Z");
    }

    private ConformanceResult runConformance(String reclaimGrace, StringBuilder transcript) throws Exception {
        appliance = await(Appliance.start(vertx, config(reclaimGrace)));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(new TeeStream(bytes, System.out), true, StandardCharsets.UTF_8);
        ConformanceOptions opts = new ConformanceOptions()
                .setProduct(PRODUCT)
                .setSeats(SEATS)
                .setClientVersion("1.0.0")
                .setSeatReturnTimeoutMs(30_000);
        ConformanceResult r = ConformanceRunner.run("127.0.0.1", appliance.tcpPort(), opts, out);
        transcript.append(bytes.toString(StandardCharsets.UTF_8));
        return r;
    }

    private static String failures(ConformanceResult r) {
        return r.failures().stream().map(c -> c.name() + ": " + c.detail()).collect(Collectors.joining("\n  ", "\n  ", ""));
    }

    @Test
    @DisplayName("with a reclaim grace, the appliance passes every conformance case and a killed client's lease is reclaimed")
    void appliance_with_reclaim_grace_passes_every_case() throws Exception {
        // GIVEN the appliance with 3 seats of cad-pro and a 2 s reclaim grace
        StringBuilder transcript = new StringBuilder();

        // WHEN the conformance runner runs every case against it
        ConformanceResult r = runConformance("2s", transcript);

        // THEN nothing failed, and the reclaim case saw the lease reclaimed
        assertEquals(0, r.failed(), () -> r.failed() + " case(s) failed:" + failures(r));
        assertTrue(r.passed() > 20, "cases run: " + r.passed());
        assertTrue(transcript.toString().contains("server has a reclaim grace"), transcript::toString);
    }

    @Test
    @DisplayName("without a reclaim grace, the appliance passes every conformance case and a killed client's lease is gone")
    void appliance_without_reclaim_grace_passes_every_case() throws Exception {
        // GIVEN the appliance with 3 seats of cad-pro and no reclaim grace
        StringBuilder transcript = new StringBuilder();

        // WHEN the conformance runner runs every case against it
        ConformanceResult r = runConformance("0s", transcript);

        // THEN nothing failed, and the reclaim case saw leaseIdNotFound
        assertEquals(0, r.failed(), () -> r.failed() + " case(s) failed:" + failures(r));
        assertTrue(transcript.toString().contains("server has no reclaim grace"), transcript::toString);
    }

    private static <T> T await(Future<T> f) throws Exception {
        return VertxAwait.result(f, Duration.ofSeconds(30));
    }

    /** Writes to the transcript and to the test's output (surefire keeps it in the report folder). */
    private static final class TeeStream extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        TeeStream(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws java.io.IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
