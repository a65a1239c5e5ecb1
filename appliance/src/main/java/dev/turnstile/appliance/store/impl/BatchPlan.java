package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * What one batch of events becomes in SQL: four statements, each run once for all its rows (the
 * rows travel as one typed array per column and the statement unnests them), inside one transaction.
 *
 * <ul>
 *   <li>every event but HEARTBEAT is one {@code usage_journal} row, keyed by its event key
 *       ({@code run_id}, {@code seq}), {@code ON CONFLICT DO NOTHING}: a replayed batch adds nothing;</li>
 *   <li>the events of one lease are coalesced into its final state for the batch: a lease checked
 *       out (or reclaimed) in the batch is one upsert carrying its latest heartbeat and, if it also
 *       ended, its release; any other lease is one update; so a hundred heartbeats of a lease are
 *       one {@code last_heartbeat} update, and a checkout with its checkin is one row already
 *       released, while both still reach the journal;</li>
 *   <li>pool figures are folded into one {@code pool_snapshots} row per pool and snapshot period.</li>
 * </ul>
 *
 * Every statement is idempotent (upserts with GREATEST / COALESCE), so the whole batch may be
 * replayed after an unknown outcome (a connection lost during COMMIT) without changing the result.
 */
final class BatchPlan {

    static final String INSERT_JOURNAL = """
            INSERT INTO usage_journal (run_id, seq, kind, at, lease_id, entitlement_id, product_id, session_id,
                                       client_id, hw_id, quantity, reason, pool_used, pool_high_water)
            SELECT r, s, k, from_epoch_ms(a), l, e, p, sess, c, h, q, why, u, hw
            FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::uuid[], $6::text[],
                        $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::text[],
                        $13::bigint[], $14::bigint[]) AS x(r, s, k, a, l, e, p, sess, c, h, q, why, u, hw)
            ON CONFLICT ON CONSTRAINT usage_journal_event_key DO NOTHING""";

    /**
     * The reclaim secret hash travels as hex text and is decoded in SQL (bytea arrays would need a binary array
     * binding); a lease keeps the hash it has (a hash is only ever set, never changed: PROTOCOL.md 10.6).
     */
    static final String UPSERT_LEASE = """
            INSERT INTO leases (lease_id, entitlement_id, product_id, session_id, client_id, hw_id, quantity,
                                checked_out_at, last_heartbeat, released_at, release_reason, reclaim_secret_hash)
            SELECT l, e, p, sess, c, h, q, from_epoch_ms(co), from_epoch_ms(hb), from_epoch_ms(rel), why,
                   decode(sh, 'hex')
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                        $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[], $12::text[])
                 AS x(l, e, p, sess, c, h, q, co, hb, rel, why, sh)
            ON CONFLICT (lease_id) DO UPDATE SET
                session_id = EXCLUDED.session_id,
                client_id = EXCLUDED.client_id,
                hw_id = EXCLUDED.hw_id,
                reclaim_secret_hash = COALESCE(leases.reclaim_secret_hash, EXCLUDED.reclaim_secret_hash),
                last_heartbeat = GREATEST(leases.last_heartbeat, EXCLUDED.last_heartbeat),
                released_at = COALESCE(leases.released_at, EXCLUDED.released_at),
                release_reason = COALESCE(leases.release_reason, EXCLUDED.release_reason)""";

    static final String UPDATE_LEASE = """
            UPDATE leases AS l SET
                last_heartbeat = GREATEST(l.last_heartbeat, from_epoch_ms(u.heartbeat)),
                released_at = COALESCE(l.released_at, from_epoch_ms(u.released)),
                release_reason = COALESCE(l.release_reason, u.reason)
            FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::text[])
                 AS u(lease_id, heartbeat, released, reason)
            WHERE l.lease_id = u.lease_id""";

    static final String UPSERT_SNAPSHOT = """
            INSERT INTO pool_snapshots (entitlement_id, period_start, product_id, used, high_water, peak_used,
                                        last_event_at)
            SELECT e, from_epoch_ms(ps), p, u, hw, pk, from_epoch_ms(le)
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
                 AS x(e, ps, p, u, hw, pk, le)
            ON CONFLICT (entitlement_id, period_start) DO UPDATE SET
                product_id = EXCLUDED.product_id,
                used = CASE WHEN EXCLUDED.last_event_at >= pool_snapshots.last_event_at
                            THEN EXCLUDED.used ELSE pool_snapshots.used END,
                high_water = GREATEST(pool_snapshots.high_water, EXCLUDED.high_water),
                peak_used = GREATEST(pool_snapshots.peak_used, EXCLUDED.peak_used),
                last_event_at = GREATEST(pool_snapshots.last_event_at, EXCLUDED.last_event_at)""";

    /** The rows of each statement, as columns (one array parameter per column). */
    private static final Class<?> U = UUID.class;
    private static final Class<?> L = Long.class;
    private static final Class<?> S = String.class;
    /** Times travel as epoch milliseconds (cheap to encode); SQL turns them into timestamptz exactly. */
    private static final Class<?> T = Long.class;
    final Columns journal = new Columns(U, L, S, T, U, S, S, L, S, S, L, S, L, L);
    final Columns leaseUpserts = new Columns(U, S, S, L, S, S, L, T, T, T, S, S);
    final Columns leaseUpdates = new Columns(U, T, T, S);
    final Columns snapshots = new Columns(S, T, S, L, L, L, T);
    /** Heartbeat events in the batch, and the lease rows they became (the coalescing figure). */
    int heartbeats;
    int heartbeatLeases;

    private BatchPlan() {
    }

    static BatchPlan of(List<QueuedEvent> batch, long snapshotIntervalMs) {
        BatchPlan plan = new BatchPlan();
        Map<UUID, LeaseChange> leases = new LinkedHashMap<>();
        Map<String, PoolFigures> pools = new LinkedHashMap<>();
        for (QueuedEvent q : batch) {
            LedgerEvent e = q.event;
            if (e.kind() != Kind.HEARTBEAT) {
                plan.journal.add(q.runId, q.seq, KIND_NAMES[e.kind().ordinal()], e.atMs(), e.leaseId(), e.entitlementId(),
                        e.productId(), e.sessionId(), e.clientId(), e.hwId(), e.quantity(),
                        e.reason() == null ? ErrorCode.OK.wireName() : e.reason().wireName(), e.poolUsed(),
                        e.poolHighWater());
            } else {
                plan.heartbeats++;
            }
            if (e.leaseId() != null) {
                leases.computeIfAbsent(e.leaseId(), id -> new LeaseChange()).apply(e);
            }
            if (e.entitlementId() != null && !e.entitlementId().isEmpty() && e.kind() != Kind.HEARTBEAT) {
                long period = Math.floorDiv(e.atMs(), snapshotIntervalMs) * snapshotIntervalMs;
                String key = e.entitlementId() + '\u0000' + period;
                pools.computeIfAbsent(key, k -> new PoolFigures(e.entitlementId(), period)).apply(e);
            }
        }
        for (Map.Entry<UUID, LeaseChange> en : leases.entrySet()) {
            LeaseChange c = en.getValue();
            if (c.heartbeats > 0) {
                plan.heartbeatLeases++;
            }
            Long released = c.endReason == null ? null : c.endAtMs;
            if (c.start != null) {
                LedgerEvent s = c.start;
                plan.leaseUpserts.add(en.getKey(), s.entitlementId(), s.productId(), s.sessionId(), s.clientId(),
                        s.hwId(), s.quantity(), c.checkedOutAtMs, c.lastHeartbeatMs, released,
                        c.endReason, c.secretHash == null ? null : HEX.formatHex(c.secretHash.bytes()));
            } else {
                plan.leaseUpdates.add(en.getKey(),
                        c.lastHeartbeatMs == Long.MIN_VALUE ? null : (Long) c.lastHeartbeatMs, released, c.endReason);
            }
        }
        for (PoolFigures p : pools.values()) {
            plan.snapshots.add(p.entitlementId, p.periodStartMs, p.productId, p.used, p.highWater, p.peak,
                    p.lastEventAtMs);
        }
        return plan;
    }

    /**
     * The rows of one statement held column by column, bound as one typed array per column (the
     * statement unnests them): one round trip and one statement execution for the whole batch.
     */
    static final class Columns {
        private final Class<?>[] types;
        private final List<List<Object>> columns;
        private int rows;

        Columns(Class<?>... types) {
            this.types = types;
            columns = new ArrayList<>(types.length);
            for (int i = 0; i < types.length; i++) {
                columns.add(new ArrayList<>());
            }
        }

        void add(Object... row) {
            if (row.length != types.length) {
                throw new IllegalArgumentException("row of " + row.length + " values for " + types.length + " columns");
            }
            for (int i = 0; i < row.length; i++) {
                columns.get(i).add(types[i].cast(row[i]));
            }
            rows++;
        }

        int size() {
            return rows;
        }

        boolean isEmpty() {
            return rows == 0;
        }

        /** Row {@code r}, column {@code i} (tests). */
        Object get(int r, int i) {
            return columns.get(i).get(r);
        }

        /** One typed array per column, as the statement's parameters. */
        Tuple toTuple() {
            Tuple t = Tuple.tuple();
            for (int i = 0; i < columns.size(); i++) {
                List<Object> col = columns.get(i);
                Object[] arr = (Object[]) java.lang.reflect.Array.newInstance(types[i], col.size());
                t.addValue(col.toArray(arr));
            }
            return t;
        }
    }

    private static final java.util.HexFormat HEX = java.util.HexFormat.of();
    private static final String[] KIND_NAMES = new String[Kind.values().length];

    static {
        for (Kind k : Kind.values()) {
            KIND_NAMES[k.ordinal()] = kindName(k);
        }
    }

    /** The journal's {@code kind} column: {@code checkout}, {@code queue_timeout}, ... */
    static String kindName(Kind k) {
        return k.name().toLowerCase(Locale.ROOT);
    }

    static OffsetDateTime time(long epochMs) {
        return OffsetDateTime.ofInstant(Instant.ofEpochMilli(epochMs), ZoneOffset.UTC);
    }

    /** Why a lease ended, as stored in {@code leases.release_reason}: the protocol's stable error name. */
    static String endReason(LedgerEvent e) {
        if (e.reason() != null && e.reason() != ErrorCode.OK) {
            return e.reason().wireName();
        }
        return switch (e.kind()) {
            case CHECKIN -> ErrorCode.CHECKED_IN.wireName();
            case EXPIRY -> ErrorCode.LICENSE_CHECKOUT_EXPIRED.wireName();
            default -> ErrorCode.FORCED_RELEASE.wireName();
        };
    }

    /** The net change of one lease within the batch. */
    private static final class LeaseChange {
        LedgerEvent start;
        long checkedOutAtMs = Long.MIN_VALUE;
        long lastHeartbeatMs = Long.MIN_VALUE;
        long endAtMs;
        String endReason;
        int heartbeats;
        /** The lease's reclaim secret hash, from its CHECKOUT or RECLAIM events (the first one that has it). */
        dev.turnstile.appliance.seat.SecretHash secretHash;

        void apply(LedgerEvent e) {
            if (secretHash == null && e.secretHash() != null) {
                secretHash = e.secretHash();
            }
            switch (e.kind()) {
                case CHECKOUT -> {
                    start = e;
                    checkedOutAtMs = e.atMs();
                    lastHeartbeatMs = Math.max(lastHeartbeatMs, e.atMs());
                }
                case RECLAIM -> {
                    start = e;
                    if (checkedOutAtMs == Long.MIN_VALUE) {
                        checkedOutAtMs = e.atMs(); // only used when the row is missing altogether
                    }
                    lastHeartbeatMs = Math.max(lastHeartbeatMs, e.atMs());
                }
                case HEARTBEAT -> {
                    heartbeats++;
                    lastHeartbeatMs = Math.max(lastHeartbeatMs, e.atMs());
                }
                case CHECKIN, EXPIRY, RELEASE -> {
                    if (endReason == null) {
                        endAtMs = e.atMs();
                        endReason = endReason(e);
                    }
                }
                default -> {
                    // DENIAL, QUEUE, QUEUE_TIMEOUT, ENTITLEMENT_CHANGED carry no lease
                }
            }
        }
    }

    /** One pool in one snapshot period. */
    private static final class PoolFigures {
        final String entitlementId;
        final long periodStartMs;
        String productId;
        long used;
        long highWater;
        long peak;
        long lastEventAtMs = Long.MIN_VALUE;

        PoolFigures(String entitlementId, long periodStartMs) {
            this.entitlementId = entitlementId;
            this.periodStartMs = periodStartMs;
        }

        void apply(LedgerEvent e) {
            if (e.productId() != null) {
                productId = e.productId();
            }
            if (e.atMs() >= lastEventAtMs) {
                used = e.poolUsed();
                lastEventAtMs = e.atMs();
            }
            highWater = Math.max(highWater, e.poolHighWater());
            peak = Math.max(peak, e.poolUsed());
        }
    }
}
