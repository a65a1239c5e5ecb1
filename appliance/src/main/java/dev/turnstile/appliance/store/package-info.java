/**
 * The store: what the seat ledger decides, made durable in PostgreSQL behind it (issue 3).
 *
 * <h2>Pipeline</h2>
 * <pre>
 * ledger command (any event loop)
 *   -> LedgerListener.journal(event)        a lock-free enqueue: one counter, one queue node; never blocks
 *   -> in-memory queue (store.queue_capacity)
 *   -> the writer (StoreWriter): a verticle on a worker context of its own, one thread
 *        "turnstile-store-writer-&lt;run&gt;-0"; it composes the pg client's futures and never waits for one;
 *        the spill's file I/O runs there, never on an event loop
 *        every store.flush_interval, or as soon as store.batch_size events wait:
 *        one transaction per batch = BEGIN and 4 statements pipelined on one connection (one round trip),
 *        each statement carrying all its rows as arrays, then COMMIT
 *   -> usage_journal, leases, pool_snapshots (and entitlements when recorded)
 * </pre>
 * A checkout never waits for the disk: its latency does not depend on Postgres (see
 * {@code appliance/PERFORMANCE-store.md} for the measured figures).
 *
 * <h2>What is written</h2>
 * <ul>
 *   <li>{@code usage_journal}: one row per event except heartbeats, append-only (an UPDATE trigger
 *       refuses changes). Its event key is ({@code run_id}, {@code seq}): {@code run_id} names one
 *       run of the appliance, {@code seq} the event's place in that run's queue, assigned by the
 *       single writer, so key order is queue order. Rows are inserted {@code ON CONFLICT DO NOTHING}:
 *       a batch written twice (a COMMIT whose answer was lost, a spill replayed after a crash) adds
 *       nothing.</li>
 *   <li>{@code leases}: one row per lease, active while {@code released_at} is null. The events of a
 *       lease within a batch are coalesced: many heartbeats become one {@code last_heartbeat}
 *       update; a checkout and its checkin in the same batch become one row, already released (both
 *       still reach the journal). Every statement is idempotent (GREATEST / COALESCE upserts).</li>
 *   <li>{@code pool_snapshots}: one row per pool and {@code store.snapshot_interval}: seats used after
 *       the period's last event, the period's peak, the pool's high-water mark.</li>
 *   <li>{@code entitlements}: the configured entitlements, through
 *       {@link dev.turnstile.appliance.store.PersistenceService#recordEntitlements}.</li>
 * </ul>
 *
 * <h2>Schema migrations</h2>
 * Files {@code db/migration/V<n>__<what>.sql} in the appliance's resources, applied at start in
 * version order, each in its own transaction with its row in {@code schema_migrations} (file,
 * SHA-256, when, how long), under an advisory lock. Applied files are skipped, so every start is
 * safe; an applied file that was edited, or a file that fails, stops the appliance with
 * {@link dev.turnstile.appliance.store.MigrationException}: {@code migration V2__x.sql failed:
 * <Postgres's message> (SQLSTATE ...)}.
 *
 * <h2>When Postgres is away or slow: the documented policy</h2>
 * <ol>
 *   <li>Seat service never stops: the ledger grants and releases as usual.</li>
 *   <li>Events wait in memory, up to {@code store.queue_capacity}. The status ({@code lag_events},
 *       {@code lag_ms}, {@code connected}, {@code last_error}) and a WARN line every 10 s say how far
 *       behind the store is.</li>
 *   <li>Beyond the capacity (Postgres down, or up but slower than the ledger), the writer moves the
 *       events, oldest first, to append-only spill files ({@code store.spill_dir}/spill-NNNNNNNNNN.jsonl,
 *       one JSON line per event, forced to disk).</li>
 *   <li>When Postgres is back, the spill is written first, in order, then memory: every event once,
 *       in queue order. Replayed segments are deleted. A spill left by a stopped or crashed run is
 *       replayed by the next start before restart recovery reads the leases.</li>
 *   <li>Postgres refusing a row for its content (a constraint, SQLSTATE 22xxx/23xxx): the batch is
 *       written event by event, the refused event is <em>parked</em> in {@code parked.jsonl} beside the
 *       spill with the reason, logged at ERROR with the constraint's name, and the rest is written.
 *       Parked events are never replayed automatically.</li>
 *   <li>Last resort, never silent: if the writer can neither write nor spill (the disk is full) and
 *       more than 4 × {@code queue_capacity} events wait in memory, new events are dropped, counted in
 *       {@code dropped_events} and logged at ERROR every second, so that memory stays bounded and the
 *       seats keep being served.</li>
 * </ol>
 * A URL that does not parse, wrong credentials, an unreachable or vanished database: the start
 * still succeeds (seats are served), an ERROR line names the cause (the SQLSTATE for Postgres's own
 * refusals, the keys to check for credentials), the writer retries with backoff (100 ms doubling to
 * 5 s; 30 s for credentials) and events are held and spilled as above.
 *
 * <h2>Shutdown and crash</h2>
 * {@link dev.turnstile.appliance.store.PersistenceService#stop()} writes everything held; without
 * Postgres it spills the rest for the next start. A crash (kill -9) loses the events still in
 * memory: at most the last flush interval's while the store keeps up; while Postgres is down or
 * behind, at most {@code store.queue_capacity}. The spill is forced to disk and survives.
 *
 * <h2>Restart recovery</h2>
 * {@link dev.turnstile.appliance.store.RestartRecovery}: the leases active at the last stop come back
 * orphaned and keep their seats until the reclaim grace ends, counted from the moment the TCP
 * listener accepts (loading them waits for the previous run's spill to be written); their clients
 * reclaim them by lease id and hardware id; the ledger then releases the rest with {@code serverRestart}.
 *
 * <h2>Without a store section</h2>
 * {@link dev.turnstile.appliance.store.PersistenceService#memoryOnly()}: nothing is kept, the status
 * says {@code memory-only}, and the appliance says so in its start line.
 *
 * <h2>In a triad</h2>
 * {@link dev.turnstile.appliance.triad.TriadJournal}: one shared database, written by the leader only; events
 * of replicated commands carry the triad's deterministic key ({@link dev.turnstile.appliance.triad.JournalKeys}),
 * are buffered on every member until the leader confirms them written, and a new leader resumes from Postgres'
 * max(seq), reconciles the {@code leases} table with the replicated ledger and reports any gap. A new leader first
 * raises the fence ({@code triad_fence}, V101) to its Raft term; every write transaction of a triad member checks it
 * ({@code triad_fence_check}), so a deposed leader's late batch is refused and dropped, and a spill of an older
 * leadership reaches {@code usage_journal} only ({@link dev.turnstile.appliance.store.PersistenceService#raiseFence}).
 *
 * <h2>Tests</h2>
 * Against a real PostgreSQL: {@code TURNSTILE_TEST_PG_URL} (an admin URL whose role may create
 * databases; {@code scripts/local-postgres.sh} sets one up), else Testcontainers when a Docker
 * engine answers, else the tests fail saying what to run. Each test makes its own database.
 */
package dev.turnstile.appliance.store;
