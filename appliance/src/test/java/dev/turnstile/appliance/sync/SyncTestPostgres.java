package dev.turnstile.appliance.sync;

import static org.junit.jupiter.api.Assertions.fail;

import dev.turnstile.appliance.store.StoreConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.net.URI;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway PostgreSQL database for the sync's Postgres tests, on the server named by
 * {@value #URL_ENV} (an admin URL whose role may CREATE DATABASE; {@code eval "$(scripts/local-postgres.sh)"}
 * sets it on this machine). Each test makes its own database and drops it, so runs never share rows.
 */
public final class SyncTestPostgres implements AutoCloseable {
    public static final String URL_ENV = "TURNSTILE_TEST_PG_URL";

    private final Vertx vertx;
    private final String adminUrl;
    public final String database;
    public final String url;

    private SyncTestPostgres(Vertx vertx, String adminUrl, String database) {
        this.vertx = vertx;
        this.adminUrl = adminUrl;
        this.database = database;
        URI u = URI.create(adminUrl);
        this.url = u.getScheme() + "://" + (u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@") + u.getHost()
                + (u.getPort() > 0 ? ":" + u.getPort() : "") + "/" + database;
    }

    public static SyncTestPostgres create(Vertx vertx) throws Exception {
        String admin = System.getenv(URL_ENV);
        if (admin == null || admin.isBlank()) {
            fail("the sync's Postgres tests need " + URL_ENV + ": run  eval \"$(scripts/local-postgres.sh)\"  from the "
                    + "project root first (it starts the local PostgreSQL and prints the export)");
        }
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
