package dev.turnstile.appliance.seat.bench;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.seat.SeatLedger;
import dev.turnstile.protocol.ErrorCode;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The ways of letting several Vert.x event loops reach the ledger that the benchmarks compare. Only
 * the operations the cycle benchmark needs are modelled; each candidate pays the real costs its full
 * version would pay (locks, routing maps, thread hand-offs).
 */
final class Candidates {

    private Candidates() {
    }

    /** The slice of the ledger API the benchmarks drive. */
    interface Facade extends AutoCloseable {
        void upsertEntitlement(Entitlement e, long nowMs);

        CheckoutOutcome checkout(CheckoutCommand c);

        ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs);

        @Override
        default void close() {
        }
    }

    static Facade create(String name, LedgerSettings settings, List<String> products) {
        switch (name) {
            case "unsynchronized":
                return new Unsynchronized(settings);
            case "synchronized":
                return new Synchronized(settings);
            case "reentrantLock":
                return new Locked(settings);
            case "stripedByProduct":
                return new Striped(settings, products);
            case "ownerThread":
                return new OwnerThread(settings);
            case "concurrentLedger":
                return new Production(settings);
            default:
                throw new IllegalArgumentException("unknown candidate " + name);
        }
    }

    /** Baseline: the bare state machine, no thread safety (single-threaded only). */
    static final class Unsynchronized implements Facade {
        private final SeatLedger ledger;

        Unsynchronized(LedgerSettings settings) {
            ledger = new SeatLedger(settings, LedgerListener.NONE);
        }

        public void upsertEntitlement(Entitlement e, long nowMs) {
            ledger.upsertEntitlement(e, nowMs);
        }

        public CheckoutOutcome checkout(CheckoutCommand c) {
            return ledger.checkout(c);
        }

        public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
            return ledger.checkin(client, leaseId, nowMs);
        }
    }

    /** One monitor around the whole ledger. */
    static final class Synchronized implements Facade {
        private final SeatLedger ledger;

        Synchronized(LedgerSettings settings) {
            ledger = new SeatLedger(settings, LedgerListener.NONE);
        }

        public synchronized void upsertEntitlement(Entitlement e, long nowMs) {
            ledger.upsertEntitlement(e, nowMs);
        }

        public synchronized CheckoutOutcome checkout(CheckoutCommand c) {
            return ledger.checkout(c);
        }

        public synchronized ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
            return ledger.checkin(client, leaseId, nowMs);
        }
    }

    /** One non-fair ReentrantLock around the whole ledger. */
    static final class Locked implements Facade {
        private final SeatLedger ledger;
        private final ReentrantLock lock = new ReentrantLock();

        Locked(LedgerSettings settings) {
            ledger = new SeatLedger(settings, LedgerListener.NONE);
        }

        public void upsertEntitlement(Entitlement e, long nowMs) {
            lock.lock();
            try {
                ledger.upsertEntitlement(e, nowMs);
            } finally {
                lock.unlock();
            }
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
    }

    /**
     * One ledger and one lock per product (stripe), plus the lease-id -> stripe routing map that
     * heartbeat and checkin need. A full version would also need cross-stripe session limits,
     * sessionLost over every stripe and a merged journal order.
     */
    static final class Striped implements Facade {
        private final ConcurrentHashMap<String, Locked> byProduct = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<UUID, Locked> byLease = new ConcurrentHashMap<>();

        Striped(LedgerSettings settings, List<String> products) {
            for (String p : products) {
                byProduct.put(p, new Locked(settings));
            }
        }

        public void upsertEntitlement(Entitlement e, long nowMs) {
            byProduct.get(e.productId()).upsertEntitlement(e, nowMs);
        }

        public CheckoutOutcome checkout(CheckoutCommand c) {
            Locked stripe = byProduct.get(c.product());
            CheckoutOutcome o = stripe.checkout(c);
            if (o instanceof CheckoutOutcome.Granted) {
                byLease.put(((CheckoutOutcome.Granted) o).lease().leaseId(), stripe);
            }
            return o;
        }

        public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
            Locked stripe = byLease.get(leaseId);
            if (stripe == null) {
                return ErrorCode.LEASE_ID_NOT_FOUND;
            }
            ErrorCode code = stripe.checkin(client, leaseId, nowMs);
            if (code == ErrorCode.OK) {
                byLease.remove(leaseId);
            }
            return code;
        }
    }

    /** A single owner thread runs every command from a queue; callers wait for the answer. */
    static final class OwnerThread implements Facade {
        private final SeatLedger ledger;
        private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
        private final Thread owner;
        private volatile boolean running = true;

        OwnerThread(LedgerSettings settings) {
            ledger = new SeatLedger(settings, LedgerListener.NONE);
            owner = new Thread(() -> {
                while (running) {
                    try {
                        queue.take().run();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "ledger-owner");
            owner.setDaemon(true);
            owner.start();
        }

        private <T> T call(Supplier<T> command) {
            CompletableFuture<T> f = new CompletableFuture<>();
            queue.add(() -> f.complete(command.get()));
            return f.join();
        }

        public void upsertEntitlement(Entitlement e, long nowMs) {
            call(() -> {
                ledger.upsertEntitlement(e, nowMs);
                return null;
            });
        }

        public CheckoutOutcome checkout(CheckoutCommand c) {
            return call(() -> ledger.checkout(c));
        }

        public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
            return call(() -> ledger.checkin(client, leaseId, nowMs));
        }

        @Override
        public void close() {
            running = false;
            owner.interrupt();
        }
    }

    /** The shipped {@link ConcurrentLedger}. */
    static final class Production implements Facade {
        private final ConcurrentLedger ledger;

        Production(LedgerSettings settings) {
            ledger = new ConcurrentLedger(settings, LedgerListener.NONE);
        }

        public void upsertEntitlement(Entitlement e, long nowMs) {
            ledger.upsertEntitlement(e, nowMs);
        }

        public CheckoutOutcome checkout(CheckoutCommand c) {
            return ledger.checkout(c);
        }

        public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
            return ledger.checkin(client, leaseId, nowMs);
        }
    }
}
