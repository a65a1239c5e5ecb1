package dev.turnstile.appliance.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.testsupport.Wait;
import dev.turnstile.protocol.Secrets;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, finding 1: a seat's holder proves ownership with its reclaim secret (protocol 1.1); the
 * identifiers the admin API shows, plus the shared client token, are never enough to take a lease.
 * Real appliance, real loopback sockets.
 */
class ReclaimOwnershipTest {
    private static final String CLIENT_TOKEN = "plant-shared-client-token";

    private Vertx vertx;
    private Appliance appliance;

    @AfterEach
    void stop() throws Exception {
        if (appliance != null) {
            appliance.shutdown().await(20, TimeUnit.SECONDS);
        }
        if (vertx != null) {
            vertx.close().await(20, TimeUnit.SECONDS);
        }
    }

    private void start(JsonObject config) throws Exception {
        vertx = Vertx.vertx();
        appliance = Appliance.start(vertx, config).await(20, TimeUnit.SECONDS);
    }

    /** The test appliance with a shared client token and the admin API's reads open (as they were by default). */
    private static JsonObject config() {
        JsonObject c = TestAppliances.config("own", 2);
        c.getJsonObject("clients").put("auth_token", CLIENT_TOKEN);
        // a loaded machine is slow to the first HELLO; leases must outlive the admin API's refresh without heartbeats
        c.getJsonObject("server").put("hello_timeout", "10s").put("lease_timeout", "60s").put("heartbeat_interval", "20s");
        c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                .put("read_open", true).put("live_interval", "200ms"));
        return c;
    }

    private RawClient session(String clientId, String hwId, int version) throws Exception {
        return RawClient.session(appliance.tcpPort(), clientId, hwId, version, CLIENT_TOKEN);
    }

    private String get(String path) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + appliance.httpPort() + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return r.body();
    }

    /** What anyone on the plant LAN reads from the admin API: the lease's id, client_id and hw_id. */
    private JsonObject publicLease(UUID id) throws Exception {
        // the lease list is a copy refreshed in the background: poll (bounded) until the lease is in it
        return Wait.forValue("GET /v1/leases lists the lease", Duration.ofSeconds(20), () -> listedLease(id),
                java.util.Objects::nonNull);
    }

    private JsonObject listedLease(UUID id) throws Exception {
        JsonArray items = new JsonObject(get("/v1/leases")).getJsonArray("leases");
        for (int i = 0; i < items.size(); i++) {
            if (id.toString().equals(items.getJsonObject(i).getString("lease_id"))) {
                return items.getJsonObject(i);
            }
        }
        return null;
    }

    @Test
    @DisplayName("GIVEN a live holder WHEN another connection reclaims its lease with every public value and the client token "
            + "THEN it is DENIED reclaimSecretMismatch and the holder's next heartbeat still renews")
    void a_takeover_with_every_public_value_is_denied_and_the_holder_keeps_its_seat() throws Exception {
        start(config());
        for (int holderVersion : new int[] {Preamble.VERSION_1, Preamble.VERSION_1_1}) {
            try (RawClient holder = session("press-7", "hw-press-7", holderVersion)) {
                Message.Granted g = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();

                // WHEN: an attacker reads the lease's public values and presents them from its own connection,
                // speaking 1.0 (no secret), or 1.1 with a zero or a guessed secret
                JsonObject seen = publicLease(g.leaseId());
                UUID leaseId = UUID.fromString(seen.getString("lease_id"));
                byte[][] tries = {null, new byte[Limits.RECLAIM_SECRET], Secrets.fresh()};
                for (byte[] guess : tries) {
                    int v = guess == null ? Preamble.VERSION_1 : Preamble.VERSION_1_1;
                    try (RawClient attacker = session(seen.getString("client_id"), seen.getString("hw_id"), v)) {
                        Message answer = attacker.request(attacker.reclaim("cad-pro", leaseId, guess)).message();

                        // THEN
                        Message.Denied d = assertInstanceOf(Message.Denied.class, answer, "the takeover must be refused");
                        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, d.errorCode());
                        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, assertInstanceOf(Message.Error.class,
                                attacker.request(attacker.checkin(leaseId, guess)).message()).errorCode(),
                                "nor can it check the live lease in (PROTOCOL.md 10.5)");
                    }
                    Message.HeartbeatResult hb = (Message.HeartbeatResult) holder.request(
                            new Message.Heartbeat(List.of(g.leaseId()))).message();
                    assertTrue(hb.results().get(0).ok(), "the holder keeps its seat: " + hb);
                }
                assertInstanceOf(Message.CheckedIn.class, holder.request(holder.checkin(g.leaseId(), null)).message());
            }
        }
    }

    @Test
    @DisplayName("GIVEN a 1.1 holder WHEN it reconnects (or its old socket is half-open) and reclaims with its secret "
            + "THEN GRANTED RECLAIMED with the same lease id and the same secret echoed")
    void the_real_holder_reclaims_after_a_reconnect_with_its_secret() throws Exception {
        JsonObject c = config();
        c.getJsonObject("server").put("reclaim_grace", "60s");
        start(c);
        RawClient first = session("press-7", "hw-press-7", Preamble.VERSION_1_1);
        Message.Granted g = (Message.Granted) first.request(first.checkout("cad-pro", 1)).message();
        byte[] secret = g.reclaimSecret();
        assertEquals(Limits.RECLAIM_SECRET, secret.length);
        assertFalse(Secrets.isZero(secret));

        // half-open: the first socket is still open
        try (RawClient second = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
            Message.Granted r = assertInstanceOf(Message.Granted.class,
                    second.request(second.reclaim("cad-pro", g.leaseId(), secret)).message());
            assertEquals(g.leaseId(), r.leaseId());
            assertTrue(r.reclaimed());
            assertArrayEquals(secret, r.reclaimSecret(), "a reclaim echoes the lease's secret");
        }
        first.close();
        // after the socket loss: a third connection
        try (RawClient third = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
            Message.Granted r = awaitGranted(third, g.leaseId(), secret);
            assertArrayEquals(secret, r.reclaimSecret());
            Message.HeartbeatResult hb = (Message.HeartbeatResult) third.request(
                    new Message.Heartbeat(List.of(g.leaseId()))).message();
            assertTrue(hb.results().get(0).ok(), hb.toString());
        }
    }

    /** The second connection's close reaches the ledger asynchronously: reclaim until the lease is ours (bounded). */
    private static Message.Granted awaitGranted(RawClient c, UUID leaseId, byte[] secret) {
        return (Message.Granted) Wait.forValue("the reclaim is granted", Duration.ofSeconds(20),
                () -> c.request(c.reclaim("cad-pro", leaseId, secret)).message(), m -> m instanceof Message.Granted);
    }

    @Test
    @DisplayName("GIVEN a 1.0 client WHEN it connects THEN it gets version 1 frames: GRANTED without a secret")
    void a_1_0_client_still_gets_version_1_frames() throws Exception {
        start(config());
        try (RawClient old = session("old", "hw-old", Preamble.VERSION_1)) {
            Message.Granted g = (Message.Granted) old.request(old.checkout("cad-pro", 1)).message();
            assertEquals(null, g.reclaimSecret(), "a version 1 GRANTED has no secret field");
            assertInstanceOf(Message.CheckedIn.class, old.request(new Message.Checkin(g.leaseId())).message());
        }
    }

    /** A 1.0 holder's orphaned lease, then a reclaim by the same identity over 1.0 and over 1.1. */
    private Message[] legacyReclaims(String mode) throws Exception {
        JsonObject c = config();
        c.getJsonObject("server").put("reclaim_grace", "60s").put("legacy_reclaim", mode);
        start(c);
        Message[] out = new Message[3];
        try (RawClient live = session("lathe-1", "hw-lathe-1", Preamble.VERSION_1);
             RawClient other = session("lathe-1", "hw-lathe-1", Preamble.VERSION_1)) {
            Message.Granted g = (Message.Granted) live.request(live.checkout("cad-pro", 1)).message();
            out[0] = other.request(other.reclaim("cad-pro", g.leaseId())).message(); // from a live holder
        }
        try (RawClient holder = session("press-7", "hw-press-7", Preamble.VERSION_1)) {
            Message.Granted g = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();
            holder.close();
            awaitOrphaned(g.leaseId());
            try (RawClient v1 = session("press-7", "hw-press-7", Preamble.VERSION_1)) {
                out[1] = v1.request(v1.reclaim("cad-pro", g.leaseId())).message();
            }
            awaitOrphaned(g.leaseId());
            try (RawClient v2 = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
                out[2] = v2.request(v2.reclaim("cad-pro", g.leaseId(), null)).message();
            }
        }
        return out;
    }

    private void awaitOrphaned(UUID leaseId) {
        Wait.until("lease " + leaseId + " becomes orphaned", Duration.ofSeconds(20),
                () -> appliance.ledger().lease(leaseId).map(l -> l.state() == LeaseState.ORPHANED).orElse(false));
    }

    @Test
    @DisplayName("legacy_reclaim: refuse (default) denies every reclaim of a 1.0 lease")
    void legacy_reclaim_refuse_denies_every_reclaim_of_a_1_0_lease() throws Exception {
        Message[] r = legacyReclaims("refuse");
        for (Message m : r) {
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class, m).errorCode());
        }
    }

    @Test
    @DisplayName("legacy_reclaim: orphaned allows the same identity to reclaim an orphaned 1.0 lease, never a live one")
    void legacy_reclaim_orphaned_allows_only_orphaned_leases() throws Exception {
        Message[] r = legacyReclaims("orphaned");
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class, r[0]).errorCode());
        assertTrue(assertInstanceOf(Message.Granted.class, r[1]).reclaimed());
        Message.Granted v2 = assertInstanceOf(Message.Granted.class, r[2]);
        assertFalse(Secrets.isZero(v2.reclaimSecret()), "a 1.1 reclaim of a 1.0 lease gets a fresh secret");
    }

    @Test
    @DisplayName("legacy_reclaim: identity keeps the 1.0 rules, even against a live holder")
    void legacy_reclaim_identity_keeps_the_1_0_rules() throws Exception {
        Message[] r = legacyReclaims("identity");
        for (Message m : r) {
            assertTrue(assertInstanceOf(Message.Granted.class, m).reclaimed());
        }
        JsonObject status = new JsonObject(get("/v1/status"));
        assertEquals("identity", status.getString("legacy_reclaim"));
        assertTrue(status.getJsonArray("warnings").stream().anyMatch(w -> "legacyReclaimIdentity".equals(
                ((JsonObject) w).getString("code"))), "the status (and so the page) warns: " + status.getJsonArray("warnings"));
    }

    @Test
    @DisplayName("GIVEN legacy_reclaim orphaned or identity WHEN the appliance starts THEN it warns; refuse does not")
    void the_weaker_legacy_reclaim_modes_are_warned_at_start() throws Exception {
        for (String mode : new String[] {"refuse", "orphaned", "identity"}) {
            ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                    Appliance.class);
            List<String> warnings = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            ch.qos.logback.core.AppenderBase<ch.qos.logback.classic.spi.ILoggingEvent> capture =
                    new ch.qos.logback.core.AppenderBase<>() {
                        @Override
                        protected void append(ch.qos.logback.classic.spi.ILoggingEvent e) {
                            if (e.getLevel() == ch.qos.logback.classic.Level.WARN) {
                                warnings.add(e.getFormattedMessage());
                            }
                        }
                    };
            capture.start();
            log.addAppender(capture);
            try {
                JsonObject c = config();
                c.getJsonObject("server").put("legacy_reclaim", mode);
                start(c);
            } finally {
                log.detachAppender(capture);
            }
            boolean warned = warnings.stream().anyMatch(w -> w.contains("server.legacy_reclaim is " + mode));
            assertEquals(!mode.equals("refuse"), warned, mode + ": " + warnings);
            stop();
            appliance = null;
            vertx = null;
        }
    }

    @Test
    @DisplayName("GIVEN a 1.1 lease and any legacy_reclaim WHEN a 1.0 client reclaims it with its identifiers THEN DENIED")
    void a_lease_with_a_secret_always_needs_it() throws Exception {
        JsonObject c = config();
        c.getJsonObject("server").put("reclaim_grace", "60s").put("legacy_reclaim", "identity");
        start(c);
        try (RawClient holder = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
            Message.Granted g = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();
            holder.close();
            awaitOrphaned(g.leaseId());
            try (RawClient v1 = session("press-7", "hw-press-7", Preamble.VERSION_1)) {
                assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class,
                        v1.request(v1.reclaim("cad-pro", g.leaseId())).message()).errorCode());
                assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Error.class,
                        v1.request(new Message.Checkin(g.leaseId())).message()).errorCode());
            }
            try (RawClient v2 = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
                assertInstanceOf(Message.CheckedIn.class,
                        v2.request(v2.checkin(g.leaseId(), g.reclaimSecret())).message(),
                        "an orphan CHECKIN with the secret ends the lease");
            }
        }
    }

    @Test
    @DisplayName("GIVEN a 1.1 lease reclaimed WHEN the admin API, the status and the log are read THEN neither the secret "
            + "nor its hash appears")
    void the_secret_is_not_in_the_admin_api_the_status_or_the_log_of_a_reclaim() throws Exception {
        JsonObject c = config();
        c.getJsonObject("server").put("reclaim_grace", "60s");
        start(c);
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.classic.Level was = root.getLevel();
        List<String> log = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        ch.qos.logback.core.AppenderBase<ch.qos.logback.classic.spi.ILoggingEvent> capture =
                new ch.qos.logback.core.AppenderBase<>() {
                    @Override
                    protected void append(ch.qos.logback.classic.spi.ILoggingEvent e) {
                        log.add(e.getFormattedMessage() + (e.getThrowableProxy() == null ? ""
                                : " " + e.getThrowableProxy().getMessage()));
                    }
                };
        capture.start();
        root.addAppender(capture);
        root.setLevel(ch.qos.logback.classic.Level.DEBUG); // every level an admin could turn on
        byte[] secret;
        UUID leaseId;
        try {
            RawClient holder = session("press-7", "hw-press-7", Preamble.VERSION_1_1);
            Message.Granted g = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();
            secret = g.reclaimSecret();
            leaseId = g.leaseId();
            holder.close();
            try (RawClient again = session("press-7", "hw-press-7", Preamble.VERSION_1_1)) {
                assertInstanceOf(Message.Granted.class, awaitGranted(again, leaseId, secret));
                again.request(again.reclaim("cad-pro", leaseId, Secrets.fresh())); // a wrong one, logged as denied
                publicLease(leaseId);
                String[] bodies = {get("/v1/leases"), get("/v1/leases/" + leaseId), get("/v1/status"), get("/metrics")};
                List<String> forms = secretForms(secret);
                for (String body : bodies) {
                    for (String f : forms) {
                        assertFalse(body.contains(f), "the admin API shows the secret or its hash: " + body);
                    }
                }
            }
        } finally {
            root.detachAppender(capture);
            root.setLevel(was);
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("reclaimed")), "the reclaim was logged: " + log);
        List<String> forms = secretForms(secret);
        for (String line : List.copyOf(log)) {
            for (String f : forms) {
                assertFalse(line.contains(f), "a log line shows the secret or its hash: " + line);
            }
        }
    }

    /** The secret and its SHA-256 as hex (both cases) and base64: any way a careless line could print them. */
    private static List<String> secretForms(byte[] secret) {
        byte[] hash = SecretHash.of(secret).bytes();
        List<String> out = new java.util.ArrayList<>();
        for (byte[] b : new byte[][] {secret, hash}) {
            out.add(HexFormat.of().formatHex(b));
            out.add(HexFormat.of().withUpperCase().formatHex(b));
            out.add(java.util.Base64.getEncoder().encodeToString(b));
            out.add(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b));
            out.add(java.util.Arrays.toString(b));
        }
        return out;
    }
}
