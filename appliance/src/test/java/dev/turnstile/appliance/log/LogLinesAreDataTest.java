package dev.turnstile.appliance.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.turnstile.appliance.testing.ApplianceProcess;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.testsupport.Ports;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Logs are data (issue 12, findings 6 and 7), seen where an admin sees them: the real appliance in a
 * child JVM with the shipped {@code logback.xml}, its standard output read back line by line. A
 * client sends a HELLO whose {@code client_id} holds a newline and a whole forged log line and whose
 * {@code hw_id} holds ANSI escapes, then checks out a product whose name holds a CR LF; the database
 * password sits in {@code store.url} and Postgres is not there. Each test runs the appliance in one
 * format: text (the default) and JSON ({@code TURNSTILE_LOG_FORMAT=json}).
 */
@Tag("slow") // an appliance process per test
class LogLinesAreDataTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** What the forged line claims: if it starts a line of its own, the forgery worked. */
    private static final String FORGED = "2026-12-07T10:00:00.000Z INFO  [vert.x-eventloop-thread-0] d.t.a.session.Session - "
            + "session 1 opened: client=admin";
    private static final String CLIENT_ID = "evil\n" + FORGED;
    private static final String HW_ID = "hw-\u001b[31mRED\u001b[0m-\u001b]0;pwned\u0007-\u009b2J-\u2028end";
    private static final String PRODUCT = "cad\r\nFORGED-PRODUCT-LINE";

    @Test
    @DisplayName("GIVEN the text log format WHEN a client's HELLO holds a newline with a forged log line and ANSI escapes "
            + "THEN each event is one line with the strings escaped, no control character reaches the output, and the "
            + "database password shows nowhere")
    void in_the_text_format_a_forged_client_id_and_ansi_escapes_stay_one_escaped_line(@TempDir Path dir) throws Exception {
        String password = "Pw/S3cret-text";
        try (Child app = Child.start(dir, null, password)) {
            app.forgeAndWait();
            List<String> lines = app.lines();
            // THEN no line is the forged one, nor starts with what the client sent after its newline
            for (String l : lines) {
                assertFalse(l.startsWith("2026-12-07T10:00:00.000Z"), "a forged line: " + l);
                assertFalse(l.startsWith("FORGED-PRODUCT-LINE"), "a forged line: " + l);
            }
            // AND the session's lines hold the strings escaped, whole, on one line
            String opened = only(lines, l -> l.contains("opened: client=evil"));
            assertTrue(opened.contains("client=evil\\n" + FORGED), opened);
            assertTrue(opened.contains("hw=hw-\\u001b[31mRED\\u001b[0m-\\u001b]0;pwned\\u0007-\\u009b2J-\\u2028end"), opened);
            String denied = only(lines, l -> l.contains("checkout denied") || l.contains("checkout refused"));
            assertTrue(denied.contains("cad\\r\\nFORGED-PRODUCT-LINE"), denied);
            assertNoControlCharacters(app.output());
            app.assertPasswordNowhere(password);
        }
    }

    @Test
    @DisplayName("GIVEN TURNSTILE_LOG_FORMAT=json WHEN the same client and the same store failure THEN every line of the "
            + "output is one JSON object whose message holds the strings escaped, and the password shows nowhere")
    void in_the_json_format_every_line_is_one_json_object_with_the_escaped_message(@TempDir Path dir) throws Exception {
        String password = "Pw@S3cret-json";
        try (Child app = Child.start(dir, "json", password)) {
            app.forgeAndWait();
            List<String> messages = new ArrayList<>();
            for (String l : app.lines()) {
                JsonObject o;
                try {
                    o = new JsonObject(l);
                } catch (RuntimeException e) {
                    throw new AssertionError("not one JSON object: " + l, e);
                }
                for (String field : List.of("timestamp", "level", "loggerName", "message")) {
                    assertTrue(o.containsKey(field), field + " missing: " + l);
                }
                messages.add(o.getString("message"));
            }
            // THEN the message, once decoded, still holds the client's strings as escapes: a SIEM shows one event
            String opened = only(messages, m -> m.contains("opened: client=evil"));
            assertTrue(opened.contains("client=evil\\n" + FORGED), opened);
            assertTrue(opened.contains("hw-\\u001b[31mRED"), opened);
            for (String m : messages) {
                for (char c : m.toCharArray()) {
                    assertFalse(LogText.needsEscape(c), "a raw control character U+" + Integer.toHexString(c) + " in " + m);
                }
            }
            assertNoControlCharacters(app.output());
            app.assertPasswordNowhere(password);
        }
    }

    private static String only(List<String> lines, Predicate<String> p) {
        List<String> hits = lines.stream().filter(p).toList();
        assertEquals(1, hits.size(), "expected one such line: " + hits);
        return hits.get(0);
    }

    /** Nothing but printable text, tabs of stack traces and the line ends between events. */
    private static void assertNoControlCharacters(String output) {
        for (int i = 0; i < output.length(); i++) {
            char c = output.charAt(i);
            if (c != '\n' && c != '\t' && LogText.needsEscape(c)) {
                int from = Math.max(0, i - 80);
                fail("a raw control character U+" + Integer.toHexString(c) + " in the output near: "
                        + LogText.escape(output.substring(from, Math.min(output.length(), i + 40))));
            }
        }
    }

    /** The appliance in a child JVM, its output in a file. */
    private static final class Child implements AutoCloseable {
        final ApplianceProcess process;
        final Path log;
        final String format;
        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        final int tcpPort;
        final int httpPort;

        private Child(ApplianceProcess process, Path log, String format) {
            this.process = process;
            this.log = log;
            this.format = format;
            this.tcpPort = process.clientPort();
            this.httpPort = process.httpPort();
        }

        static Child start(Path dir, String format, String password) throws Exception {
            int closedPort = Ports.closed(); // Postgres "is not there"
            Path config = dir.resolve("turnstile.yaml");
            Files.writeString(config, """
                    server:
                      id: "log-test"
                      host: "127.0.0.1"
                      port: 0
                      event_loops: 1
                      heartbeat_interval: "1s"
                      lease_timeout: "3s"
                      drain_timeout: "1s"
                    clients:
                      min_version: "1.0.0"
                    http:
                      enabled: true
                      host: "127.0.0.1"
                      port: 0
                      read_open: true
                    store:
                      url: "postgresql://turnstile:%s@127.0.0.1:%d/turnstile"
                      spill_dir: "%s"
                      connect_timeout: "1s"
                    entitlements:
                      - entitlement_id: "ent-cad"
                        tenant_id: "acme"
                        product_id: "cad-pro"
                        policy: { type: "concurrent", max_seats: 3, enforcement: "seats" }
                        starts_at: "2026-01-01T00:00:00Z"
                        ends_at: "2036-01-01T00:00:00Z"
                    """.formatted(password, closedPort, dir.resolve("spill")));
            Path log = dir.resolve("stdout.log");
            // port 0 for both listeners: the appliance's ports file says what it bound (ApplianceProcess waits for it)
            ApplianceProcess p = ApplianceProcess.start(config, log, List.of("-Xmx256m"), env -> {
                if (format != null) {
                    env.put("TURNSTILE_LOG_FORMAT", format);
                }
            });
            return new Child(p, log, format);
        }

        String output() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }

        List<String> lines() throws IOException {
            return output().lines().filter(l -> !l.isBlank()).toList();
        }

        /** The message of each line (the JSON "message" in the JSON format, the line itself in text). */
        List<String> messages() throws IOException {
            List<String> out = new ArrayList<>();
            for (String l : lines()) {
                if (format == null) {
                    out.add(l);
                } else {
                    try {
                        out.add(new JsonObject(l).getString("message", ""));
                    } catch (RuntimeException e) {
                        out.add(l);
                    }
                }
            }
            return out;
        }

        /** The forging client: HELLO, a checkout of the product with a CR LF, close; then waits for the lines. */
        void forgeAndWait() throws Exception {
            try (RawClient c = RawClient.session(tcpPort, CLIENT_ID, HW_ID)) {
                c.request(c.checkout(PRODUCT, 1));
            }
            await("the session's lines", () -> messages().stream().anyMatch(m -> m.contains("closed") && m.contains("client=evil")));
            // and the store's complaint about Postgres, in the log and in the status
            await("the store's error in /v1/status", () -> status().getJsonObject("store").getString("last_error") != null);
            await("the store's WARN", () -> messages().stream().anyMatch(m -> m.contains("store:") && m.contains("behind")));
        }

        JsonObject status() throws Exception {
            return new JsonObject(get("/v1/status"));
        }

        String get(String path) throws Exception {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                    .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return r.body();
        }

        /** THEN the password, and its distinctive part, are in neither the output nor any answer of the API. */
        void assertPasswordNowhere(String password) throws Exception {
            String secret = password.substring(password.indexOf("S3cret"));
            String out = output();
            assertFalse(out.contains(secret), "the password in the log:\n" + out);
            for (String path : List.of("/v1/status", "/health/ready", "/v1/pools", "/metrics")) {
                String body = get(path);
                assertFalse(body.contains(secret), "the password in " + path + ": " + body);
            }
            String err = status().getJsonObject("store").getString("last_error");
            assertTrue(err.contains("turnstile:***@") || err.contains("***"), "the redacted URL is still named: " + err);
        }

        private void await(String what, ThrowingBooleanSupplier ok) throws Exception {
            try {
                Wait.await(what, WAIT).until(() -> {
                    if (!process.process().isAlive()) {
                        fail("the appliance exited while waiting for " + what + ":\n" + output());
                    }
                    return ok.get();
                });
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                fail("not within " + WAIT + ": " + what + "\n" + output());
            }
        }

        @Override
        public void close() throws Exception {
            process.close();
        }
    }

    @FunctionalInterface
    private interface ThrowingBooleanSupplier {
        boolean get() throws Exception;
    }
}
