/**
 * The seat authority: the one port through which everything that decides about seats goes (checkout,
 * reclaim, heartbeat, checkin, goodbye, session lost, force-release, entitlement changes).
 *
 * <p>Two implementations: {@link dev.turnstile.appliance.authority.LocalSeatAuthority} decides on this
 * appliance's ledger and answers with futures that are already complete;
 * {@code dev.turnstile.appliance.triad.ReplicatedSeatAuthority} decides through the triad's Raft log and
 * completes on the caller's context after a majority commit. Callers (sessions, the admin API, sync,
 * reload) see only this port, never which one is behind it: the composition root chooses.
 *
 * <p>A future that fails with {@link dev.turnstile.appliance.authority.AuthorityRefusal} means that this
 * authority could not decide (not the triad leader, no quorum, not committed in time); a future that
 * succeeds carries the decision, which may itself be a refusal (a DENIED checkout, a checkin of a lease
 * that is not held).
 */
package dev.turnstile.appliance.authority;
