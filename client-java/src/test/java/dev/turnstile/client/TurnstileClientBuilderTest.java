package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.impl.ClientConfig;
import dev.turnstile.client.impl.ServerAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TurnstileClientBuilderTest {
    @TempDir
    Path dir;

    private static Properties minimal() {
        Properties p = new Properties();
        p.setProperty("servers", "127.0.0.1:7070");
        p.setProperty("client_id", "cad-station");
        p.setProperty("hw_id", "hw-1");
        return p;
    }

    @Test
    void token_automatic_invalidation_is_enabled_unless_the_key_says_otherwise() {
        // GIVEN properties without the key; WHEN built; THEN automatic invalidation is on
        assertFalse(TurnstileClient.builder().fromProperties(minimal()).config().tokenAutomaticInvalidationDisabled());
        // GIVEN the key set to true (any case, with spaces); THEN it is off
        Properties p = minimal();
        p.setProperty("token_automatic_invalidation_disabled", " TRUE ");
        assertTrue(TurnstileClient.builder().fromProperties(p).config().tokenAutomaticInvalidationDisabled());
        p.setProperty("token_automatic_invalidation_disabled", "false");
        assertFalse(TurnstileClient.builder().fromProperties(p).config().tokenAutomaticInvalidationDisabled());
    }

    @Test
    void a_bad_boolean_is_refused_with_a_message_naming_the_key() {
        // GIVEN a value that is neither true nor false
        Properties p = minimal();
        p.setProperty("token_automatic_invalidation_disabled", "yes");
        // WHEN applied; THEN the error names the key and the value
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TurnstileClient.builder().fromProperties(p));
        assertTrue(e.getMessage().contains("token_automatic_invalidation_disabled"), e.getMessage());
        assertTrue(e.getMessage().contains("yes"), e.getMessage());
    }

    @Test
    void every_key_is_read_from_properties() {
        // GIVEN every key the builder knows, plus one of the application's own
        Properties p = new Properties();
        p.setProperty("servers", " a.example:7070 , 10.0.0.2:7071,[::1]:7072 ");
        p.setProperty("client_id", "cad-station-12");
        p.setProperty("hw_id", "00:1b:21:3a:4f:10");
        p.setProperty("client_version", "4.2.0");
        p.setProperty("auth_token", "s3cret");
        p.setProperty("connect_timeout", "750ms");
        p.setProperty("request_timeout", "20s");
        p.setProperty("backoff_initial", "100ms");
        p.setProperty("backoff_max", "2m");
        p.setProperty("backoff_jitter", "0.5");
        p.setProperty("token_automatic_invalidation_disabled", "true");
        p.setProperty("reclaim_stored_tokens", "false");
        p.setProperty("token_file", dir.resolve("tokens.properties").toString());
        p.setProperty("my_app_setting", "ignored");
        // WHEN built
        ClientConfig c = TurnstileClient.builder().fromProperties(p).config();
        // THEN each setting holds the value of its key
        assertEquals(List.of(new ServerAddress("a.example", 7070), new ServerAddress("10.0.0.2", 7071),
                new ServerAddress("::1", 7072)), c.servers());
        assertEquals("cad-station-12", c.clientId());
        assertEquals("00:1b:21:3a:4f:10", c.hwId());
        assertEquals("4.2.0", c.clientVersion());
        assertEquals("s3cret", c.authToken());
        assertEquals(Duration.ofMillis(750), c.connectTimeout());
        assertEquals(Duration.ofSeconds(20), c.requestTimeout());
        assertEquals(Duration.ofMillis(100), c.backoffInitial());
        assertEquals(Duration.ofMinutes(2), c.backoffMax());
        assertEquals(0.5, c.backoffJitter());
        assertTrue(c.tokenAutomaticInvalidationDisabled());
        assertFalse(c.reclaimStoredTokens());
        assertInstanceOf(FileTokenManager.class, c.tokenManager());
        assertEquals(dir.resolve("tokens.properties").toAbsolutePath(), ((FileTokenManager) c.tokenManager()).file());
    }

    @Test
    void a_map_works_like_properties_and_defaults_fill_the_rest() {
        // GIVEN a map with the required keys only (a non-string value among them)
        Map<String, Object> m = Map.of("servers", "h:1", "client_id", "c", "hw_id", "h", "backoff_jitter", 0.1);
        // WHEN built
        ClientConfig c = TurnstileClient.builder().fromProperties(m).config();
        // THEN the defaults apply
        assertEquals(TurnstileClientBuilder.DEFAULT_CONNECT_TIMEOUT, c.connectTimeout());
        assertEquals(TurnstileClientBuilder.DEFAULT_REQUEST_TIMEOUT, c.requestTimeout());
        assertEquals(0.1, c.backoffJitter());
        assertEquals("", c.clientVersion());
        assertTrue(c.reclaimStoredTokens());
        assertInstanceOf(InMemoryTokenManager.class, c.tokenManager());
        assertSame(DefaultTokenInvalidationHandler.INSTANCE, c.tokenInvalidationHandler());
    }

    @Test
    void missing_or_wrong_settings_are_refused_naming_the_setting() {
        // GIVEN configurations each missing or breaking one setting; THEN build() names that setting
        assertMessage("servers", TurnstileClient.builder().clientId("c").hwId("h"));
        assertMessage("client_id", TurnstileClient.builder().servers("h:1").hwId("h"));
        assertMessage("hw_id", TurnstileClient.builder().servers("h:1").clientId("c"));
        assertMessage("servers", TurnstileClient.builder().servers("nohostport").clientId("c").hwId("h"));
        assertMessage("servers", TurnstileClient.builder().servers("h:99999").clientId("c").hwId("h"));
        assertMessage("client_id", TurnstileClient.builder().servers("h:1").clientId("x".repeat(129)).hwId("h"));
        assertMessage("connect_timeout", TurnstileClient.builder().servers("h:1").clientId("c").hwId("h")
                .connectTimeout(Duration.ZERO));
        assertMessage("backoff_max", TurnstileClient.builder().servers("h:1").clientId("c").hwId("h")
                .backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 0.1));
        assertMessage("backoff_jitter", TurnstileClient.builder().servers("h:1").clientId("c").hwId("h")
                .backoff(Duration.ofSeconds(1), Duration.ofSeconds(2), 1.5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TurnstileClient.builder().fromProperties(Map.of("request_timeout", "soon")));
        assertTrue(e.getMessage().startsWith("request_timeout"), e.getMessage());
    }

    private static void assertMessage(String key, TurnstileClientBuilder b) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::config);
        assertTrue(e.getMessage().startsWith(key + ":"), e.getMessage());
    }

    @Test
    void the_auth_token_never_appears_in_the_text_of_the_settings() {
        // GIVEN a builder with a secret; WHEN printed; THEN the secret is not there
        TurnstileClientBuilder b = TurnstileClient.builder().fromProperties(minimal()).authToken("hunter2");
        assertFalse(b.toString().contains("hunter2"));
        assertFalse(b.config().toString().contains("hunter2"));
    }

    @Test
    void a_checkout_request_refuses_what_the_protocol_would_refuse() {
        // GIVEN requests outside the protocol's limits; THEN they are refused before anything is sent
        assertThrows(IllegalArgumentException.class, () -> CheckoutRequest.of(""));
        assertThrows(IllegalArgumentException.class, () -> CheckoutRequest.of("p").withQuantity(0));
        assertThrows(IllegalArgumentException.class, () -> CheckoutRequest.of("p").withQuantity(10_001));
        assertThrows(IllegalArgumentException.class, () -> CheckoutRequest.of("p").withQuantity(2)
                .withEnforcement(dev.turnstile.protocol.Enforcement.CHECKOUTS));
        assertThrows(IllegalArgumentException.class, () -> CheckoutRequest.of("p").withLicenseKey("k".repeat(257)));
        CheckoutRequest r = CheckoutRequest.of("p").withQuantity(3).waitingInQueue(Duration.ofSeconds(30));
        assertTrue(r.waitInQueue());
        assertEquals(3, r.quantity());
        assertEquals(Duration.ofSeconds(30), r.waitTimeout());
    }
}
