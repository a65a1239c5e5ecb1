package dev.turnstile.appliance.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigLoader;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The store: section bound from YAML, its defaults, and its errors (no database needed). */
class StoreConfigTest {

    @Test
    @DisplayName("GIVEN the YAML fixture with every store key WHEN loaded and bound THEN each key lands in its field")
    void every_key_of_the_fixture_is_bound() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            String path = Path.of(getClass().getResource("/store/store.yaml").toURI()).toString();
            JsonObject tree = TestDatabase.await(ConfigLoader.load(vertx, path, Map.of("TEST_DB_PASSWORD", "s3cret")));
            StoreConfig c = StoreConfig.from(tree.getJsonObject("store"), Map.of());
            assertEquals("postgresql://turnstile:s3cret@db.plant.example:6543/licenses", c.url());
            assertEquals(250, c.flushIntervalMs());
            assertEquals(2_000, c.batchSize());
            assertEquals(80_000, c.queueCapacity());
            assertEquals(Path.of("/var/lib/turnstile/spill"), c.spillDir());
            assertEquals(StoreConfig.WriteMode.WRITE_THROUGH, c.writeMode());
            assertEquals(300_000, c.snapshotIntervalMs());
            assertEquals(4_000, c.connectTimeoutMs());
            assertEquals(20_000, c.writeTimeoutMs());
            assertEquals("postgresql://turnstile:***@db.plant.example:6543/licenses", c.describeTarget());
            assertFalse(c.toString().contains("s3cret"), c.toString());
        } finally {
            TestDatabase.await(vertx.close());
        }
    }

    @Test
    @DisplayName("GIVEN an empty store section and TURNSTILE_DB_PASSWORD WHEN bound THEN the defaults apply and the password comes from the environment")
    void defaults_and_the_password_from_the_environment() {
        StoreConfig c = StoreConfig.from(new JsonObject(), Map.of(StoreConfig.PASSWORD_ENV, "from-env"));
        assertNull(c.url());
        assertEquals(StoreConfig.DEFAULT_HOST, c.host());
        assertEquals(StoreConfig.DEFAULT_PORT, c.port());
        assertEquals(StoreConfig.DEFAULT_DATABASE, c.database());
        assertEquals(StoreConfig.DEFAULT_USER, c.user());
        assertEquals("from-env", c.password());
        assertEquals(StoreConfig.DEFAULT_FLUSH_INTERVAL_MS, c.flushIntervalMs());
        assertEquals(StoreConfig.DEFAULT_BATCH_SIZE, c.batchSize());
        assertEquals(StoreConfig.DEFAULT_QUEUE_CAPACITY, c.queueCapacity());
        assertEquals(StoreConfig.WriteMode.WRITE_BEHIND, c.writeMode());
        assertEquals("postgresql://turnstile@127.0.0.1:5432/turnstile", c.describeTarget());
        // a password in the file wins over the environment
        assertEquals("in-file", StoreConfig.from(new JsonObject().put("password", "in-file"),
                Map.of(StoreConfig.PASSWORD_ENV, "from-env")).password());
    }

    @Test
    @DisplayName("GIVEN bad values WHEN bound THEN one error lists every bad key with what was expected")
    void bad_values_are_reported_together_naming_their_keys() {
        ConfigException e = assertThrows(ConfigException.class, () -> StoreConfig.from(new JsonObject()
                .put("port", 70_000).put("batch_size", 0).put("queue_capacity", 10).put("flush_interval", "often")
                .put("write_mode", "eventually"), Map.of()));
        String m = e.getMessage();
        for (String key : new String[] {"store.port", "store.batch_size", "store.flush_interval", "store.write_mode"}) {
            assertTrue(m.contains(key), key + " in " + m);
        }
        assertTrue(m.contains("write_behind or write_through"), m);
    }

    @Test
    @DisplayName("GIVEN a queue smaller than a batch WHEN bound THEN the error says the queue must hold a batch")
    void the_queue_must_hold_at_least_one_batch() {
        ConfigException e = assertThrows(ConfigException.class, () -> StoreConfig.from(new JsonObject()
                .put("batch_size", 500).put("queue_capacity", 100), Map.of()));
        assertTrue(e.getMessage().contains("store.queue_capacity: expected at least store.batch_size (500)"),
                e.getMessage());
    }

    @Test
    @DisplayName("GIVEN URLs with secrets WHEN described for a log line THEN the password never shows")
    void descriptions_never_show_the_password() {
        assertEquals("postgresql://u:***@h:5432/d", StoreConfig.describeUrl("postgresql://u:pw@h:5432/d"));
        assertEquals("postgresql://h/d?user=u&password=***",
                StoreConfig.describeUrl("postgresql://h/d?user=u&password=pw"));
        assertEquals("postgresql://u@h/d", StoreConfig.describeUrl("postgresql://u@h/d"));
    }
}
