package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.testsupport.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway PostgreSQL database for the sync's Postgres tests, on the test PostgreSQL of
 * {@link TestPostgres#adminUrl()}: the server named by {@value #URL_ENV} (an admin URL whose role may CREATE DATABASE;
 * {@code eval "$(scripts/local-postgres.sh)"} sets it on this machine), else a Testcontainers PostgreSQL where Docker
 * runs, else a failure saying what to run. Each test makes its own database and drops it, so runs never share rows.
 */
public final class SyncTestPostgres implements AutoCloseable {
    public static final String URL_ENV = TestPostgres.URL_ENV;

    private final Vertx vertx;
    private final String adminUrl;
    public final String database;
    public final String url;

    private SyncTestPostgres(Vertx vertx, String adminUrl, String database) {
        this.vertx = vertx;
        this.adminUrl = adminUrl;
        this.database = database;
        this.url = TestPostgres.withDatabase(adminUrl, database);
    }

    public static SyncTestPostgres create(Vertx vertx) throws Exception {
        String admin = TestPostgres.adminUrl(); // the environment, else Testcontainers, else a failure that says why
        String name = "turnstile_sync_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(admin.trim())).using(vertx).build();
        try {
            pool.query("CREATE DATABASE " + name).execute().await(30, TimeUnit.SECONDS);
        } finally {
            pool.close().await(10, TimeUnit.SECONDS);
        }
        return new SyncTestPostgres(vertx, admin.trim(), name);
    }

    /** The appliance's {@code store:} section for this database. */
    public JsonObject storeSection() {
        return new JsonObject().put("url", url).put("spill_dir", System.getProperty("java.io.tmpdir") + "/spill-" + database);
    }

    public StoreConfig storeConfig() {
        return StoreConfig.from(storeSection(), Map.of());
    }

    public Pool pool() {
        return PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(url)).using(vertx).build();
    }

    @Override
    public void close() throws Exception {
        Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(adminUrl)).using(vertx).build();
        try {
            pool.query("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)").execute().await(30, TimeUnit.SECONDS);
        } finally {
            pool.close().await(10, TimeUnit.SECONDS);
        }
    }
}
