package dev.turnstile.harness.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.echo.EchoServer;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner against the echo baseline server: a peer that speaks the preamble and framing but
 * has no license logic, so some cases must pass and the licensing ones must fail, each with one
 * line, and the run must end.
 */
class ConformanceRunnerTest {
    private Vertx vertx;
    private int port;

    @BeforeEach
    void start_a_server_that_only_frames() throws Exception {
        vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        port = new EchoServer("cad-pro").start(vertx, "127.0.0.1", 0)
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static Path vectors(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("valid"));
        Files.createDirectories(dir.resolve("invalid"));
        // client-sent: unknown type, the echo server answers unknownMessageType and stays open
        Files.writeString(dir.resolve("invalid/040-unknown-type.hex"), "00000006 55 00 00000028");
        Files.writeString(dir.resolve("invalid/040-unknown-type.json"),
                "{\"sender\":\"client\",\"error\":\"unknownMessageType\",\"closes\":false,\"correlation_id\":40}");
        // client-sent: zero quantity, the echo server grants it anyway
        Files.writeString(dir.resolve("invalid/070-quantity-0.hex"),
                "0000002b 10 00 00000046 0007 6361642d70726f 0000 00000000 01 00 00000000"
                        + " 00000000000000000000000000000000");
        Files.writeString(dir.resolve("invalid/070-quantity-0.json"),
                "{\"sender\":\"client\",\"error\":\"invalidQuantity\",\"closes\":false,\"correlation_id\":70}");
        // server-sent: for client decoders only, never sent
        Files.writeString(dir.resolve("invalid/035-welcome-flags.hex"), "00000006 02 00 00000001");
        Files.writeString(dir.resolve("invalid/035-welcome-flags.json"),
                "{\"sender\":\"server\",\"error\":\"reservedBitsSet\",\"closes\":true,\"correlation_id\":1}");
        // client-sent but cut short: a stream server would wait for the rest, so it is not sent
        Files.writeString(dir.resolve("invalid/015-cut.hex"), "00000016 30 00 00000001 00");
        Files.writeString(dir.resolve("invalid/015-cut.json"),
                "{\"sender\":\"client\",\"error\":\"malformedFrame\",\"closes\":true,\"correlation_id\":1}");
        // valid keepalive heartbeat
        Files.writeString(dir.resolve("valid/040-keepalive.hex"), "00000008 20 00 00000009 0000");
        Files.writeString(dir.resolve("valid/040-keepalive.json"),
                "{\"sender\":\"client\",\"type\":\"HEARTBEAT\",\"correlation_id\":9,\"fields\":{\"lease_ids\":[]}}");
        return dir;
    }

    @Test
    @DisplayName("against a server without license logic, framing cases pass, licensing cases fail, one line each")
    void runner_reports_one_line_per_case_and_the_summary(@TempDir Path dir) throws IOException {
        // GIVEN the options of a 2-seat product and a small vectors folder
        ConformanceOptions opts = new ConformanceOptions().setSeats(2).setTimeoutMs(1_000).setSeatReturnTimeoutMs(1_000)
                .setVectorsDir(vectors(dir));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        // WHEN the runner runs
        ConformanceResult r = ConformanceRunner.run("127.0.0.1", port, opts, new PrintStream(bytes, true, StandardCharsets.UTF_8));

        // THEN every case has one PASS/FAIL line, the last line is the summary, and the counts agree
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        List<String> caseLines = lines.stream().filter(l -> l.startsWith("PASS ") || l.startsWith("FAIL ")).toList();
        assertEquals(r.passed() + r.failed(), caseLines.size());
        assertEquals(r.passed() + " passed, " + r.failed() + " failed", lines.get(lines.size() - 1));
        Map<String, Boolean> byName = r.cases().stream()
                .collect(Collectors.toMap(ConformanceResult.CaseOutcome::name, ConformanceResult.CaseOutcome::passed));
        // framing the echo server does right
        assertTrue(byName.get("preamble.v1_accepted"));
        assertTrue(byName.get("preamble.wrong_magic_closed_without_a_byte"));
        assertTrue(byName.get("preamble.no_common_version_selects_0_and_closes"));
        assertTrue(byName.get("robustness.unknown_message_type_keeps_connection"));
        assertTrue(byName.get("vector.invalid.040-unknown-type"));
        assertTrue(byName.get("vector.valid.040-keepalive"));
        // licensing it does not have
        assertFalse(byName.get("checkout.exhaustion_denied_no_seats_available"));
        assertFalse(byName.get("hello.second_hello_is_unexpected_and_closes"));
        assertFalse(byName.get("vector.invalid.070-quantity-0"));
        // server-sent and cut-short vectors are not cases; the cut-short one is named as not sent
        assertFalse(byName.containsKey("vector.invalid.035-welcome-flags"));
        assertFalse(byName.containsKey("vector.invalid.015-cut"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("# not sent: invalid/015-cut")));
        String reason = r.cases().stream().filter(c -> c.name().equals("hello.second_hello_is_unexpected_and_closes"))
                .map(ConformanceResult.CaseOutcome::detail).findFirst().orElseThrow();
        assertTrue(reason.contains("expected ERROR unexpectedMessage"), reason);
    }

    @Test
    @DisplayName("a vectors folder without vectors is a failed case, not a silent pass")
    void missing_vectors_fail_the_run(@TempDir Path dir) throws IOException {
        // GIVEN an empty vectors folder
        Files.createDirectories(dir.resolve("valid"));
        ConformanceOptions opts = new ConformanceOptions().setTimeoutMs(1_000).setSeatReturnTimeoutMs(1_000).setVectorsDir(dir);

        // WHEN the runner runs
        ConformanceResult r = ConformanceRunner.run("127.0.0.1", port, opts, new PrintStream(new ByteArrayOutputStream()));

        // THEN the vectors case failed and says why
        ConformanceResult.CaseOutcome loaded = r.cases().stream().collect(
                Collectors.toMap(ConformanceResult.CaseOutcome::name, Function.identity())).get("vectors.loaded");
        assertFalse(loaded.passed());
        assertTrue(loaded.detail().contains("no client-sent vectors"), loaded.detail());
    }

    @Test
    @DisplayName("the runner refuses to run on an event loop, where it would block")
    void runner_refuses_an_event_loop() throws Exception {
        // GIVEN code running on an event loop
        Promise<Throwable> thrown = Promise.promise();
        vertx.runOnContext(v -> {
            try {
                ConformanceRunner.run("127.0.0.1", port, new ConformanceOptions(), new PrintStream(new ByteArrayOutputStream()));
                thrown.complete(null);
            } catch (RuntimeException e) {
                thrown.complete(e);
            }
        });

        // WHEN / THEN it throws IllegalStateException at once
        Throwable t = thrown.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertTrue(t instanceof IllegalStateException, String.valueOf(t));
        assertThrows(IllegalArgumentException.class, () -> new ConformanceOptions().setSeats(0));
    }
}
