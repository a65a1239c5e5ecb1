package dev.turnstile.appliance.systemd;

import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the service manager about the appliance's state with the {@code sd_notify} protocol
 * (systemd.service(5) {@code Type=notify}, sd_notify(3)): one datagram of {@code KEY=VALUE} lines
 * sent to the {@code AF_UNIX}/{@code SOCK_DGRAM} socket named by {@code $NOTIFY_SOCKET}, which
 * may live in the abstract namespace (a leading {@code '@'}).
 *
 * <p>The JDK can open {@code AF_UNIX} stream sockets but not datagram ones, so the datagrams go
 * through Netty's epoll transport ({@code EpollDomainDatagramChannel}), which Vert.x already
 * ships. No extra native library and no {@code systemd-notify} child process: the datagrams come
 * from the main PID, so the unit keeps the default {@code NotifyAccess=main}.
 *
 * <p>Thread-safety: every method may be called from any thread, event loops included. Sending
 * never blocks: the datagram is handed to a private single-thread Netty loop and the returned
 * future completes once the kernel took it (or failed, which is logged and never thrown).
 *
 * <p>Without {@code $NOTIFY_SOCKET} (a developer's shell, a test) the notifier is a no-op whose
 * futures complete at once.
 */
public final class SystemdNotifier implements AutoCloseable {

    /** Environment variable naming the notification socket. */
    public static final String ENV_NOTIFY_SOCKET = "NOTIFY_SOCKET";
    /** Environment variable carrying the watchdog interval, in microseconds. */
    public static final String ENV_WATCHDOG_USEC = "WATCHDOG_USEC";
    /** Environment variable naming the PID the watchdog applies to; absent means "the main PID". */
    public static final String ENV_WATCHDOG_PID = "WATCHDOG_PID";
    /** sd_notify's STATUS= is free text of one line; longer strings are cut to this many chars. */
    public static final int MAX_STATUS_CHARS = 512;

    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);

    /** Where the datagrams go; package-private so tests can record them. */
    interface Transport {
        CompletableFuture<Void> send(String datagram);

        void close();
    }

    private static final Transport NOOP = new Transport() {
        @Override
        public CompletableFuture<Void> send(String datagram) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void close() {
        }
    };

    private final Transport transport;
    private final boolean enabled;
    private final OptionalLong watchdogUsec;

    SystemdNotifier(Transport transport, boolean enabled, OptionalLong watchdogUsec) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.enabled = enabled;
        this.watchdogUsec = Objects.requireNonNull(watchdogUsec, "watchdogUsec");
    }

    /** Reads {@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC} and {@code WATCHDOG_PID} from the process environment. */
    public static SystemdNotifier fromEnvironment() {
        return fromEnvironment(System.getenv(), ProcessHandle.current().pid());
    }

    /**
     * Same as {@link #fromEnvironment()} with an explicit environment and PID, for tests. Never
     * throws: a socket that cannot be opened (no epoll native library, not Linux) gives a no-op
     * notifier and an error in the log, because a service manager waiting for READY=1 will then
     * time out and say so, which is the better failure than no appliance at all.
     */
    public static SystemdNotifier fromEnvironment(Map<String, String> env, long pid) {
        OptionalLong watchdog = parseWatchdogUsec(env, pid);
        String socket = env.get(ENV_NOTIFY_SOCKET);
        if (socket == null || socket.isEmpty()) {
            return new SystemdNotifier(NOOP, false, watchdog);
        }
        try {
            return new SystemdNotifier(EpollNotifyTransport.open(socket), true, watchdog);
        } catch (RuntimeException | LinkageError e) {
            LOG.error("systemd: cannot open NOTIFY_SOCKET={} ({}); readiness and watchdog pings will not be sent",
                    socket, e.toString());
            return new SystemdNotifier(NOOP, false, watchdog);
        }
    }

    /**
     * The watchdog interval systemd expects pings within ({@code WatchdogSec=}), following
     * sd_watchdog_enabled(3): empty when {@code WATCHDOG_USEC} is unset, not a positive number, or
     * when {@code WATCHDOG_PID} names another process.
     */
    static OptionalLong parseWatchdogUsec(Map<String, String> env, long pid) {
        String usec = env.get(ENV_WATCHDOG_USEC);
        if (usec == null || usec.isBlank()) {
            return OptionalLong.empty();
        }
        String forPid = env.get(ENV_WATCHDOG_PID);
        try {
            if (forPid != null && !forPid.isBlank() && Long.parseLong(forPid.trim()) != pid) {
                return OptionalLong.empty();
            }
            long value = Long.parseLong(usec.trim());
            return value > 0 ? OptionalLong.of(value) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            LOG.warn("systemd: ignoring malformed {}={} / {}={}", ENV_WATCHDOG_USEC, usec, ENV_WATCHDOG_PID, forPid);
            return OptionalLong.empty();
        }
    }

    /** True when datagrams actually go somewhere. */
    public boolean isEnabled() {
        return enabled;
    }

    /** {@code WATCHDOG_USEC} when the watchdog is enabled for this process. */
    public OptionalLong watchdogIntervalMicros() {
        return watchdogUsec;
    }

    /** {@code READY=1}: start-up (or a reload) finished; the unit becomes "active (running)". */
    public CompletableFuture<Void> ready() {
        return send("READY=1");
    }

    /** {@code READY=1} with a {@code STATUS=} line in the same datagram. */
    public CompletableFuture<Void> ready(String status) {
        return send("READY=1\nSTATUS=" + oneLine(status));
    }

    /**
     * {@code RELOADING=1} with {@code MONOTONIC_USEC=} (required by systemd 253's
     * {@code Type=notify-reload}, ignored by older ones); follow it with {@link #ready()}.
     */
    public CompletableFuture<Void> reloading() {
        // System.nanoTime() is CLOCK_MONOTONIC on Linux, the clock sd_notify wants here.
        return send("RELOADING=1\nMONOTONIC_USEC=" + (System.nanoTime() / 1_000L));
    }

    /** {@code STOPPING=1}: graceful shutdown started. */
    public CompletableFuture<Void> stopping() {
        return send("STOPPING=1");
    }

    /** {@code STATUS=...}: one line shown by {@code systemctl status}. */
    public CompletableFuture<Void> status(String status) {
        return send("STATUS=" + oneLine(status));
    }

    /** {@code WATCHDOG=1}: the keep-alive ping. Use {@link Watchdog} rather than calling this directly. */
    public CompletableFuture<Void> watchdog() {
        return send("WATCHDOG=1");
    }

    /** Sends a raw notification (several {@code KEY=VALUE} lines separated by {@code \n}). */
    public CompletableFuture<Void> send(String datagram) {
        Objects.requireNonNull(datagram, "datagram");
        return transport.send(datagram);
    }

    /** Releases the socket and its thread; later sends are dropped. Idempotent. */
    @Override
    public void close() {
        transport.close();
    }

    static String oneLine(String s) {
        String t = s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
        return t.length() > MAX_STATUS_CHARS ? t.substring(0, MAX_STATUS_CHARS) : t;
    }
}
