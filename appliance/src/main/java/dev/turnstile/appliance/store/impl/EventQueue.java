package dev.turnstile.appliance.store.impl;

import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * The store's in-memory queue: any thread offers (the ledger's event loops, lock-free, never blocking), the writer
 * alone takes. Counts what was offered and taken, so the depth is known without walking the queue, and wakes the
 * writer when it waits and enough events are there to be worth a batch.
 */
final class EventQueue {
    private final ConcurrentLinkedQueue<QueuedEvent> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong offered = new AtomicLong();
    /** Written by the writer only. */
    private volatile long taken;
    /** Beyond this many events in memory (the writer cannot even spill), events are dropped. */
    private final long hardLimit;
    private final LongAdder dropped = new LongAdder();
    private final AtomicBoolean writerIdle = new AtomicBoolean();
    private volatile long wakeThreshold = 1;
    private volatile Runnable waker = () -> { };

    EventQueue(long hardLimit) {
        this.hardLimit = hardLimit;
    }

    /** What to run (on any thread) to wake a waiting writer. */
    void waker(Runnable r) {
        this.waker = r;
    }

    /**
     * Enqueues {@code q}. Returns the depth after it, or -1 when it was dropped (more than the hard limit waits:
     * counted in {@link #dropped()}).
     */
    long offer(QueuedEvent q) {
        long depth = offered.incrementAndGet() - taken;
        if (depth > hardLimit) {
            offered.decrementAndGet(); // counted in dropped instead
            dropped.increment();
            return -1;
        }
        queue.offer(q);
        if (depth >= wakeThreshold && writerIdle.get() && writerIdle.compareAndSet(true, false)) {
            waker.run();
        }
        return depth;
    }

    /** The writer waits: wake it once {@code threshold} events are queued. */
    void idle(long threshold) {
        wakeThreshold = threshold;
        writerIdle.set(true);
    }

    /** The writer runs (no wake-up needed). */
    void busy() {
        writerIdle.set(false);
    }

    /** Writer only: the oldest event, taken off the queue; null when empty. */
    QueuedEvent poll() {
        return queue.poll();
    }

    QueuedEvent peek() {
        return queue.peek();
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Writer only: {@code n} events were taken off with {@link #poll()} (counted once they are accounted for). */
    void taken(long n) {
        taken += n;
    }

    /** Writer only: removes every queued event {@code which} selects, counts them as taken, returns how many. */
    long removeIf(Predicate<QueuedEvent> which) {
        long removed = 0;
        for (Iterator<QueuedEvent> it = queue.iterator(); it.hasNext(); ) {
            if (which.test(it.next())) {
                it.remove();
                removed++;
            }
        }
        taken += removed;
        return removed;
    }

    /** Events offered and not yet taken by the writer. */
    long depth() {
        return Math.max(0, offered.get() - taken);
    }

    /** Events accepted since the start (a barrier's target). */
    long offered() {
        return offered.get();
    }

    long dropped() {
        return dropped.sum();
    }
}
