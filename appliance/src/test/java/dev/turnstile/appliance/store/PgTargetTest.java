package dev.turnstile.appliance.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.PgSyncStore;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code store.url} is parsed in one place ({@link PgTarget}), for the store and for the sync state store. */
class PgTargetTest {
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        TestDatabase.await(vertx.close());
    }

    private static StoreConfig config(JsonObject store, Map<String, String> env) {
        return StoreConfig.from(store, env);
    }

    @Test
    @DisplayName("GIVEN a store.url that does not parse WHEN the store and the sync state store read it THEN both refuse it in the same words, naming store.url, never the password")
    void a_url_that_does_not_parse_is_refused_in_the_same_words_by_the_store_and_the_sync() {
        StoreConfig c = config(new JsonObject().put("url", "postgresql://turnstile:S3cret@127.0.0.1:notaport/db"),
                Map.of());
        PgTarget t = PgTarget.of(c);
        assertFalse(t.usable());
        assertNull(t.options());
        assertTrue(t.problem().startsWith("store.url "), t.problem());
        assertTrue(t.problem().contains("does not parse"), t.problem());
        assertTrue(t.problem().endsWith("(expected postgresql://user:password@host:port/database)"), t.problem());
        assertFalse(t.problem().contains("S3cret"), t.problem());
        IllegalArgumentException sync = assertThrows(IllegalArgumentException.class, () -> new PgSyncStore(vertx, c));
        assertEquals(t.problem(), sync.getMessage());
    }

    @Test
    @DisplayName("GIVEN a URL without a password and TURNSTILE_DB_PASSWORD set WHEN it is parsed THEN the password comes from the environment; a password inside the URL wins")
    void the_password_comes_from_the_environment_unless_the_url_has_one() {
        PgConnectOptions o = PgTarget.of(config(new JsonObject().put("url", "jdbc:postgresql://ts@db.plant:6543/site"),
                Map.of(StoreConfig.PASSWORD_ENV, "from-env"))).options();
        assertEquals("db.plant", o.getHost());
        assertEquals(6543, o.getPort());
        assertEquals("site", o.getDatabase());
        assertEquals("ts", o.getUser());
        assertEquals("from-env", o.getPassword());
        assertTrue(o.getCachePreparedStatements(), "the store's statements are prepared once per connection");
        assertEquals(0, o.getReconnectAttempts(), "the store reconnects itself, with backoff");

        PgConnectOptions inUrl = PgTarget.of(config(new JsonObject().put("url", "postgresql://ts:in-url@db.plant/site"),
                Map.of(StoreConfig.PASSWORD_ENV, "from-env"))).options();
        assertEquals("in-url", inUrl.getPassword());

        PgConnectOptions keys = PgTarget.of(config(new JsonObject().put("host", "10.0.0.5").put("database", "t"),
                Map.of(StoreConfig.PASSWORD_ENV, "pw"))).options();
        assertEquals("10.0.0.5", keys.getHost());
        assertEquals(StoreConfig.DEFAULT_PORT, keys.getPort());
        assertEquals("pw", keys.getPassword());
        assertFalse(PgTarget.of(config(new JsonObject().put("url", "postgresql://ts:in-url@db.plant/site"), Map.of()))
                .toString().contains("in-url"), "toString never shows the password");
    }
}
