package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Thread-safe facade over one {@link SeatLedger}, used from many Vert.x event loops: every method
 * runs the ledger command under ONE non-fair lock (why one lock and not stripes or an owner thread:
 * see the figures in {@code package-info.java}).
 *
 * <ul>
 *   <li>Commands are short (well under a microsecond, no I/O), so an event loop never waits long.
 *       Exceptions: {@link #tick} when very many deadlines fall due together (about 0.1 to 0.2 us per
 *       expired lease), and the O(n) snapshots {@link #leases()} / {@link #snapshot()}.</li>
 *   <li>The commands form one total order (the lock order), which is the order of the journal: the
 *       same order replayed into a {@link SeatLedger} gives the same state.</li>
 *   <li>The {@link LedgerListener} is called with the lock held: it must only enqueue (never block,
 *       never call back into the ledger).</li>
 *   <li>Each caller passes its own {@code nowMs}; callers on different threads may be a few ms apart,
 *       which the ledger tolerates (a deadline is applied by the first command at or after it).</li>
 * </ul>
 */
public final class ConcurrentLedger implements LedgerView {

    private final SeatLedger ledger;
    private final ReentrantLock lock = new ReentrantLock();

    public ConcurrentLedger(LedgerSettings settings, LedgerListener listener) {
        this.ledger = new SeatLedger(settings, listener);
    }

    public LedgerSettings settings() {
        return ledger.settings();
    }

    public CheckoutOutcome checkout(CheckoutCommand c) {
        lock.lock();
        try {
            return ledger.checkout(c);
        } finally {
            lock.unlock();
        }
    }

    public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
        lock.lock();
        try {
            return ledger.checkin(client, leaseId, nowMs);
        } finally {
            lock.unlock();
        }
    }

    /** CHECKIN presenting the hash of a reclaim secret ({@code null}: none); see {@link SeatLedger#checkin}. */
    public ErrorCode checkin(ClientRef client, UUID leaseId, SecretHash presented, long nowMs) {
        lock.lock();
        try {
            return ledger.checkin(client, leaseId, presented, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public List<Message.LeaseStatus> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
        lock.lock();
        try {
            return ledger.heartbeat(client, leaseIds, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public void sessionLost(long sessionId, long nowMs) {
        lock.lock();
        try {
            ledger.sessionLost(sessionId, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public int releaseAllOf(ClientRef client, long nowMs) {
        lock.lock();
        try {
            return ledger.releaseAllOf(client, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public ErrorCode forceRelease(UUID leaseId, long nowMs) {
        lock.lock();
        try {
            return ledger.forceRelease(leaseId, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public void tick(long nowMs) {
        lock.lock();
        try {
            ledger.tick(nowMs);
        } finally {
            lock.unlock();
        }
    }

    public void upsertEntitlement(Entitlement e, long nowMs) {
        lock.lock();
        try {
            ledger.upsertEntitlement(e, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public void removeEntitlement(String entitlementId, long nowMs) {
        lock.lock();
        try {
            ledger.removeEntitlement(entitlementId, nowMs);
        } finally {
            lock.unlock();
        }
    }

    public void restoreLease(LeaseView lease, long graceUntilMs) {
        lock.lock();
        try {
            ledger.restoreLease(lease, graceUntilMs);
        } finally {
            lock.unlock();
        }
    }

    /** See {@link SeatLedger#startRestartGrace}. */
    public int startRestartGrace(long graceUntilMs) {
        lock.lock();
        try {
            return ledger.startRestartGrace(graceUntilMs);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<PoolView> pools() {
        return read(ledger::pools);
    }

    @Override
    public Optional<LeaseView> lease(UUID id) {
        return read(() -> ledger.lease(id));
    }

    /** O(leases) under the lock: for admin pages, not for every request. */
    @Override
    public List<LeaseView> leases() {
        return read(ledger::leases);
    }

    /** Leases and queued checkouts of a session: what keeps it from being evicted as idle. */
    @Override
    public int holdingsOf(long sessionId) {
        return read(() -> ledger.holdingsOf(sessionId));
    }

    @Override
    public List<LeaseView> leasesOf(long sessionId) {
        return read(() -> ledger.leasesOf(sessionId));
    }

    /** Pools, leases, waiters and next deadline in one consistent picture; O(pools + leases) under the lock. */
    public LedgerSnapshot snapshot() {
        return read(ledger::snapshot);
    }

    @Override
    public int leaseCount() {
        return read(ledger::leaseCount);
    }

    @Override
    public int waiterCount() {
        return read(ledger::waiterCount);
    }

    public long nextDeadlineMs() {
        return read(ledger::nextDeadlineMs);
    }

    private <T> T read(Supplier<T> query) {
        Objects.requireNonNull(query);
        lock.lock();
        try {
            return query.get();
        } finally {
            lock.unlock();
        }
    }

    // replication: runs {@code f} on the ledger under the lock, so a replicated state machine applies a command or
    // takes / installs a snapshot atomically (the triad's, dev.turnstile.appliance.triad)
    public <T> T locked(java.util.function.Function<SeatLedger, T> f) {
        lock.lock();
        try {
            return f.apply(ledger);
        } finally {
            lock.unlock();
        }
    }
}
