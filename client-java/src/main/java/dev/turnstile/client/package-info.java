/**
 * The Turnstile Java client SDK: plain JDK (no Vert.x), so that any Java program can embed it.
 *
 * <p>Start with {@link dev.turnstile.client.TurnstileClient#builder()}; check out with
 * {@link dev.turnstile.client.TurnstileClient#checkout(String)}; the client heartbeats, fails over
 * and reclaims on its own, and tells a {@link dev.turnstile.client.LeaseListener} what happened.
 * Leases are remembered as {@link dev.turnstile.client.LeaseToken}s in a
 * {@link dev.turnstile.client.TokenManager} ({@link dev.turnstile.client.InMemoryTokenManager} by
 * default, {@link dev.turnstile.client.FileTokenManager} to survive a restart); a
 * {@link dev.turnstile.client.TokenInvalidationHandler} decides which server-reported failures
 * delete a token.
 *
 * <p>Every public type says whether it is thread-safe. The implementation lives in
 * {@code dev.turnstile.client.impl} and is not API.
 *
 * <p>The wire protocol is {@code protocol-spec/PROTOCOL.md}; the error codes and their names are
 * {@link dev.turnstile.protocol.ErrorCode}.
 */
package dev.turnstile.client;
