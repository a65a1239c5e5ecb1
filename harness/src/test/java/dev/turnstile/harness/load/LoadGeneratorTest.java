package dev.turnstile.harness.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.echo.EchoServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private Vertx serverVertx;
    private int port;

    @BeforeEach
    void start_an_echo_server() throws Exception {
        serverVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        port = new EchoServer("cad-pro").start(serverVertx, "127.0.0.1", 0)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop_the_echo_server() throws Exception {
        serverVertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("a rate-driven run starts cycles on its own schedule and records their latency")
    void rate_mode_drives_cycles_and_records_latency() throws Exception {
        // GIVEN a target of 200 round trips per second over three connections
        LoadOptions o = new LoadOptions().setHost("127.0.0.1").setPort(port).setEchoMode(true).setConnections(3)
                .setRate(200).setDuration(Duration.ofMillis(700)).setWarmup(Duration.ZERO).setEventLoops(1);

        // WHEN it runs
        LoadReport r = LoadGenerator.run(o, QUIET);

        // THEN cycles completed (no more than the schedule allows, with slack for the drain) and nothing failed
        assertEquals(3, r.connectionsReady());
        assertTrue(r.cycles() > 0, "cycles: " + r.cycles());
        assertTrue(r.cycles() < 1_000, "cycles bounded by the rate: " + r.cycles());
        assertEquals(0, r.errorCount(), () -> "errors: " + r.errors());
    }

    @Test
    @DisplayName("a hold-only run keeps every connection open for the duration and loses nothing")
    void hold_only_keeps_connections_open() throws Exception {
        // GIVEN ten connections that only hold and heartbeat
        LoadOptions o = new LoadOptions().setHost("127.0.0.1").setPort(port).setEchoMode(true).setConnections(10)
                .setHoldOnly(true).setDuration(Duration.ofMillis(500)).setWarmup(Duration.ZERO).setEventLoops(2);

        // WHEN it runs
        LoadReport r = LoadGenerator.run(o, QUIET);

        // THEN all ten were ready throughout, none closed early, no lease lost, no error
        assertEquals(10, r.connectionsReady());
        assertEquals(0, r.lostLeases());
        assertEquals(0, r.errorCount(), () -> "errors: " + r.errors());
        assertTrue(r.resultLine().contains(" closed_early=0 "));
    }

    @Tag("slow") // waits through several heartbeat intervals
    @Test
    @DisplayName("every connection heartbeats at the interval WELCOME announces")
    void connections_heartbeat_at_the_announced_interval() throws Exception {
        // GIVEN a server announcing a 100 ms heartbeat interval
        Vertx fast = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        try {
            int fastPort = new EchoServer("cad-pro", 100).start(fast, "127.0.0.1", 0)
                    .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            LoadOptions o = new LoadOptions().setHost("127.0.0.1").setPort(fastPort).setEchoMode(true).setConnections(5)
                    .setHoldOnly(true).setDuration(Duration.ofSeconds(1)).setWarmup(Duration.ZERO).setEventLoops(1);

            // WHEN five connections hold for a second
            LoadReport r = LoadGenerator.run(o, QUIET);

            // THEN each heartbeat about ten times in that second (half that, at least, on a loaded machine)
            assertEquals(5, r.connectionsReady());
            assertTrue(r.heartbeats() >= 25, "heartbeats: " + r.heartbeats());
        } finally {
            fast.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @DisplayName("connections to a port where nobody listens are counted as failed, and the run still ends")
    void connect_failures_are_counted() throws Exception {
        // GIVEN a port with no server behind it
        int closedPort = dev.turnstile.testsupport.Ports.closed();
        LoadOptions o = new LoadOptions().setHost("127.0.0.1").setPort(closedPort).setConnections(2).setFlatOut(true)
                .setDuration(Duration.ofMillis(100)).setWarmup(Duration.ZERO).setSetupTimeout(Duration.ofSeconds(10))
                .setEventLoops(1);

        // WHEN it runs
        LoadReport r = LoadGenerator.run(o, QUIET);

        // THEN both connections failed and the errors name why
        assertEquals(0, r.connectionsReady());
        assertEquals(2, r.connectionsFailed());
        assertTrue(r.errors().keySet().stream().anyMatch(k -> k.startsWith("connectFailed")), () -> "errors: " + r.errors());
    }

    @Test
    @DisplayName("options that name no mode, or two modes, are refused with the options to choose from")
    void options_need_exactly_one_mode() {
        // GIVEN options with no mode, then with two
        LoadOptions none = new LoadOptions().setPort(7878);
        LoadOptions two = new LoadOptions().setPort(7878).setFlatOut(true).setHoldOnly(true);

        // WHEN / THEN validation refuses both
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, none::validate);
        assertTrue(e.getMessage().contains("--rate"));
        assertThrows(IllegalArgumentException.class, two::validate);
        assertThrows(IllegalArgumentException.class, () -> new LoadOptions().setLeasesPerConnection(1025));
    }
}
