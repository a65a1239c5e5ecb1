package dev.turnstile.harness.conformance;

import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.Hello;
import dev.turnstile.protocol.Message.Welcome;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Helpers shared by the scripted cases: connect, greet, check out, expect an answer of a given
 * shape. Tracks every connection a case opens so that the case ends with none left open and no
 * seat left held (GOODBYE checks in all of a session's leases).
 */
final class Conversation implements AutoCloseable {
    final String host;
    final int port;
    final ConformanceOptions opts;
    private final AtomicInteger ids;
    private final String runTag;
    private final List<BlockingConnection> open = new ArrayList<>();
    private int hwCounter;
    Welcome lastWelcome;

    Conversation(String host, int port, ConformanceOptions opts, AtomicInteger ids, String runTag) {
        this.host = host;
        this.port = port;
        this.opts = opts;
        this.ids = ids;
        this.runTag = runTag;
    }

    int nextId() {
        int id = ids.incrementAndGet();
        if (id == 0) {
            id = ids.incrementAndGet();
        }
        return id;
    }

    /** A hardware id unique to this run and case. */
    String newHwId() {
        return "conformance-" + runTag + "-" + (++hwCounter);
    }

    BlockingConnection connect() throws CaseFailure {
        BlockingConnection c = BlockingConnection.open(host, port, opts.timeoutMs());
        open.add(c);
        return c;
    }

    /** Connects and sends the v1 preamble; checks the server selects version 1. */
    BlockingConnection connectV1() throws CaseFailure {
        return connect(Preamble.VERSION_1);
    }

    /**
     * Connects offering versions 1..{@code version} and checks the server selects {@code version} (a protocol 1.1
     * server selects the highest it shares, PROTOCOL.md 4.1); the connection then speaks it.
     */
    BlockingConnection connect(int version) throws CaseFailure {
        BlockingConnection c = connect();
        c.sendPreamble(Preamble.VERSION_1, version);
        byte[] p = c.readPreamble();
        if (!Preamble.hasMagic(p, 0)) {
            throw new CaseFailure("server preamble does not start with TSTL: " + hex(p));
        }
        if (Preamble.selectedVersion(p, 0) != version) {
            throw new CaseFailure("server selected version " + Preamble.selectedVersion(p, 0) + " for an offer of 1.."
                    + version + " (expected " + version + ")");
        }
        c.version(version);
        return c;
    }

    Hello hello(String hwId) {
        return new Hello("conformance", hwId, opts.clientVersion(), opts.token());
    }

    /** Connects, negotiates v1 and says HELLO with a fresh hardware id; returns after WELCOME. */
    BlockingConnection greeted() throws CaseFailure {
        return greeted(newHwId());
    }

    BlockingConnection greeted(String hwId) throws CaseFailure {
        return greeted(hwId, Preamble.VERSION_1);
    }

    /** Connects speaking {@code version}, says HELLO with {@code hwId}; returns after WELCOME. */
    BlockingConnection greeted(String hwId, int version) throws CaseFailure {
        BlockingConnection c = connect(version);
        int id = nextId();
        c.send(id, hello(hwId));
        Envelope e = c.read("WELCOME");
        if (!(e.message() instanceof Welcome w)) {
            throw new CaseFailure("expected WELCOME to HELLO (id " + id + "), got " + describe(e));
        }
        if (e.correlationId() != id) {
            throw new CaseFailure("WELCOME carries correlation id " + e.correlationId() + ", HELLO had " + id);
        }
        lastWelcome = w;
        c.markGreeted();
        return c;
    }

    Checkout checkout(int flags, long waitMs, UUID reclaim) {
        return new Checkout(opts.product(), opts.licenseKey(), 1, opts.enforcement().code(), flags, waitMs, reclaim);
    }

    /** A protocol 1.1 CHECKOUT: with RECLAIM and {@code secret} (null: all zero, none presented). */
    Checkout checkoutV11(int flags, UUID reclaim, byte[] secret) {
        return new Checkout(opts.product(), opts.licenseKey(), 1, opts.enforcement().code(), flags, 0, reclaim,
                secret == null ? new byte[dev.turnstile.protocol.Limits.RECLAIM_SECRET] : secret);
    }

    Checkout checkout() {
        return checkout(0, 0, Message.NO_LEASE);
    }

    /** Checks out one seat without waiting and expects it granted; returns the lease id. */
    UUID takeSeat(BlockingConnection c) throws CaseFailure {
        return takeSeatGranted(c).leaseId();
    }

    /** As {@link #takeSeat}, in the connection's version; returns the GRANTED (in 1.1 with its secret). */
    Granted takeSeatGranted(BlockingConnection c) throws CaseFailure {
        int id = nextId();
        c.send(id, c.version() >= Preamble.VERSION_1_1 ? checkoutV11(0, Message.NO_LEASE, null) : checkout());
        return expectGranted(c, id, "CHECKOUT of " + opts.product());
    }

    List<UUID> takeSeats(BlockingConnection c, int n) throws CaseFailure {
        List<UUID> leases = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            try {
                leases.add(takeSeat(c));
            } catch (CaseFailure f) {
                throw new CaseFailure("seat " + (i + 1) + " of " + n + ": " + f.getMessage());
            }
        }
        return leases;
    }

    Granted expectGranted(BlockingConnection c, int id, String what) throws CaseFailure {
        Envelope e = c.read("GRANTED to " + what);
        if (!(e.message() instanceof Granted g)) {
            throw new CaseFailure("expected GRANTED to " + what + " (id " + id + "), got " + describe(e));
        }
        if (e.correlationId() != id) {
            throw new CaseFailure("GRANTED carries correlation id " + e.correlationId() + ", request had " + id);
        }
        if (g.leaseId().equals(Message.NO_LEASE)) {
            throw new CaseFailure("GRANTED carries the all-zero lease id");
        }
        return g;
    }

    void checkin(BlockingConnection c, UUID lease) throws CaseFailure {
        int id = nextId();
        c.send(id, c.version() >= Preamble.VERSION_1_1
                ? new Message.Checkin(lease, new byte[dev.turnstile.protocol.Limits.RECLAIM_SECRET])
                : new Message.Checkin(lease));
        Envelope e = c.read("CHECKED_IN");
        if (!(e.message() instanceof Message.CheckedIn ci)) {
            throw new CaseFailure("expected CHECKED_IN for lease " + lease + " (id " + id + "), got " + describe(e));
        }
        if (e.correlationId() != id) {
            throw new CaseFailure("CHECKED_IN carries correlation id " + e.correlationId() + ", CHECKIN had " + id);
        }
        if (!ci.leaseId().equals(lease)) {
            throw new CaseFailure("CHECKED_IN names lease " + ci.leaseId() + ", CHECKIN named " + lease);
        }
    }

    /** Expects an ERROR frame with the code and correlation id. */
    void expectError(BlockingConnection c, int id, ErrorCode code, String after) throws CaseFailure {
        Envelope e = c.read("ERROR " + code.wireName());
        if (!(e.message() instanceof Message.Error err) || err.code() != code.code()) {
            throw new CaseFailure("expected ERROR " + code.wireName() + " after " + after + ", got " + describe(e));
        }
        if (e.correlationId() != id) {
            throw new CaseFailure("ERROR " + code.wireName() + " carries correlation id " + e.correlationId()
                    + ", the request had " + id);
        }
    }

    /** Expects a DENIED frame with the code and correlation id. */
    Message.Denied expectDenied(BlockingConnection c, int id, ErrorCode code, String after) throws CaseFailure {
        Envelope e = c.read("DENIED " + code.wireName());
        if (!(e.message() instanceof Message.Denied d) || d.code() != code.code()) {
            throw new CaseFailure("expected DENIED " + code.wireName() + " after " + after + ", got " + describe(e));
        }
        if (e.correlationId() != id) {
            throw new CaseFailure("DENIED carries correlation id " + e.correlationId() + ", CHECKOUT had " + id);
        }
        return d;
    }

    /** A zero-lease HEARTBEAT must be answered with an empty HEARTBEAT_RESULT: the connection still works. */
    void expectUsable(BlockingConnection c, String after) throws CaseFailure {
        int id = nextId();
        c.send(id, new Message.Heartbeat(List.of()));
        Envelope e;
        try {
            e = c.read("HEARTBEAT_RESULT");
        } catch (CaseFailure f) {
            throw new CaseFailure("connection no longer usable after " + after + ": keepalive HEARTBEAT: " + f.getMessage());
        }
        if (!(e.message() instanceof Message.HeartbeatResult r) || e.correlationId() != id) {
            throw new CaseFailure("keepalive HEARTBEAT (id " + id + ") after " + after + " answered by " + describe(e));
        }
        if (!r.results().isEmpty()) {
            throw new CaseFailure("keepalive HEARTBEAT with no leases got " + r.results().size() + " results");
        }
    }

    /** Client GOODBYE: expects GOODBYE with the same id and then the close. */
    void goodbye(BlockingConnection c) throws CaseFailure {
        int id = nextId();
        c.send(id, new Message.Goodbye(0, "conformance case done"));
        Envelope e = c.read("GOODBYE");
        if (!(e.message() instanceof Message.Goodbye) || e.correlationId() != id) {
            throw new CaseFailure("expected GOODBYE (id " + id + ") answering GOODBYE, got " + describe(e));
        }
        c.expectClosed(opts.timeoutMs(), "GOODBYE");
    }

    /**
     * Precondition of the cases that count seats: all of the product's seats are free. Polls with
     * plain checkouts, so seats that an earlier case's killed connection left in a reclaim grace
     * are waited for rather than counted against this case.
     */
    void awaitAllSeatsFree() throws CaseFailure {
        long deadline = System.currentTimeMillis() + opts.seatReturnTimeoutMs();
        int best = 0;
        for (int attempt = 0; attempt < 100_000; attempt++) {
            BlockingConnection c = greeted();
            int got = 0;
            String refusal = null;
            for (int i = 0; i < opts.seats(); i++) {
                int id = nextId();
                c.send(id, checkout());
                Envelope e = c.read("answer to CHECKOUT");
                if (e.message() instanceof Granted && e.correlationId() == id) {
                    got++;
                } else if (e.message() instanceof Message.Denied d && d.code() == ErrorCode.NO_SEATS_AVAILABLE.code()) {
                    refusal = describe(e);
                    break;
                } else {
                    throw new CaseFailure("precondition: a plain CHECKOUT of " + opts.product() + " (id " + id
                            + ") was answered by " + describe(e));
                }
            }
            goodbye(c);
            open.remove(c);
            best = Math.max(best, got);
            if (got == opts.seats()) {
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new CaseFailure("precondition: only " + best + " of " + opts.seats() + " seats of " + opts.product()
                        + " could be checked out within " + opts.seatReturnTimeoutMs() + " ms (last refusal: " + refusal
                        + "); is --seats right, and does nobody else use the product?");
            }
            sleep(200);
        }
        throw new CaseFailure("precondition: gave up waiting for free seats");
    }

    static void sleep(long ms) throws CaseFailure {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaseFailure("interrupted");
        }
    }

    /** Ends the case: GOODBYE on every greeted connection still open (returning its seats), then close. */
    @Override
    public void close() {
        for (BlockingConnection c : open) {
            if (!c.isClosed() && c.greeted()) {
                try {
                    c.send(nextId(), new Message.Goodbye(0, "conformance cleanup"));
                    c.drainUntilClosed(Math.min(2_000, opts.timeoutMs()));
                } catch (CaseFailure ignored) {
                    // best effort
                }
            }
            c.close();
        }
        open.clear();
    }

    static String describe(Envelope e) {
        Message m = e.message();
        String id = " (id " + Integer.toUnsignedString(e.correlationId()) + ")";
        if (m instanceof Message.Error err) {
            return "ERROR " + codeName(err.code()) + id + (err.message().isEmpty() ? "" : ": " + err.message());
        }
        if (m instanceof Message.Denied d) {
            return "DENIED " + codeName(d.code()) + id + (d.message().isEmpty() ? "" : ": " + d.message());
        }
        if (m instanceof Granted g) {
            return "GRANTED lease " + g.leaseId() + id;
        }
        if (m instanceof Message.Queued q) {
            return "QUEUED position " + q.position() + id;
        }
        if (m instanceof Message.HeartbeatResult r) {
            return "HEARTBEAT_RESULT with " + r.results().size() + " results" + id;
        }
        MessageType t = m.type();
        return t.name() + id;
    }

    static String codeName(int code) {
        ErrorCode c = ErrorCode.ofCode(code);
        return c == null ? "code " + code : c.wireName() + "(" + code + ")";
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }
}
