/**
 * The cloud sync (issue 4; appliance/SYNC.md): the appliance pulls entitlement changes from the
 * vendor's cloud over outbound HTTPS and applies them to the seat ledger.
 *
 * <ul>
 *   <li>{@link dev.turnstile.appliance.sync.SyncVerticle}: the component the appliance deploys;
 *       binds {@code sync:} and {@code license:}, wires the services, the routes and the hooks.</li>
 *   <li>{@link dev.turnstile.appliance.sync.SyncService}: triggers, retries with backoff and
 *       jitter, the vertx-circuit-breaker, verification, alerts, metrics, audit; local edits and
 *       conflict resolution.</li>
 *   <li>{@link dev.turnstile.appliance.sync.SyncEngine}: the pure batch rules (apply, conflict
 *       policies, repeat-safety, signed-list check), unit-tested without I/O.</li>
 *   <li>{@link dev.turnstile.appliance.sync.SyncStore}: the state and audit, in files
 *       ({@link dev.turnstile.appliance.sync.FileSyncStore}) or PostgreSQL
 *       ({@link dev.turnstile.appliance.sync.PgSyncStore}); the token is committed after the rest.</li>
 * </ul>
 *
 * <p>Threading: one context (the verticle's) owns the sync state; HTTP I/O is non-blocking,
 * file I/O runs on a dedicated worker thread, Postgres through the asynchronous client. Nothing
 * here blocks an event loop, and no failure stops seat service.
 */
package dev.turnstile.appliance.sync;
