package dev.turnstile.appliance.session;

import dev.turnstile.appliance.config.SessionLimitsConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The listener's resource limits, shared by every event loop (PROTOCOL.md section 7, issue 12):
 *
 * <ul>
 *   <li><b>Sessions per source address</b>: a connection over {@code server.max_sessions_per_address}
 *       is closed at once, before the server's preamble. Other addresses are not affected.</li>
 *   <li><b>Sessions in all</b>: at most {@code min(server.max_sessions, RLIMIT_NOFILE - server.fd_headroom)},
 *       so the admin page, PostgreSQL and the files always find a descriptor. When full, an idle
 *       session is evicted to make room (sessions before HELLO first, then sessions past HELLO that
 *       hold no lease and no queued checkout and have sent nothing for {@code server.evict_idle_after},
 *       oldest idle first); only when none qualifies is the new connection refused. A session that
 *       holds a seat or waits for one is never evicted.</li>
 *   <li><b>Incomplete frames</b>: bytes buffered for frames not yet whole, in all and per address. Over
 *       either budget, the sessions with the largest incomplete frames of the heaviest address are
 *       closed first, until the total is within budget again.</li>
 *   <li><b>Authentication back-off</b>: after {@code server.auth_failures_before_backoff} failed HELLOs
 *       from one address, its HELLOs are refused unchecked for {@code server.auth_backoff}, doubling
 *       with each further failure up to {@code server.auth_backoff_max}.</li>
 * </ul>
 *
 * <p>Thread-safe. Admission, eviction choice and shedding hold this object's lock (they are rare
 * and short; the ledger's lock may be taken inside it, never the other way round). The actions they
 * decide (closing a session) run on the session's own event loop.
 */
public final class SessionLimits {
    /** How many eviction candidates one scan keeps, oldest idle first. */
    private static final int CANDIDATES = 512;
    /** A scan that found nothing is not repeated sooner than this. */
    private static final long EMPTY_SCAN_PAUSE_MS = 100;
    /** Candidates older than this are rescanned: sessions may have woken up or gone idle since. */
    private static final long CANDIDATES_MAX_AGE_MS = 1_000;
    /** One refusal line per this interval at most, with the count since the last. */
    private static final long REFUSAL_LOG_INTERVAL_MS = 10_000;

    /** Why a new connection was closed before its preamble. Label values of {@code turnstile_session_refusals_total}. */
    public enum Refusal {
        PER_ADDRESS("per_address"), SESSION_LIMIT("session_limit"), DRAINING("draining");

        public final String label;

        Refusal(String label) {
            this.label = label;
        }
    }

    /** Why an open session was closed by the limits. Label values of {@code turnstile_session_evictions_total}. */
    public enum Eviction {
        IDLE_BEFORE_HELLO("idle_before_hello"),
        IDLE_WITHOUT_LEASE("idle_without_lease"),
        PARTIAL_FRAME_BUDGET("partial_frame_budget"),
        PARTIAL_FRAME_BUDGET_PER_ADDRESS("partial_frame_budget_per_address");

        public final String label;

        Eviction(String label) {
            this.label = label;
        }
    }

    /** One source address: its open sessions, the bytes of their incomplete frames, its failed HELLOs. */
    static final class Address {
        final String key;
        int sessions; // guarded by SessionLimits.this
        final AtomicLong partialBytes = new AtomicLong();
        final Set<Slot> members = ConcurrentHashMap.newKeySet();
        // guarded by this
        int authFailures;
        long lastFailureMs;
        long blockedUntilMs;

        Address(String key) {
            this.key = key;
        }
    }

    /** A session's place under the limits, from admission to close. */
    public static final class Slot {
        final Address address;
        final Session session;
        final AtomicLong partialBytes = new AtomicLong();
        boolean counted = true; // guarded by SessionLimits.this: counts towards the caps
        volatile boolean shed;

        Slot(Address address, Session session) {
            this.address = address;
            this.session = session;
        }

        public String address() {
            return address.key;
        }
    }

    /** What {@link #admit} decided: a slot, or a refusal; and perhaps a session to evict for it. */
    public record Admission(Slot slot, Refusal refusal, Slot evicted, Eviction evictedBecause, long evictedActivityMs) {
    }

    private record Candidate(Slot slot, Eviction kind, long lastActivityMs) {
    }

    private final SessionLimitsConfig config;
    private final int maxSessions;
    private final int configuredMaxSessions;
    private final long fdLimit;
    private final ConcurrentHashMap<String, Address> addresses = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong partialTotal = new AtomicLong();
    private final Map<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);
    private final Map<Eviction, LongAdder> evictions = new EnumMap<>(Eviction.class);
    private final LongAdder evictionsCancelled = new LongAdder();
    private final LongAdder authFailures = new LongAdder();
    private final LongAdder authBackoffs = new LongAdder();
    private final LongAdder authBackoffRefusals = new LongAdder();
    private final AtomicLong lastMaintenanceMs = new AtomicLong();
    private final ArrayDeque<Candidate> candidates = new ArrayDeque<>(); // guarded by this
    private long candidatesScannedMs = Long.MIN_VALUE / 2; // guarded by this
    private long lastRefusalLogMs = Long.MIN_VALUE / 2; // guarded by this
    private long refusalsSinceLog; // guarded by this

    /**
     * @param config              the limit keys of {@code server:}
     * @param configuredMaxSessions {@code server.max_sessions}
     * @param fdLimit             the process's descriptor limit (RLIMIT_NOFILE), or a negative number when unknown
     */
    public SessionLimits(SessionLimitsConfig config, int configuredMaxSessions, long fdLimit) {
        this.config = config;
        this.configuredMaxSessions = configuredMaxSessions;
        this.fdLimit = fdLimit;
        this.maxSessions = effectiveMaxSessions(configuredMaxSessions, fdLimit, config.fdHeadroom());
        for (Refusal r : Refusal.values()) {
            refusals.put(r, new LongAdder());
        }
        for (Eviction e : Eviction.values()) {
            evictions.put(e, new LongAdder());
        }
    }

    /** The session cap: {@code server.max_sessions}, lowered to keep {@code headroom} descriptors free. */
    public static int effectiveMaxSessions(int configured, long fdLimit, int headroom) {
        if (fdLimit <= 0) {
            return configured;
        }
        return (int) Math.max(1, Math.min(configured, fdLimit - headroom));
    }

    /** RLIMIT_NOFILE of this process, or -1 where the JVM cannot tell (not a Unix). */
    public static long processFdLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    public SessionLimitsConfig config() {
        return config;
    }

    /** The cap in force (after the descriptor limit). */
    public int maxSessions() {
        return maxSessions;
    }

    public long fdLimit() {
        return fdLimit;
    }

    /** One line for the start log: the caps and where they come from. */
    public String describe() {
        return "at most " + maxSessions + " connections (server.max_sessions " + configuredMaxSessions
                + (fdLimit > 0 ? ", descriptor limit " + fdLimit + " less server.fd_headroom " + config.fdHeadroom() : "")
                + "), " + config.maxSessionsPerAddress() + " per source address; incomplete frames at most "
                + config.partialFrameBudget() + " bytes (" + config.partialFrameBudgetPerAddress() + " per address)";
    }

    // ------------------------------------------------------------------ admission and eviction

    /**
     * Decides whether a new connection from {@code addressKey} may open. Called on the accepting
     * event loop. When the server is full and an idle session can go, the answer names it: the caller
     * hands it {@link Session#evict} on its own loop, which confirms or cancels.
     */
    public synchronized Admission admit(Session s, String addressKey, long nowMs) {
        Address a = addresses.computeIfAbsent(addressKey, Address::new);
        if (a.sessions >= config.maxSessionsPerAddress()) {
            return refuse(Refusal.PER_ADDRESS);
        }
        Candidate victim = null;
        if (open.get() >= maxSessions) {
            victim = pickIdle(nowMs);
            if (victim == null) {
                return refuse(Refusal.SESSION_LIMIT);
            }
            uncount(victim.slot());
        }
        Slot slot = new Slot(a, s);
        a.sessions++;
        a.members.add(slot);
        open.incrementAndGet();
        return victim == null ? new Admission(slot, null, null, null, 0)
                : new Admission(slot, null, victim.slot(), victim.kind(), victim.lastActivityMs());
    }

    private Admission refuse(Refusal r) {
        refusals.get(r).increment();
        return new Admission(null, r, null, null, 0);
    }

    /** Counts a refusal decided elsewhere (draining). */
    public void refused(Refusal r) {
        refusals.get(r).increment();
    }

    /**
     * Whether a refusal is worth a log line now (at most one per 10 s); the number of refusals since
     * the last line, or -1 for "stay quiet".
     */
    public synchronized long refusalsToLog(long nowMs) {
        refusalsSinceLog++;
        if (nowMs - lastRefusalLogMs < REFUSAL_LOG_INTERVAL_MS) {
            return -1;
        }
        lastRefusalLogMs = nowMs;
        long n = refusalsSinceLog;
        refusalsSinceLog = 0;
        return n;
    }

    private Candidate pickIdle(long nowMs) {
        for (int pass = 0; pass < 2; pass++) {
            boolean stale = nowMs - candidatesScannedMs > CANDIDATES_MAX_AGE_MS;
            if (candidates.isEmpty() || stale) {
                if (nowMs - candidatesScannedMs < EMPTY_SCAN_PAUSE_MS && !stale && pass == 0 && candidates.isEmpty()) {
                    return null; // scanned a moment ago and nothing qualified
                }
                scan(nowMs);
            }
            while (!candidates.isEmpty()) {
                Candidate c = candidates.poll();
                if (c.slot().counted && stillEvictable(c, nowMs)) {
                    return c;
                }
            }
        }
        return null;
    }

    /** Keeps the {@link #CANDIDATES} best victims: before HELLO first, then oldest idle. */
    private void scan(long nowMs) {
        candidatesScannedMs = nowMs;
        candidates.clear();
        Comparator<Candidate> order = Comparator.comparingInt((Candidate c) -> c.kind().ordinal())
                .thenComparingLong(Candidate::lastActivityMs);
        PriorityQueue<Candidate> best = new PriorityQueue<>(CANDIDATES + 1, order.reversed());
        for (Address a : addresses.values()) {
            for (Slot slot : a.members) {
                Eviction kind = cheapKind(slot.session, nowMs);
                if (kind == null || !slot.counted) {
                    continue;
                }
                best.add(new Candidate(slot, kind, slot.session.lastActivityMs()));
                if (best.size() > CANDIDATES) {
                    best.poll();
                }
            }
        }
        List<Candidate> sorted = new ArrayList<>(best);
        sorted.sort(order);
        candidates.addAll(sorted);
    }

    /** The eviction a session would qualify for judging by its own fields only, or null. Any thread. */
    private Eviction cheapKind(Session s, long nowMs) {
        if (s.beforeHello()) {
            return Eviction.IDLE_BEFORE_HELLO;
        }
        if (s.readyAndQuiet() && nowMs - s.lastActivityMs() >= config.evictIdleAfterMs()) {
            return Eviction.IDLE_WITHOUT_LEASE;
        }
        return null;
    }

    private boolean stillEvictable(Candidate c, long nowMs) {
        Session s = c.slot().session;
        if (s.lastActivityMs() != c.lastActivityMs() || cheapKind(s, nowMs) != c.kind()) {
            return false;
        }
        return c.kind() == Eviction.IDLE_BEFORE_HELLO || !s.holdsAnything();
    }

    /** The session was chosen for eviction but woke up first: it counts again. */
    synchronized void evictionCancelled(Slot slot) {
        evictionsCancelled.increment();
        if (!slot.counted && slot.session.open()) {
            slot.counted = true;
            slot.address.sessions++;
            open.incrementAndGet();
        }
    }

    void evicted(Eviction why) {
        evictions.get(why).increment();
    }

    /** The session's socket closed: its place and its buffered bytes are free. */
    synchronized void release(Slot slot) {
        if (slot == null) {
            return;
        }
        uncount(slot);
        slot.address.members.remove(slot);
        long p = slot.partialBytes.getAndSet(0);
        if (p != 0) {
            partialTotal.addAndGet(-p);
            slot.address.partialBytes.addAndGet(-p);
        }
    }

    private void uncount(Slot slot) {
        if (slot.counted) {
            slot.counted = false;
            slot.address.sessions--;
            open.decrementAndGet();
        }
    }

    // ------------------------------------------------------------------ incomplete frames

    /**
     * The session now buffers {@code bytes} of frames not yet whole (called on its loop when the figure
     * changes). Over a budget, sessions are shed: see the class comment.
     */
    void partialBytes(Slot slot, long bytes) {
        if (slot == null || slot.shed) {
            return;
        }
        long delta = bytes - slot.partialBytes.getAndSet(bytes);
        if (delta == 0) {
            return;
        }
        long total = partialTotal.addAndGet(delta);
        long mine = slot.address.partialBytes.addAndGet(delta);
        if (delta > 0 && (total > config.partialFrameBudget() || mine > config.partialFrameBudgetPerAddress())) {
            shed();
        }
    }

    private void shed() {
        List<Slot> victims = new ArrayList<>();
        List<Eviction> reasons = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        synchronized (this) {
            while (true) {
                Address heaviest = null;
                for (Address a : addresses.values()) {
                    if (heaviest == null || a.partialBytes.get() > heaviest.partialBytes.get()) {
                        heaviest = a;
                    }
                }
                if (heaviest == null) {
                    break;
                }
                Eviction why;
                if (heaviest.partialBytes.get() > config.partialFrameBudgetPerAddress()) {
                    why = Eviction.PARTIAL_FRAME_BUDGET_PER_ADDRESS;
                } else if (partialTotal.get() > config.partialFrameBudget()) {
                    why = Eviction.PARTIAL_FRAME_BUDGET;
                } else {
                    break;
                }
                Slot largest = null;
                for (Slot s : heaviest.members) {
                    if (!s.shed && (largest == null || s.partialBytes.get() > largest.partialBytes.get())) {
                        largest = s;
                    }
                }
                if (largest == null || largest.partialBytes.get() == 0) {
                    break;
                }
                largest.shed = true;
                long p = largest.partialBytes.getAndSet(0);
                partialTotal.addAndGet(-p);
                heaviest.partialBytes.addAndGet(-p);
                victims.add(largest);
                reasons.add(why);
                sizes.add(p);
            }
        }
        for (int i = 0; i < victims.size(); i++) {
            Slot v = victims.get(i);
            Eviction why = reasons.get(i);
            long size = sizes.get(i);
            evictions.get(why).increment();
            v.session.runOnContext(() -> v.session.shed(why, size));
        }
    }

    /** Bytes of incomplete frames buffered now, across all sessions. */
    public long partialFrameBytes() {
        return partialTotal.get();
    }

    // ------------------------------------------------------------------ authentication back-off

    /** How long HELLOs from this slot's address must still wait, in ms; 0 when they are checked. */
    long authWaitMs(Slot slot, long nowMs) {
        Address a = slot.address;
        synchronized (a) {
            return Math.max(0, a.blockedUntilMs - nowMs);
        }
    }

    /** A HELLO from the address was refused unchecked because of the back-off. */
    void authBackoffRefused() {
        authBackoffRefusals.increment();
    }

    /**
     * A HELLO from the address failed authentication. Returns the back-off it starts, in ms, or 0 when
     * the address may still try at once.
     */
    long authFailed(Slot slot, long nowMs) {
        authFailures.increment();
        Address a = slot.address;
        synchronized (a) {
            if (nowMs - a.lastFailureMs > 2 * config.authBackoffMaxMs()) {
                a.authFailures = 0; // quiet for long enough: start afresh
            }
            a.authFailures++;
            a.lastFailureMs = nowMs;
            int over = a.authFailures - config.authFailuresBeforeBackoff();
            if (over < 0) {
                return 0;
            }
            long wait = config.authBackoffMs() << Math.min(over, 30);
            if (wait <= 0 || wait > config.authBackoffMaxMs()) {
                wait = config.authBackoffMaxMs();
            }
            a.blockedUntilMs = nowMs + wait;
            authBackoffs.increment();
            return wait;
        }
    }

    /** Addresses whose HELLOs are refused unchecked right now. */
    public int addressesInBackoff(long nowMs) {
        int n = 0;
        for (Address a : addresses.values()) {
            synchronized (a) {
                if (a.blockedUntilMs > nowMs) {
                    n++;
                }
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ upkeep and figures

    /**
     * Forgets addresses with nothing open, nothing buffered and no back-off to remember. Called by every
     * event loop's sweep; does the work at most once a second.
     */
    public void maintain(long nowMs) {
        long last = lastMaintenanceMs.get();
        if (nowMs - last < 1_000 || !lastMaintenanceMs.compareAndSet(last, nowMs)) {
            return;
        }
        synchronized (this) {
            addresses.values().removeIf(a -> {
                if (a.sessions > 0 || !a.members.isEmpty() || a.partialBytes.get() != 0) {
                    return false;
                }
                synchronized (a) {
                    return a.blockedUntilMs <= nowMs
                            && (a.authFailures == 0 || nowMs - a.lastFailureMs > 2 * config.authBackoffMaxMs());
                }
            });
        }
    }

    /** Connections counted against the caps now. */
    public int open() {
        return open.get();
    }

    /** Source addresses tracked now (open sessions or a failure history). */
    public int addresses() {
        return addresses.size();
    }

    public long refusals(Refusal r) {
        return refusals.get(r).sum();
    }

    public long evictions(Eviction e) {
        return evictions.get(e).sum();
    }

    public long evictionsCancelled() {
        return evictionsCancelled.sum();
    }

    public long authFailures() {
        return authFailures.sum();
    }

    public long authBackoffs() {
        return authBackoffs.sum();
    }

    public long authBackoffRefusals() {
        return authBackoffRefusals.sum();
    }

    @Override
    public String toString() {
        return "SessionLimits[" + describe() + "]";
    }
}
