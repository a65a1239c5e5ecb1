package dev.turnstile.appliance.log;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.testsupport.Ports;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Secrets never leave through an error text (issue 12, finding 7): with the database password in
 * {@code store.url} (plain, with a '/' or an '@' that breaks the URL, in the query string) and
 * PostgreSQL unreachable or refusing the password, and with a cloud URL carrying credentials that
 * cannot be reached, the password shows neither in {@code /v1/status} (readable without a token
 * here), the sync API, nor any line the appliance logs: not in the raw messages of its own loggers
 * (redacted where the text is made) and not in what the encoder writes for any logger.
 */
class SecretsStayOutOfErrorTextsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Tag("slow") // a store that fails to connect, retried (about 10 s)
    @Test
    @DisplayName("GIVEN the database password in store.url, in every form, and Postgres unreachable or refusing WHEN the "
            + "store fails THEN the password is in neither /v1/status, the health check, nor any log line")
    void the_database_password_shows_in_no_status_and_no_log_line(@TempDir Path dir) throws Exception {
        int closed = closedPort();
        List<String[]> cases = new ArrayList<>(List.of(
                new String[] {"S3cretA", "postgresql://turnstile:S3cretA@127.0.0.1:" + closed + "/t"},
                new String[] {"S3cretB", "postgresql://turnstile:Pw/S3cretB@127.0.0.1:" + closed + "/t"},
                new String[] {"S3cretC", "postgresql://turnstile:Pw@S3cretC@127.0.0.1:" + closed + "/t"},
                new String[] {"S3cretD", "postgresql://127.0.0.1:" + closed + "/t?user=turnstile&password=S3cretD&sslmode=disable"},
                new String[] {"S3cretE", "jdbc:postgresql://turnstile:S3cretE#x?y@127.0.0.1:" + closed + "/t"}));
        String pg = System.getenv("TURNSTILE_TEST_PG_URL");
        if (pg != null && !pg.isBlank()) {
            URI u = URI.create(pg);
            // a running Postgres that refuses the password
            cases.add(new String[] {"S3cretF", "postgresql://" + u.getUserInfo().split(":")[0] + ":Wr0ng-S3cretF@" + u.getHost()
                    + ":" + u.getPort() + u.getPath()});
        }
        Vertx vertx = Vertx.vertx();
        try (Capture log = new Capture()) {
            for (int i = 0; i < cases.size(); i++) {
                String[] c = cases.get(i);
                String secret = c[0];
                JsonObject config = TestAppliances.config("secrets-" + i, 2);
                config.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                        .put("read_open", true));
                config.put("store", new JsonObject().put("url", c[1]).put("spill_dir", dir.resolve("spill-" + i).toString())
                        .put("connect_timeout", "1s"));
                Appliance a = Appliance.start(vertx, config).await(30, TimeUnit.SECONDS);
                try {
                    String base = "http://127.0.0.1:" + a.httpPort();
                    await("store.last_error for " + secret, () -> a.storeStatus().getString("last_error") != null);
                    await("a store line in the log for " + secret, () -> log.events.stream()
                            .anyMatch(e -> e.getLoggerName().contains("store") && e.getFormattedMessage().contains("postgresql://")));
                    String status = get(base + "/v1/status");
                    JsonObject store = new JsonObject(status).getJsonObject("store");
                    assertNotNull(store.getString("last_error"), status);
                    assertTrue(store.getString("last_error").contains("***") || store.getString("last_error").contains("SQLSTATE"),
                            "the error still says which database: " + store.getString("last_error"));
                    assertFalse(status.contains(secret), c[1] + " -> /v1/status: " + status);
                    assertFalse(get(base + "/health/ready").contains(secret), "/health/ready");
                } finally {
                    a.shutdown().await(30, TimeUnit.SECONDS);
                }
                log.assertNowhere(secret, c[1]);
            }
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @DisplayName("GIVEN a cloud URL with user-info and a token in its query, unreachable WHEN a sync fails THEN neither the "
            + "sync status, the audit, nor the log shows them")
    void the_cloud_credentials_show_in_no_sync_status_and_no_log_line() throws Exception {
        int closed = closedPort();
        try (SyncFixture f = new SyncFixture("secrets-sync", Instant.parse("2027-03-01T00:00:00Z"));
             Capture log = new Capture()) {
            JsonObject c = f.config();
            c.getJsonObject("sync").put("cloud_server_url", "http://vendor:S3cretG@127.0.0.1:" + closed + "/?access_token=S3cretH");
            f.start(c);
            f.syncNow();
            String status = f.syncStatus().encode();
            String audit = f.get("/v1/sync/audit").encode();
            for (String secret : List.of("S3cretG", "S3cretH")) {
                assertFalse(status.contains(secret), "/v1/sync/status: " + status);
                assertFalse(audit.contains(secret), "/v1/sync/audit: " + audit);
                assertFalse(get("http://127.0.0.1:" + f.appliance.httpPort() + "/v1/status").contains(secret), "/v1/status");
                log.assertNowhere(secret, "the cloud URL");
            }
        }
    }

    private static int closedPort() {
        return Ports.closed(); // nothing listens there
    }

    private String get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static void await(String what, BooleanSupplier ok) {
        Wait.until(what, WAIT, ok);
    }

    /** Every event of every logger, and the same events as the shipped encoder writes them, text and JSON. */
    static final class Capture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
        final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();
        private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        private final SafeEncoder text = new SafeEncoder();
        private final SafeEncoder json = new SafeEncoder();

        Capture() {
            LoggerContext ctx = root.getLoggerContext();
            setContext(ctx);
            text.setContext(ctx);
            text.start();
            json.setContext(ctx);
            json.setFormat("json");
            json.start();
            start();
            root.addAppender(this);
        }

        @Override
        protected void append(ILoggingEvent e) {
            e.prepareForDeferredProcessing();
            events.add(e);
        }

        /** THEN: not in the raw messages of the appliance's loggers, not in any encoded line. */
        void assertNowhere(String secret, String what) {
            for (ILoggingEvent e : events) {
                String raw = e.getFormattedMessage() + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getMessage());
                if (e.getLoggerName().startsWith("dev.turnstile")) {
                    assertFalse(raw.contains(secret), what + ": the appliance's own message holds the secret: " + raw);
                }
                for (SafeEncoder enc : List.of(text, json)) {
                    String line = new String(enc.encode(e), StandardCharsets.UTF_8);
                    assertFalse(line.contains(secret), what + ": the " + enc.getFormat() + " log line holds the secret: " + line);
                }
            }
        }

        @Override
        public void close() {
            root.detachAppender(this);
            stop();
        }
    }
}
