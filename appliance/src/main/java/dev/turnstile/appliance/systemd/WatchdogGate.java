package dev.turnstile.appliance.systemd;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The decision behind {@link Watchdog}, free of timers so it can be tested with made-up times:
 * each of {@code loops} event loops checks in; a ping is due only when <em>every</em> loop has
 * checked in within {@code staleAfterNanos}, and at most once per {@code minGapNanos}.
 *
 * <p>Thread-safe and lock-free: each loop writes its own slot, the ping slot is claimed by CAS.
 */
final class WatchdogGate {

    /** Marks a loop that has not checked in yet: no ping until every loop has, once. */
    private static final long NEVER = Long.MIN_VALUE;

    private final AtomicLongArray lastCheckIn;
    private final AtomicLong lastPing = new AtomicLong(NEVER);
    private final long staleAfterNanos;
    private final long minGapNanos;

    WatchdogGate(int loops, long staleAfterNanos, long minGapNanos) {
        if (loops < 1) {
            throw new IllegalArgumentException("loops must be at least 1, got " + loops);
        }
        if (staleAfterNanos <= 0 || minGapNanos < 0) {
            throw new IllegalArgumentException("staleAfterNanos must be > 0 and minGapNanos >= 0");
        }
        this.lastCheckIn = new AtomicLongArray(loops);
        for (int i = 0; i < loops; i++) {
            lastCheckIn.set(i, NEVER);
        }
        this.staleAfterNanos = staleAfterNanos;
        this.minGapNanos = minGapNanos;
    }

    int loops() {
        return lastCheckIn.length();
    }

    /**
     * Records that {@code loop} ran at {@code nowNanos} ({@link System#nanoTime()} scale) and says
     * whether the caller should send {@code WATCHDOG=1} now. Returns true to at most one caller
     * per {@code minGapNanos}.
     */
    boolean checkIn(int loop, long nowNanos) {
        lastCheckIn.set(loop, nowNanos);
        if (!allFresh(nowNanos)) {
            return false;
        }
        long previous = lastPing.get();
        if (previous != NEVER && nowNanos - previous < minGapNanos) {
            return false;
        }
        return lastPing.compareAndSet(previous, nowNanos);
    }

    /** True when every loop checked in within {@code staleAfterNanos} of {@code nowNanos}. */
    boolean allFresh(long nowNanos) {
        for (int i = 0; i < lastCheckIn.length(); i++) {
            long t = lastCheckIn.get(i);
            if (t == NEVER || nowNanos - t > staleAfterNanos) {
                return false;
            }
        }
        return true;
    }

    /** Index of the loop that has been silent longest, for the log; -1 when all are fresh. */
    int stalest(long nowNanos) {
        int worst = -1;
        long worstAge = staleAfterNanos;
        for (int i = 0; i < lastCheckIn.length(); i++) {
            long t = lastCheckIn.get(i);
            long age = t == NEVER ? Long.MAX_VALUE : nowNanos - t;
            if (age > worstAge) {
                worstAge = age;
                worst = i;
            }
        }
        return worst;
    }
}
