package dev.turnstile.appliance.session;

import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Every open session, by id, and the bridge from the ledger's decisions to the sessions they
 * concern: ledger callbacks arrive on whichever thread ran the command and are handed to the
 * session's own event loop.
 */
public final class SessionRegistry implements LedgerListener {
    private final ConcurrentHashMap<Long, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong readySessions = new AtomicLong();
    private final List<Consumer<LedgerEvent>> journalSinks = new CopyOnWriteArrayList<>();
    private volatile SessionLimits limits = new SessionLimits(
            dev.turnstile.appliance.config.SessionLimitsConfig.defaults(), Integer.MAX_VALUE, -1);

    /**
     * Sets the listener's limits from the {@code server:} section: {@code maxSessions} is
     * {@code server.max_sessions}, lowered to keep {@code limits.fdHeadroom()} of the process's descriptors free.
     * Call before the listener opens.
     */
    public SessionLimits configureLimits(dev.turnstile.appliance.config.SessionLimitsConfig config, int maxSessions) {
        limits = new SessionLimits(config, maxSessions, SessionLimits.processFdLimit());
        return limits;
    }

    public SessionLimits limits() {
        return limits;
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    /**
     * Session ids start above {@code base}: members of a replicated ledger give each a prefix of its own
     * (TriadNode.SESSION_ID_SHIFT) so the ledger never mixes two members' sessions.
     */
    public void idBase(long base) {
        ids.set(base);
    }

    void add(Session s) {
        sessions.put(s.id(), s);
    }

    void ready(Session s) {
        readySessions.incrementAndGet();
    }

    void remove(Session s) {
        if (sessions.remove(s.id()) != null && s.client() != null) {
            readySessions.decrementAndGet();
        }
    }

    /** Connections open, including those that have not said HELLO yet. */
    public int connections() {
        return sessions.size();
    }

    /** Sessions past HELLO. */
    public long sessions() {
        return readySessions.get();
    }

    /** Open connections by state (preamble, hello, ready, closing), for {@code turnstile_connections_by_state}. */
    public java.util.Map<String, Long> countByState() {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        for (String st : List.of("preamble", "hello", "ready", "closing")) {
            out.put(st, 0L);
        }
        for (Session s : sessions.values()) {
            out.merge(s.stateLabel(), 1L, Long::sum);
        }
        return out;
    }

    public Collection<Session> all() {
        return new ArrayList<>(sessions.values());
    }

    public Session get(long id) {
        return sessions.get(id);
    }

    /** Sends {@code notice} to every session past HELLO. */
    public void broadcast(Message.Notice notice) {
        for (Session s : sessions.values()) {
            s.runOnContext(() -> s.notice(notice));
        }
    }

    /** Adds a consumer of every ledger change (write-behind persistence, metrics). Must not block. */
    public void addJournalSink(Consumer<LedgerEvent> sink) {
        journalSinks.add(sink);
    }

    // ------------------------------------------------------------------ LedgerListener

    @Override
    public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
        Session s = sessions.get(sessionId);
        if (s != null) {
            s.runOnContext(() -> s.deliverQueuedGrant(requestId, lease));
        }
    }

    @Override
    public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
        Session s = sessions.get(sessionId);
        if (s != null) {
            s.runOnContext(() -> s.deliverQueuedDenial(requestId, code, message));
        }
    }

    @Override
    public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
        Session s = sessions.get(sessionId);
        if (s != null) {
            s.runOnContext(() -> s.deliverLeaseEnded(lease, reason));
        }
    }

    @Override
    public void journal(LedgerEvent event) {
        for (Consumer<LedgerEvent> sink : journalSinks) {
            sink.accept(event);
        }
    }
}
