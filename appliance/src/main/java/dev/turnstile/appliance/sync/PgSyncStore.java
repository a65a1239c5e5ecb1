package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.store.PgTarget;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.store.impl.Migrations;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The sync state in PostgreSQL (tables of {@code db/migration/V100__sync.sql}), for appliances
 * with a {@code store:} section: the same database, reached with the asynchronous vertx-pg-client
 * (a pool of two connections of its own), so no call blocks an event loop. {@link #saveState} is
 * one transaction; {@link #commitToken} another, after it.
 *
 * <p>{@link #load} first applies the appliance's migrations (the files are read on a worker thread, then applied
 * with the pg client; a no-op when the store has applied them already).
 */
public final class PgSyncStore implements SyncStore {
    private final Vertx vertx;
    private final Pool pool;
    private final String target;
    private final long timeoutMs;

    /** The connection options of the {@code store:} section, parsed by the store's one parser ({@link PgTarget}). */
    private static PgConnectOptions options(StoreConfig store) {
        PgTarget t = PgTarget.of(store);
        if (!t.usable()) {
            throw new IllegalArgumentException(t.problem());
        }
        return t.newOptions();
    }

    public PgSyncStore(Vertx vertx, StoreConfig store) {
        this.vertx = vertx;
        this.target = store.describeTarget();
        this.timeoutMs = Math.max(store.connectTimeoutMs(), 1_000) * 5;
        this.pool = PgBuilder.pool()
                .with(new PoolOptions().setMaxSize(2).setName("turnstile-sync"))
                .with(new io.vertx.core.net.NetClientOptions()
                        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, store.connectTimeoutMs())))
                .connectingTo(options(store))
                .using(vertx)
                .build();
    }

    private static OffsetDateTime time(long ms) {
        return ms < 0 ? null : OffsetDateTime.ofInstant(Instant.ofEpochMilli(ms), ZoneOffset.UTC);
    }

    private static long ms(OffsetDateTime t) {
        return t == null ? -1 : t.toInstant().toEpochMilli();
    }

    @Override
    public Future<SyncState> load() {
        // reading the migration files is file I/O: on a worker; applying them is the pg client's, composed
        return vertx.executeBlocking(() -> Migrations.fromClasspath(Migrations.DEFAULT_LOCATION))
                .compose(m -> m.apply(pool, timeoutMs))
                .compose(n -> pool.withConnection(this::read));
    }

    private Future<SyncState> read(SqlConnection c) {
        SyncState s = new SyncState();
        return c.query("SELECT last_sync_token, last_sync_at, state FROM sync_state WHERE id = 1").execute()
                .compose(rows -> {
                    JsonObject meta = new JsonObject();
                    for (Row r : rows) {
                        s.lastSyncToken = r.getString("last_sync_token");
                        s.lastSyncAtMs = ms(r.getOffsetDateTime("last_sync_at"));
                        meta = (JsonObject) r.getJson("state");
                    }
                    SyncState m = SyncState.fromJson(meta, s.lastSyncToken, s.lastSyncAtMs);
                    s.nextConflictId = m.nextConflictId;
                    s.appliedLicenseId = m.appliedLicenseId;
                    s.appliedLicenseIssuedAtMs = m.appliedLicenseIssuedAtMs;
                    s.fullResyncRequested = m.fullResyncRequested;
                    s.syncCount = m.syncCount;
                    s.errorCount = m.errorCount;
                    s.conflictCount = m.conflictCount;
                    return c.query("SELECT entitlement_id, doc FROM sync_cloud_entitlements").execute();
                }).compose(rows -> {
                    for (Row r : rows) {
                        s.cloud.put(r.getString(0), SyncState.normalize((JsonObject) r.getJson(1)));
                    }
                    return c.query("SELECT entitlement_id, doc FROM sync_effective_entitlements").execute();
                }).compose(rows -> {
                    for (Row r : rows) {
                        s.effective.put(r.getString(0), SyncState.normalize((JsonObject) r.getJson(1)));
                    }
                    return c.query("SELECT entitlement_id, field_values, edited_at_ms FROM sync_local_edits").execute();
                }).compose(rows -> {
                    for (Row r : rows) {
                        s.localEdits.put(r.getString(0), SyncState.LocalEdit.fromJson(new JsonObject()
                                .put("values", r.getJson(1)).put("edited_at_ms", r.getJson(2))));
                    }
                    return c.query("SELECT doc FROM sync_conflicts ORDER BY conflict_id").execute();
                }).map(rows -> {
                    for (Row r : rows) {
                        s.conflicts.add(SyncState.Conflict.fromJson((JsonObject) r.getJson(0)));
                    }
                    return s;
                });
    }

    @Override
    public Future<Void> saveState(SyncState state) {
        SyncState snap = state.copy(); // taken now, on the caller's context
        JsonObject all = snap.toJson();
        JsonObject meta = all.copy();
        meta.remove("cloud");
        meta.remove("effective");
        meta.remove("local_edits");
        meta.remove("conflicts");
        List<Tuple> cloud = new ArrayList<>();
        snap.cloud.forEach((k, v) -> cloud.add(Tuple.of(k, v)));
        List<Tuple> effective = new ArrayList<>();
        snap.effective.forEach((k, v) -> effective.add(Tuple.of(k, v)));
        List<Tuple> edits = new ArrayList<>();
        for (Map.Entry<String, SyncState.LocalEdit> e : snap.localEdits.entrySet()) {
            JsonObject j = e.getValue().toJson();
            edits.add(Tuple.of(e.getKey(), j.getJsonObject("values"), j.getJsonObject("edited_at_ms")));
        }
        List<Tuple> conflicts = new ArrayList<>();
        for (SyncState.Conflict c : snap.conflicts) {
            conflicts.add(Tuple.of(c.id(), c.entitlementId(), time(c.detectedAtMs()), c.policy(), c.status(),
                    c.resolution(), time(c.resolvedAtMs()), c.toJson()));
        }
        return pool.withTransaction(c -> c.preparedQuery(
                        "INSERT INTO sync_state (id, state, updated_at) VALUES (1, $1, now()) "
                                + "ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()")
                .execute(Tuple.of(meta))
                .compose(r -> c.query("DELETE FROM sync_cloud_entitlements").execute())
                .compose(r -> batch(c, "INSERT INTO sync_cloud_entitlements (entitlement_id, doc) VALUES ($1, $2)", cloud))
                .compose(r -> c.query("DELETE FROM sync_effective_entitlements").execute())
                .compose(r -> batch(c, "INSERT INTO sync_effective_entitlements (entitlement_id, doc) VALUES ($1, $2)",
                        effective))
                .compose(r -> c.query("DELETE FROM sync_local_edits").execute())
                .compose(r -> batch(c, "INSERT INTO sync_local_edits (entitlement_id, field_values, edited_at_ms) "
                        + "VALUES ($1, $2, $3)", edits))
                .compose(r -> c.query("DELETE FROM sync_conflicts").execute())
                .compose(r -> batch(c, "INSERT INTO sync_conflicts (conflict_id, entitlement_id, detected_at, policy, "
                        + "status, resolution, resolved_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", conflicts)))
                .mapEmpty();
    }

    private static Future<?> batch(SqlConnection c, String sql, List<Tuple> rows) {
        if (rows.isEmpty()) {
            return Future.succeededFuture();
        }
        return c.preparedQuery(sql).executeBatch(rows);
    }

    @Override
    public Future<Void> commitToken(String token, long syncAtMs) {
        return pool.preparedQuery("INSERT INTO sync_state (id, last_sync_token, last_sync_at, state, updated_at) "
                        + "VALUES (1, $1, $2, '{}'::jsonb, now()) ON CONFLICT (id) DO UPDATE SET "
                        + "last_sync_token = EXCLUDED.last_sync_token, last_sync_at = EXCLUDED.last_sync_at, updated_at = now()")
                .execute(Tuple.of(token, time(syncAtMs))).mapEmpty();
    }

    @Override
    public Future<Void> appendAudit(AuditRecord a) {
        return pool.preparedQuery("INSERT INTO sync_audit (started_at, finished_at, trigger, outcome, attempts, "
                        + "token_before, token_after, created, updated, deleted, conflicts, error) "
                        + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .execute(Tuple.from(new Object[] {time(a.startedAtMs()), time(a.finishedAtMs()), a.trigger(), a.outcome(),
                        a.attempts(), a.tokenBefore(), a.tokenAfter(), a.created(), a.updated(), a.deleted(),
                        a.conflicts(), a.error()}))
                .mapEmpty();
    }

    @Override
    public Future<List<AuditRecord>> recentAudit(int limit) {
        return pool.preparedQuery("SELECT started_at, finished_at, trigger, outcome, attempts, token_before, token_after, "
                        + "created, updated, deleted, conflicts, error FROM sync_audit ORDER BY id DESC LIMIT $1")
                .execute(Tuple.of(limit)).map(rows -> {
                    List<AuditRecord> out = new ArrayList<>();
                    for (Row r : rows) {
                        out.add(new AuditRecord(ms(r.getOffsetDateTime(0)), ms(r.getOffsetDateTime(1)), r.getString(2),
                                r.getString(3), r.getInteger(4), r.getString(5), r.getString(6), r.getInteger(7),
                                r.getInteger(8), r.getInteger(9), r.getInteger(10), r.getString(11)));
                    }
                    return out;
                });
    }

    @Override
    public String describe() {
        return "PostgreSQL " + target;
    }

    @Override
    public Future<Void> close() {
        return pool.close();
    }
}
