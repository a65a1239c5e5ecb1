package dev.turnstile.appliance.sync;

import io.vertx.core.Future;
import java.util.List;

/**
 * Where the sync keeps its {@link SyncState} and audit rows: {@link FileSyncStore} in the state
 * directory when no database is configured, {@link PgSyncStore} when a {@code store:} section is.
 *
 * <p>The token is written separately from the rest, and only after it: {@link #saveState} first
 * (the applied entitlements, local edits, conflicts), then {@link #commitToken}. A crash between the
 * two leaves the old token with the new entitlements, so the next sync repeats the batch, which is
 * harmless (see {@link SyncEngine}); it never skips one.
 *
 * <p>Every method returns at once and does its I/O elsewhere (a worker thread, or the asynchronous
 * Postgres client): never on an event loop. Calls complete in the order they were made.
 */
public interface SyncStore {
    /** The state as last saved, with the last committed token; an empty state the first time. */
    Future<SyncState> load();

    /** Saves everything but the token and its time. */
    Future<Void> saveState(SyncState state);

    /** Records the token of a batch that is applied and saved. */
    Future<Void> commitToken(String token, long syncAtMs);

    /** Appends one audit row. */
    Future<Void> appendAudit(AuditRecord record);

    /** The newest audit rows, newest first. */
    Future<List<AuditRecord>> recentAudit(int limit);

    /** For logs and the status page: where the state lives. */
    String describe();

    Future<Void> close();
}
