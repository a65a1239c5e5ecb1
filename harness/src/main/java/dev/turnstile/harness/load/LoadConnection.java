package dev.turnstile.harness.load;

import dev.turnstile.harness.common.FrameSplitter;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.NoticeKind;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One persistent connection of the load generator: preamble, HELLO, the held leases, heartbeats
 * naming them, and checkout/checkin cycles when its worker starts them. Lives on its worker's
 * event loop; nothing here blocks or locks.
 */
final class LoadConnection {
    enum State { NEW, CONNECTING, PREAMBLE, HELLO, HOLDING, READY, CLOSING, CLOSED }

    enum Kind { HELLO, HOLD, CHECKOUT, CHECKIN, HEARTBEAT, GOODBYE }

    /** A request waiting for its answer. {@code start} is the intended start (rate mode), {@code sent} the actual send. */
    static final class Pending {
        final Kind kind;
        final long start;
        final long sent;

        Pending(Kind kind, long start, long sent) {
            this.kind = kind;
            this.start = start;
            this.sent = sent;
        }
    }

    private final LoadWorker worker;
    private final LoadOptions opts;
    private final WorkerStats stats;
    final int index;
    private final NetClient client;
    private final Checkout checkout;
    private NetSocket socket;
    State state = State.NEW;
    private long stateSince;
    private Buffer preamble;
    private final FrameSplitter splitter = new FrameSplitter();
    private int nextId = 1;
    private final Map<Integer, Pending> pending = new HashMap<>();
    final List<UUID> held = new ArrayList<>();
    private int holdAnswersLeft;
    long heartbeatIntervalMs;
    private boolean setupReported;

    LoadConnection(LoadWorker worker, int index, NetClient client) {
        this.worker = worker;
        this.opts = worker.opts;
        this.stats = worker.stats;
        this.index = index;
        this.client = client;
        this.checkout = new Checkout(opts.product(), opts.licenseKey(), 1, opts.enforcement().code(), 0, 0, Message.NO_LEASE);
    }

    private int nextId() {
        int id = nextId++;
        if (nextId == 0) {
            nextId = 1;
        }
        return id;
    }

    void connect() {
        state = State.CONNECTING;
        stateSince = System.nanoTime();
        client.connect(opts.port(), opts.host()).onComplete(ar -> {
            if (state != State.CONNECTING) {
                // Given up on (timed out) while connecting.
                if (ar.succeeded()) {
                    ar.result().close();
                }
                return;
            }
            if (ar.failed()) {
                stats.error("connectFailed(" + simple(ar.cause()) + ")");
                state = State.CLOSED;
                finishSetup(false);
                return;
            }
            onConnected(ar.result());
        });
    }

    private static String simple(Throwable t) {
        String m = t.getMessage();
        if (m != null && m.length() < 60) {
            return t.getClass().getSimpleName() + ": " + m;
        }
        return t.getClass().getSimpleName();
    }

    private void onConnected(NetSocket s) {
        socket = s;
        stats.connected++;
        s.handler(this::onData);
        s.closeHandler(v -> onClosed());
        s.exceptionHandler(t -> stats.error("socketError(" + t.getClass().getSimpleName() + ")"));
        state = State.PREAMBLE;
        stateSince = System.nanoTime();
        s.write(Buffer.buffer(Preamble.client(1, 1)));
    }

    private void onData(Buffer data) {
        if (state == State.PREAMBLE) {
            preamble = preamble == null ? data.copy() : preamble.appendBuffer(data);
            if (preamble.length() < Preamble.LENGTH) {
                return;
            }
            byte[] p = preamble.getBytes(0, Preamble.LENGTH);
            Buffer rest = preamble.length() > Preamble.LENGTH ? preamble.getBuffer(Preamble.LENGTH, preamble.length()) : null;
            preamble = null;
            if (!Preamble.hasMagic(p, 0) || Preamble.selectedVersion(p, 0) != 1) {
                stats.error("preambleRefused");
                fail();
                return;
            }
            state = State.HELLO;
            stateSince = System.nanoTime();
            send(Kind.HELLO, new Message.Hello("turnstile-load", opts.hwIdPrefix() + "-" + index, opts.clientVersion(),
                    opts.token()), System.nanoTime());
            if (rest == null) {
                return;
            }
            data = rest;
        }
        if (state == State.CLOSED || state == State.CONNECTING || state == State.NEW) {
            return;
        }
        if (!splitter.feed(data, this::onFrame)) {
            stats.error("badLengthPrefix");
            fail();
        }
    }

    private int send(Kind kind, Message m, long start) {
        int id = nextId();
        long now = System.nanoTime();
        pending.put(id, new Pending(kind, start, now));
        socket.write(Buffer.buffer(Codec.encode(id, m)));
        return id;
    }

    private void onFrame(byte[] frame) {
        Envelope env;
        try {
            env = Codec.decode(frame);
        } catch (ProtocolException e) {
            stats.error("undecodableFrame(" + e.code().wireName() + ")");
            return;
        }
        Message m = env.message();
        if (env.correlationId() == 0) {
            onPush(m);
            return;
        }
        Pending p = pending.remove(env.correlationId());
        if (p == null) {
            stats.error("unmatchedCorrelationId");
            return;
        }
        long now = System.nanoTime();
        switch (p.kind) {
            case HELLO -> onWelcome(m);
            case HOLD -> onHoldAnswer(m);
            case CHECKOUT -> onCycleCheckout(m, p, now);
            case CHECKIN -> onCycleCheckin(m, p, now);
            case HEARTBEAT -> onHeartbeatResult(m, p, now);
            case GOODBYE -> {
                if (!(m instanceof Message.Goodbye)) {
                    countRefusal(m);
                }
            }
        }
    }

    private void onPush(Message m) {
        if (m instanceof Message.Notice n) {
            if (n.noticeKind() == NoticeKind.LEASE_REVOKED) {
                if (held.remove(n.leaseId())) {
                    stats.lostLeases++;
                    stats.error("leaseRevoked(" + codeName(n.code()) + ")");
                }
            } else {
                stats.error("notice(" + (n.noticeKind() == null ? "kind " + n.kind() : n.noticeKind().name()) + ")");
            }
        } else if (m instanceof Message.Goodbye g) {
            stats.error("serverGoodbye(" + codeName(g.code()) + ")");
        } else if (m instanceof Message.Error e) {
            stats.error(codeName(e.code()));
        } else {
            stats.error("unexpectedPush(" + m.type() + ")");
        }
    }

    private void onWelcome(Message m) {
        if (!(m instanceof Message.Welcome w)) {
            countRefusal(m);
            fail();
            return;
        }
        heartbeatIntervalMs = w.heartbeatIntervalMs() > 0 ? w.heartbeatIntervalMs() : 1_000;
        int k = opts.echoMode() ? 0 : opts.leasesPerConnection();
        if (k == 0) {
            becomeReady();
            return;
        }
        state = State.HOLDING;
        stateSince = System.nanoTime();
        holdAnswersLeft = k;
        long now = System.nanoTime();
        for (int i = 0; i < k; i++) {
            send(Kind.HOLD, checkout, now);
        }
    }

    private void onHoldAnswer(Message m) {
        if (m instanceof Message.Granted g) {
            held.add(g.leaseId());
            stats.leasesGranted++;
        } else {
            countRefusal(m);
        }
        if (--holdAnswersLeft == 0 && state == State.HOLDING) {
            becomeReady();
        }
    }

    private void becomeReady() {
        state = State.READY;
        stateSince = System.nanoTime();
        stats.ready++;
        finishSetup(true);
        worker.onReady(this);
    }

    private void finishSetup(boolean ok) {
        if (!setupReported) {
            setupReported = true;
            worker.onSetupFinished(this, ok);
        }
    }

    // ------------------------------------------------------------------ cycles

    /** Starts one checkout (+ checkin) cycle; {@code intended} is when it should have started. */
    void startCycle(long intended) {
        send(Kind.CHECKOUT, checkout, intended);
    }

    private void onCycleCheckout(Message m, Pending p, long now) {
        if (m instanceof Message.Granted g) {
            if (worker.recording) {
                WorkerStats.record(stats.checkoutMicros, now - p.start);
                WorkerStats.record(stats.checkoutServiceMicros, now - p.sent);
                stats.requests++;
            }
            if (opts.echoMode()) {
                if (worker.recording) {
                    stats.cycles++;
                }
                worker.slotFreed(this);
                return;
            }
            send(Kind.CHECKIN, new Message.Checkin(g.leaseId()), now);
            return;
        }
        countRefusal(m);
        worker.slotFreed(this);
    }

    private void onCycleCheckin(Message m, Pending p, long now) {
        if (m instanceof Message.CheckedIn) {
            if (worker.recording) {
                WorkerStats.record(stats.checkinMicros, now - p.start);
                stats.requests++;
                stats.cycles++;
            }
        } else {
            countRefusal(m);
        }
        worker.slotFreed(this);
    }

    // ------------------------------------------------------------------ heartbeats

    void heartbeat() {
        if (state != State.READY) {
            return;
        }
        send(Kind.HEARTBEAT, new Message.Heartbeat(opts.echoMode() ? List.of() : held), System.nanoTime());
    }

    private void onHeartbeatResult(Message m, Pending p, long now) {
        if (!(m instanceof Message.HeartbeatResult r)) {
            countRefusal(m);
            return;
        }
        if (worker.recording) {
            WorkerStats.record(stats.heartbeatMicros, now - p.start);
        }
        stats.heartbeats++;
        if (opts.echoMode()) {
            return;
        }
        for (Message.LeaseStatus s : r.results()) {
            if (!s.ok() && held.remove(s.leaseId())) {
                stats.lostLeases++;
                stats.error(codeName(s.code()));
            }
        }
    }

    // ------------------------------------------------------------------ failures, timeouts, teardown

    private void countRefusal(Message m) {
        if (m instanceof Message.Denied d) {
            stats.error(codeName(d.code()));
        } else if (m instanceof Message.Error e) {
            stats.error(codeName(e.code()));
        } else {
            stats.error("unexpected(" + m.type() + ")");
        }
    }

    static String codeName(int code) {
        ErrorCode c = ErrorCode.ofCode(code);
        return c == null ? "code" + code : c.wireName();
    }

    /** Drops requests older than the request timeout; a connection stuck in setup is closed. */
    void sweep(long now, long timeoutNanos) {
        if ((state == State.PREAMBLE || state == State.CONNECTING) && now - stateSince > timeoutNanos) {
            stats.error("timeout(" + state + ")");
            fail();
            return;
        }
        if (pending.isEmpty()) {
            return;
        }
        Iterator<Pending> it = pending.values().iterator();
        int cyclesFreed = 0;
        boolean setupStuck = false;
        while (it.hasNext()) {
            Pending p = it.next();
            if (now - p.sent > timeoutNanos) {
                it.remove();
                stats.error("timeout(" + p.kind + ")");
                if (p.kind == Kind.CHECKOUT || p.kind == Kind.CHECKIN) {
                    cyclesFreed++;
                }
                if (p.kind == Kind.HELLO || p.kind == Kind.HOLD) {
                    setupStuck = true;
                }
            }
        }
        if (setupStuck) {
            fail();
            return;
        }
        for (int i = 0; i < cyclesFreed; i++) {
            worker.slotFreed(this);
        }
    }

    /** Closes the connection on a failure; held leases count as lost. */
    private void fail() {
        if (state == State.CLOSED || state == State.CLOSING || state == State.NEW) {
            return;
        }
        if (state == State.READY) {
            stats.closedEarly++;
        }
        stats.lostLeases += held.size();
        held.clear();
        finishSetup(false);
        if (socket != null) {
            state = State.CLOSING;
            socket.close();
        } else {
            state = State.CLOSED;
        }
    }

    private void onClosed() {
        State was = state;
        state = State.CLOSED;
        if (was != State.CLOSING) {
            stats.lostLeases += held.size();
            if (was == State.READY) {
                stats.closedEarly++;
                stats.error("closedByServer");
            } else {
                stats.error("closedDuringSetup(" + was + ")");
            }
            held.clear();
        }
        pending.clear();
        finishSetup(false);
        worker.onClosed(this);
    }

    /** Ends the session politely: GOODBYE (the server checks in our leases and closes). */
    void goodbye() {
        if (state == State.READY || state == State.HOLDING) {
            state = State.CLOSING;
            held.clear();
            send(Kind.GOODBYE, new Message.Goodbye(0, "load run over"), System.nanoTime());
        } else if (state != State.CLOSED && socket != null) {
            state = State.CLOSING;
            socket.close();
        }
    }

    void forceClose() {
        if (state != State.CLOSED && socket != null) {
            state = State.CLOSING;
            socket.close();
        }
    }

    boolean isReady() {
        return state == State.READY;
    }

    /** Connected (or connecting) and not yet closed. */
    boolean isOpen() {
        return state != State.NEW && state != State.CLOSED;
    }

    boolean isClosed() {
        return state == State.CLOSED;
    }
}
