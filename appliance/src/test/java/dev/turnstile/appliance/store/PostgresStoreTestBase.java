package dev.turnstile.appliance.store;

import io.vertx.core.Vertx;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture every store test against the real PostgreSQL shares: a Vert.x instance, a fresh
 * database of its own (dropped afterwards), a spill folder, and the store under test, which is
 * stopped (so it writes what it holds) before the database goes.
 */
abstract class PostgresStoreTestBase {
    protected Vertx vertx;
    protected TestDatabase db;
    protected PersistenceService store;
    @TempDir
    protected Path spill;

    @BeforeEach
    void createDatabase() throws Exception {
        vertx = Vertx.vertx();
        db = TestDatabase.create(vertx);
    }

    @AfterEach
    void dropDatabase() throws Exception {
        if (store != null) {
            TestDatabase.await(store.stop());
        }
        if (db != null) {
            db.resetPool(); // a test may have restarted Postgres under the pool
            db.close();
        }
        TestDatabase.await(vertx.close());
    }
}
