package dev.turnstile.appliance.systemd;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends {@code WATCHDOG=1} only while <em>every</em> Vert.x event loop is alive, so that one stuck
 * loop (a blocking call, a livelock) gets the service restarted by systemd's {@code WatchdogSec=}.
 *
 * <p>A periodic task runs on each event loop every {@link #checkPeriod()} (a quarter of the
 * watchdog interval) and checks in. Whichever loop ticks sends the ping, but only when all loops
 * checked in within {@link #staleAfter()} (half the interval). A loop that stops running its tasks
 * therefore stops the pings after at most half the interval, and systemd acts one interval after the
 * last ping; a healthy process pings about four times per interval, enough slack for GC pauses and
 * a busy machine.
 *
 * <p>The tasks are scheduled on Netty's event loops underneath Vert.x (reached through
 * {@code VertxInternal.nettyEventLoopGroup()}, the only internal API used here), so they run
 * between the handlers of that very thread and cannot be serviced by another one.
 */
public final class Watchdog implements AutoCloseable {

    /** Checks per watchdog interval on each event loop. */
    public static final int CHECKS_PER_INTERVAL = 4;
    /** A loop silent for longer than interval / this is considered stuck. */
    public static final int STALE_DIVISOR = 2;
    /** Shortest check period, whatever WATCHDOG_USEC says. */
    public static final long MIN_CHECK_PERIOD_MS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(Watchdog.class);

    private final SystemdNotifier notifier;
    private final WatchdogGate gate;
    private final Duration interval;
    private final Duration checkPeriod;
    private final Duration staleAfter;
    private final List<ScheduledFuture<?>> timers = new ArrayList<>();
    private final AtomicReferenceArray<String> threadNames;
    private final AtomicLong pings = new AtomicLong();
    private final AtomicBoolean withholding = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();

    private Watchdog(SystemdNotifier notifier, int loops, Duration interval) {
        this.notifier = notifier;
        this.interval = interval;
        long periodMs = Math.max(MIN_CHECK_PERIOD_MS, interval.toMillis() / CHECKS_PER_INTERVAL);
        this.checkPeriod = Duration.ofMillis(periodMs);
        this.staleAfter = interval.dividedBy(STALE_DIVISOR);
        // One ping per half check period at most: the loops' timers drift apart, so ticks of
        // different loops must be allowed to ping a little early.
        this.gate = new WatchdogGate(loops, staleAfter.toNanos(), checkPeriod.toNanos() / 2);
        this.threadNames = new AtomicReferenceArray<>(loops);
    }

    /**
     * Starts the watchdog when systemd asked for one ({@code WATCHDOG_USEC} set for this PID);
     * empty otherwise. Call it once the appliance is ready; systemd arms its watchdog at READY=1.
     */
    public static Optional<Watchdog> startIfEnabled(Vertx vertx, SystemdNotifier notifier) {
        OptionalLong usec = notifier.watchdogIntervalMicros();
        if (usec.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(start(vertx, notifier, Duration.ofNanos(Math.multiplyExact(usec.getAsLong(), 1_000L))));
    }

    /** Starts pinging for a watchdog {@code interval}, with a periodic task on every event loop of {@code vertx}. */
    public static Watchdog start(Vertx vertx, SystemdNotifier notifier, Duration interval) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(notifier, "notifier");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("watchdog interval must be positive, got " + interval);
        }
        List<EventExecutor> loops = eventLoops(vertx);
        Watchdog w = new Watchdog(notifier, loops.size(), interval);
        long period = w.checkPeriod.toNanos();
        for (int i = 0; i < loops.size(); i++) {
            int index = i;
            w.timers.add(loops.get(i).scheduleAtFixedRate(() -> w.tick(index), 0, period, TimeUnit.NANOSECONDS));
        }
        LOG.info("systemd watchdog: interval {} ms, {} event loops checked every {} ms, a loop silent for {} ms stops the pings",
                interval.toMillis(), loops.size(), w.checkPeriod.toMillis(), w.staleAfter.toMillis());
        return w;
    }

    static List<EventExecutor> eventLoops(Vertx vertx) {
        EventLoopGroup group = ((VertxInternal) vertx).nettyEventLoopGroup();
        List<EventExecutor> loops = new ArrayList<>();
        for (EventExecutor e : group) {
            loops.add(e);
        }
        if (loops.isEmpty()) {
            throw new IllegalStateException("Vert.x reports no event loops");
        }
        return loops;
    }

    private void tick(int loop) {
        if (closed.get()) {
            return;
        }
        if (threadNames.get(loop) == null) {
            threadNames.set(loop, Thread.currentThread().getName());
        }
        long now = System.nanoTime();
        if (gate.checkIn(loop, now)) {
            pings.incrementAndGet();
            notifier.watchdog();
            if (withholding.compareAndSet(true, false)) {
                LOG.info("systemd watchdog: all {} event loops run again; pings resumed", gate.loops());
            }
        } else if (pings.get() > 0 && !gate.allFresh(now) && withholding.compareAndSet(false, true)) {
            // (Before the first ping, some loops simply have not ticked yet: nothing to report.)
            int stuck = gate.stalest(now);
            String name = stuck < 0 ? "?" : String.valueOf(threadNames.get(stuck));
            LOG.error("systemd watchdog: event loop {} ({}) has not run for over {} ms; withholding WATCHDOG=1, "
                    + "systemd restarts the service if this lasts", stuck, name, staleAfter.toMillis());
        }
    }

    /** The interval systemd expects pings within. */
    public Duration interval() {
        return interval;
    }

    /** How often each event loop checks in. */
    public Duration checkPeriod() {
        return checkPeriod;
    }

    /** Silence after which a loop counts as stuck and pings stop. */
    public Duration staleAfter() {
        return staleAfter;
    }

    /** Number of event loops watched. */
    public int eventLoops() {
        return gate.loops();
    }

    /** Cancels the periodic tasks. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            for (ScheduledFuture<?> t : timers) {
                t.cancel(false);
            }
        }
    }
}
