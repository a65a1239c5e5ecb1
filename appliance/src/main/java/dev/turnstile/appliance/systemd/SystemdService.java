package dev.turnstile.appliance.systemd;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's side of {@code systemd/turnstile.service}, in one place so that {@code Main}
 * needs three calls:
 * <pre>
 * SystemdService systemd = SystemdService.fromEnvironment();          // before start-up
 * ...start the appliance (config, license, TCP and HTTP listening)...
 * systemd.ready(vertx, "serving tcp 0.0.0.0:7878", reloadAction);    // READY=1, watchdog, signals
 * systemd.startFailed(cause);                                         // or this, then exit non-zero
 * </pre>
 *
 * <ul>
 *   <li>{@code READY=1} goes out only when {@link #ready} is called, i.e. after everything listens.</li>
 *   <li>{@link Watchdog} pings while every event loop runs ({@code WatchdogSec=}).</li>
 *   <li>{@code SIGHUP} ({@code systemctl reload}): {@code RELOADING=1}, the reload action on an event
 *       loop, then {@code READY=1} with the outcome in {@code STATUS=}. Reloads never overlap; a HUP
 *       during a reload runs one more reload after it.</li>
 *   <li>{@code SIGTERM} / {@code SIGINT}: {@code STOPPING=1}, then {@code System.exit(0)}, which
 *       runs the appliance's shutdown hook (drain, close). Without this the JVM would exit with
 *       143 after the hooks, which systemd would count as a failure.</li>
 * </ul>
 *
 * <p>Outside systemd ({@code NOTIFY_SOCKET} unset) the notifications are no-ops; the signal
 * handling still applies, so {@code kill -HUP} reloads a process started by hand too.
 */
public final class SystemdService implements AutoCloseable {

    /**
     * Test-only hook: milliseconds after {@link #ready} at which one event loop is blocked (with a
     * sleep, the very bug the watchdog exists for). Never set it in production.
     */
    public static final String ENV_TEST_BLOCK_AFTER_MS = "TURNSTILE_TEST_BLOCK_EVENT_LOOP_AFTER_MS";
    /** Test-only hook: how long the loop stays blocked, default {@value #DEFAULT_TEST_BLOCK_FOR_MS} ms. */
    public static final String ENV_TEST_BLOCK_FOR_MS = "TURNSTILE_TEST_BLOCK_EVENT_LOOP_FOR_MS";
    public static final long DEFAULT_TEST_BLOCK_FOR_MS = 4_000;
    public static final long MAX_TEST_BLOCK_FOR_MS = 60_000;
    /** STATUS= text sent just before the test hook blocks its loop, and just after. */
    public static final String STATUS_TEST_BLOCKING = "test hook: blocking an event loop";
    public static final String STATUS_TEST_UNBLOCKED = "test hook: event loop unblocked";

    private static final Logger LOG = LoggerFactory.getLogger(SystemdService.class);

    private final SystemdNotifier notifier;
    private final Map<String, String> env;
    private final AtomicBoolean readySent = new AtomicBoolean();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicBoolean reloading = new AtomicBoolean();
    private final AtomicBoolean reloadAgain = new AtomicBoolean();
    private volatile Watchdog watchdog;
    private volatile String runningStatus = "running";

    SystemdService(SystemdNotifier notifier, Map<String, String> env) {
        this.notifier = Objects.requireNonNull(notifier, "notifier");
        this.env = Map.copyOf(env);
    }

    /** Reads NOTIFY_SOCKET / WATCHDOG_USEC from the process environment. Cheap; does not block. */
    public static SystemdService fromEnvironment() {
        SystemdNotifier n = SystemdNotifier.fromEnvironment();
        if (n.isEnabled()) {
            LOG.info("systemd: notifying {}{}", System.getenv(SystemdNotifier.ENV_NOTIFY_SOCKET),
                    n.watchdogIntervalMicros().isPresent()
                            ? ", watchdog every " + n.watchdogIntervalMicros().getAsLong() / 1000 + " ms" : "");
        }
        return new SystemdService(n, System.getenv());
    }

    public SystemdNotifier notifier() {
        return notifier;
    }

    /** The running watchdog, if systemd asked for one and {@link #ready} was called. */
    public Optional<Watchdog> watchdog() {
        return Optional.ofNullable(watchdog);
    }

    /** {@code STATUS=} while starting, e.g. "loading license". */
    public void status(String status) {
        notifier.status(status);
    }

    /**
     * Call once the appliance is fully up (configuration and license loaded, TCP and HTTP servers
     * listening): sends {@code READY=1} with {@code status}, starts the watchdog and installs the
     * SIGHUP/SIGTERM/SIGINT handlers.
     *
     * @param reload what SIGHUP does (re-read the configuration, apply entitlements, log levels and the
     *               license file); called on a Vert.x event loop, must not block it, may fail
     */
    public void ready(Vertx vertx, String status, Supplier<Future<?>> reload) {
        Objects.requireNonNull(vertx, "vertx");
        Objects.requireNonNull(reload, "reload");
        if (!readySent.compareAndSet(false, true)) {
            throw new IllegalStateException("ready() called twice");
        }
        runningStatus = status;
        installSignals(vertx, reload);
        notifier.ready(status);
        watchdog = Watchdog.startIfEnabled(vertx, notifier).orElse(null);
        armTestHook(vertx);
    }

    /** Start-up failed: say why in {@code systemctl status}; the caller then exits non-zero. */
    public void startFailed(Throwable cause) {
        String why = cause.getMessage() == null ? cause.toString() : cause.getMessage();
        awaitQuietly(notifier.status("start failed: " + why));
    }

    /** {@code STOPPING=1} once; safe to call from several shutdown paths. Waits up to 1 s for the datagram. */
    public void stopping(String why) {
        if (stopping.compareAndSet(false, true)) {
            notifier.stopping();
            awaitQuietly(notifier.status("stopping: " + why));
        }
    }

    private void installSignals(Vertx vertx, Supplier<Future<?>> reload) {
        handle("HUP", sig -> requestReload(vertx, reload));
        for (String name : new String[] {"TERM", "INT"}) {
            handle(name, sig -> {
                LOG.info("SIG{} received: shutting down", sig);
                stopping("SIG" + sig);
                // Runs the shutdown hooks (drain, close), then exits 0. Not on an event loop: signal
                // handlers get a thread of their own.
                System.exit(0);
            });
        }
    }

    private static void handle(String name, java.util.function.Consumer<String> action) {
        if (!Signals.handle(name, action)) {
            // The JVM keeps some signals (e.g. with -Xrs); say so and carry on without.
            LOG.warn("systemd: cannot handle SIG{}; the JVM keeps it", name);
        }
    }

    void requestReload(Vertx vertx, Supplier<Future<?>> reload) {
        if (stopping.get()) {
            return;
        }
        if (!reloading.compareAndSet(false, true)) {
            reloadAgain.set(true);
            LOG.info("SIGHUP during a reload: one more reload follows");
            return;
        }
        LOG.info("SIGHUP received: reloading");
        notifier.reloading();
        notifier.status("reloading");
        vertx.runOnContext(v -> {
            Future<?> f;
            try {
                f = reload.get();
            } catch (RuntimeException e) {
                f = Future.failedFuture(e);
            }
            f.onComplete(ar -> {
                String at = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
                if (ar.succeeded()) {
                    LOG.info("reload done");
                    notifier.ready(runningStatus + "; reloaded " + at);
                } else {
                    Throwable e = ar.cause();
                    LOG.error("reload failed, still running with the previous configuration: {}", e.toString());
                    notifier.ready(runningStatus + "; reload failed " + at + ": "
                            + (e.getMessage() == null ? e.toString() : e.getMessage()));
                }
                reloading.set(false);
                if (reloadAgain.getAndSet(false)) {
                    requestReload(vertx, reload);
                }
            });
        });
    }

    private void armTestHook(Vertx vertx) {
        String after = env.get(ENV_TEST_BLOCK_AFTER_MS);
        if (after == null || after.isBlank()) {
            return;
        }
        long afterMs;
        long forMs;
        try {
            afterMs = Math.max(1, Long.parseLong(after.trim()));
            String forText = env.get(ENV_TEST_BLOCK_FOR_MS);
            forMs = forText == null || forText.isBlank() ? DEFAULT_TEST_BLOCK_FOR_MS
                    : Math.min(MAX_TEST_BLOCK_FOR_MS, Math.max(1, Long.parseLong(forText.trim())));
        } catch (NumberFormatException e) {
            LOG.warn("ignoring {}/{}: not a number of milliseconds", ENV_TEST_BLOCK_AFTER_MS, ENV_TEST_BLOCK_FOR_MS);
            return;
        }
        LOG.warn("{} is set: an event loop will be blocked for {} ms in {} ms (test hook; never use in production)",
                ENV_TEST_BLOCK_AFTER_MS, forMs, afterMs);
        vertx.setTimer(afterMs, id -> {
            String thread = Thread.currentThread().getName();
            notifier.status(STATUS_TEST_BLOCKING + " (" + thread + ") for " + forMs + " ms");
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(forMs);
            // Deliberately blocks the event loop: this is what the watchdog must catch.
            while (System.nanoTime() < until) {
                try {
                    Thread.sleep(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            notifier.status(STATUS_TEST_UNBLOCKED + " (" + thread + ")");
        });
    }

    private static void awaitQuietly(java.util.concurrent.CompletableFuture<Void> f) {
        try {
            f.get(1, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            // Already logged by the transport; nothing else to do.
        }
    }

    /** Stops the watchdog and closes the notify socket (after the datagrams already queued). */
    @Override
    public void close() {
        Watchdog w = watchdog;
        if (w != null) {
            w.close();
        }
        notifier.close();
    }
}
