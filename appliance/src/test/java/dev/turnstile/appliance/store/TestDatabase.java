package dev.turnstile.appliance.store;

import dev.turnstile.testsupport.TestPostgres;
import dev.turnstile.testsupport.VertxAwait;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A fresh database with a random name on the test PostgreSQL, dropped on {@link #close()}, and
 * blocking helpers to look into it from the test thread (never from an event loop).
 */
final class TestDatabase implements AutoCloseable {
    private final Vertx vertx;
    private final String adminUrl;
    final String name;
    final String url;
    private Pool pool;

    private TestDatabase(Vertx vertx, String adminUrl, String name) {
        this.vertx = vertx;
        this.adminUrl = adminUrl;
        this.name = name;
        this.url = TestPostgres.withDatabase(adminUrl, name);
    }

    static TestDatabase create(Vertx vertx) throws Exception {
        String admin = TestPostgres.adminUrl();
        String name = "turnstile_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        TestDatabase db = new TestDatabase(vertx, admin, name);
        db.admin("CREATE DATABASE " + name);
        return db;
    }

    private void admin(String sql) throws Exception {
        Pool admin = PgBuilder.pool().with(new PoolOptions().setMaxSize(1))
                .connectingTo(PgConnectOptions.fromUri(adminUrl)).using(vertx).build();
        try {
            await(admin.query(sql).execute());
        } finally {
            await(admin.close());
        }
    }

    /** The store section pointing at this database. */
    io.vertx.core.json.JsonObject storeSection() {
        return new io.vertx.core.json.JsonObject().put("url", url);
    }

    private synchronized Pool pool() {
        if (pool == null) {
            pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(1))
                    .connectingTo(PgConnectOptions.fromUri(url)).using(vertx).build();
        }
        return pool;
    }

    /** Runs {@code sql} with {@code params}; returns the rows. */
    List<Row> rows(String sql, Object... params) throws Exception {
        List<Row> out = new ArrayList<>();
        for (Row r : await(pool().preparedQuery(sql).execute(Tuple.wrap(List.of(params))))) {
            out.add(r);
        }
        return out;
    }

    long count(String sql, Object... params) throws Exception {
        return rows(sql, params).get(0).getLong(0);
    }

    void execute(String sql) throws Exception {
        await(pool().query(sql).execute());
    }

    /** Forgets pooled connections (after Postgres was restarted under them). */
    synchronized void resetPool() throws Exception {
        if (pool != null) {
            try {
                await(pool.close());
            } catch (Exception ignored) {
                // a dead pool
            }
            pool = null;
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        return VertxAwait.result(f);
    }

    @Override
    public void close() throws Exception {
        resetPool();
        // an autovacuum worker (after bulk writes) may hold the database a moment: retry, bounded
        dev.turnstile.testsupport.Wait.await("DROP DATABASE " + name, java.time.Duration.ofSeconds(10))
                .pollInterval(java.time.Duration.ofMillis(500)).ignoreExceptions().until(() -> {
                    admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
                    return true;
                });
    }
}
