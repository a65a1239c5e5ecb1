package dev.turnstile.appliance.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.store.impl.Migrations;
import dev.turnstile.appliance.store.impl.PgPersistenceService;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Versioned migrations against a real PostgreSQL: a fresh database per test. */
class MigrationsTest {
    private Vertx vertx;
    private TestDatabase db;
    @TempDir
    Path spill;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        db = TestDatabase.create(vertx);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (db != null) {
            db.close();
        }
        TestDatabase.await(vertx.close());
    }

    private Pool pool() {
        return PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(db.url)).using(vertx).build();
    }

    @Test
    @DisplayName("GIVEN an empty database WHEN the appliance's migrations run THEN every table exists and each file is recorded once")
    void migrations_create_the_schema_on_an_empty_database_and_record_each_file() throws Exception {
        Migrations m = Migrations.fromClasspath(Migrations.DEFAULT_LOCATION);
        assertFalse(m.list().isEmpty(), "the appliance ships migrations");
        Pool pool = pool();
        try {
            assertEquals(m.list().size(), TestDatabase.await(m.apply(pool, 10_000)));
        } finally {
            TestDatabase.await(pool.close());
        }
        for (String table : List.of("entitlements", "leases", "usage_journal", "pool_snapshots")) {
            assertEquals(1, db.count("SELECT count(*) FROM information_schema.tables WHERE table_name = $1", table),
                    table);
        }
        List<Row> recorded = db.rows("SELECT version, file, checksum FROM schema_migrations ORDER BY version");
        assertEquals(m.list().size(), recorded.size());
        assertEquals("V1__initial_schema.sql", recorded.get(0).getString("file"));
        assertEquals(m.list().get(0).checksum(), recorded.get(0).getString("checksum"));
    }

    @Test
    @DisplayName("GIVEN a migrated database WHEN the migrations run again THEN nothing is applied and nothing changes")
    void running_the_migrations_twice_changes_nothing() throws Exception {
        Migrations m = Migrations.fromClasspath(Migrations.DEFAULT_LOCATION);
        Pool pool = pool();
        try {
            TestDatabase.await(m.apply(pool, 10_000));
            db.execute("INSERT INTO leases (lease_id, entitlement_id, product_id, session_id, client_id, hw_id, "
                    + "quantity, checked_out_at, last_heartbeat) VALUES (gen_random_uuid(), 'e', 'p', 1, 'c', 'h', 1, "
                    + "now(), now())");
            assertEquals(0, TestDatabase.await(m.apply(pool, 10_000)));
        } finally {
            TestDatabase.await(pool.close());
        }
        assertEquals(m.list().size(), db.count("SELECT count(*) FROM schema_migrations"));
        assertEquals(1, db.count("SELECT count(*) FROM leases"), "data survives a second run");

        // AND a whole store start on the migrated database applies nothing either
        PersistenceService s = TestDatabase.await(PersistenceService.start(vertx,
                StoreTestKit.storeSection(db.url, spill)));
        try {
            assertEquals(0, s.status().getInteger("migrations_applied"));
        } finally {
            TestDatabase.await(s.stop());
        }
    }

    @Test
    @DisplayName("GIVEN a migration that fails WHEN the store starts THEN the start fails naming the file and quoting Postgres, and the earlier file stays applied")
    void a_failing_migration_stops_the_start_with_the_file_name_and_postgres_message() throws Exception {
        StoreConfig config = StoreConfig.from(StoreTestKit.storeSection(db.url, spill), Map.of());
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> TestDatabase.await(PgPersistenceService.start(vertx, config,
                        Migrations.fromClasspath("db/test-migrations-failing"))));
        MigrationException me = assertInstanceOf(MigrationException.class, e.getCause());
        assertEquals("V2__broken.sql", me.file());
        assertTrue(me.getMessage().startsWith("migration V2__broken.sql failed: "), me.getMessage());
        assertTrue(me.getMessage().contains("relation \"no_such_table\" does not exist"), me.getMessage());
        assertTrue(me.getMessage().contains("42P01"), me.getMessage());
        assertEquals(1, db.count("SELECT count(*) FROM schema_migrations"));
        assertEquals(0, db.count("SELECT count(*) FROM schema_migrations WHERE file = 'V2__broken.sql'"));
        assertTrue(Files.exists(spill), "nothing else is left behind but the spill folder");
    }

    @Test
    @DisplayName("GIVEN an applied migration WHEN its file has been edited since THEN the start fails saying so")
    void an_applied_migration_that_was_edited_is_refused() throws Exception {
        Pool pool = pool();
        try {
            Migrations.fromClasspath("db/test-migrations-failing").list(); // loads
            Migrations first = Migrations.fromClasspath("db/test-migrations-changed");
            TestDatabase.await(first.apply(pool, 10_000));
            db.execute("UPDATE schema_migrations SET checksum = 'edited-elsewhere'");
            ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> TestDatabase.await(first.apply(pool, 10_000)));
            MigrationException me = assertInstanceOf(MigrationException.class, failed.getCause());
            assertEquals("V1__create_things.sql", me.file());
            assertTrue(me.getMessage().contains("changed after it was applied"), me.getMessage());
        } finally {
            TestDatabase.await(pool.close());
        }
    }
}
