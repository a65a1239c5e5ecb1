package dev.turnstile.harness.conformance;

import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.LeaseStatus;
import dev.turnstile.protocol.Message.Welcome;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The scripted conversations of the conformance run (PROTOCOL.md sections named in each case). */
final class ScriptedCases {
    private ScriptedCases() {
    }

    static List<ConformanceCase> all() {
        List<ConformanceCase> cases = new ArrayList<>();
        cases.add(new ConformanceCase("preamble.v1_accepted", ScriptedCases::preambleV1Accepted));
        cases.add(new ConformanceCase("preamble.no_common_version_selects_0_and_closes", ScriptedCases::preambleNoCommonVersion));
        cases.add(new ConformanceCase("preamble.wrong_magic_closed_without_a_byte", ScriptedCases::preambleWrongMagic));
        cases.add(new ConformanceCase("preamble.http_request_closed", ScriptedCases::preambleHttp));
        cases.add(new ConformanceCase("hello.welcome_fields_sane", ScriptedCases::welcomeFieldsSane));
        cases.add(new ConformanceCase("hello.checkout_before_hello_is_unexpected_and_closes", ScriptedCases::checkoutBeforeHello));
        cases.add(new ConformanceCase("hello.second_hello_is_unexpected_and_closes", ScriptedCases::secondHello));
        cases.add(new ConformanceCase("hello.missing_client_version", ScriptedCases::missingClientVersion));
        cases.add(new ConformanceCase("checkout.granted_then_checked_in", ScriptedCases::checkoutGranted));
        cases.add(new ConformanceCase("checkout.exhaustion_denied_no_seats_available", ScriptedCases::exhaustion));
        cases.add(new ConformanceCase("checkin.frees_a_seat", ScriptedCases::checkinFreesASeat));
        cases.add(new ConformanceCase("checkin.unknown_lease_is_lease_id_not_found", ScriptedCases::checkinUnknownLease));
        cases.add(new ConformanceCase("heartbeat.batch_gets_one_result_per_lease_in_order", ScriptedCases::heartbeatBatch));
        cases.add(new ConformanceCase("queue.queued_then_granted_when_a_seat_frees", ScriptedCases::queueGranted));
        cases.add(new ConformanceCase("queue.timeout_denied_queue_timeout", ScriptedCases::queueTimeout));
        cases.add(new ConformanceCase("pipeline.requests_answered_by_correlation_id", ScriptedCases::pipelined));
        cases.add(new ConformanceCase("goodbye.answered_then_closed_and_seats_returned", ScriptedCases::goodbye));
        cases.add(new ConformanceCase("robustness.unknown_message_type_keeps_connection", ScriptedCases::unknownType));
        cases.add(new ConformanceCase("robustness.half_frame_does_not_disturb_other_connections", ScriptedCases::halfFrame));
        cases.add(new ConformanceCase("session.killed_socket_returns_its_seats", ScriptedCases::killedSocket));
        cases.add(new ConformanceCase("session.reclaim_by_id_on_a_new_connection", ScriptedCases::reclaim));
        // protocol 1.1: proof of ownership (PROTOCOL.md 4.1, 10.6)
        cases.add(new ConformanceCase("preamble.v1_client_gets_v1_frames", ScriptedCases::v1ClientGetsV1Frames));
        cases.add(new ConformanceCase("reclaim.with_the_secret_is_granted_and_echoes_it", ScriptedCases::reclaimWithSecret));
        cases.add(new ConformanceCase("reclaim.wrong_or_zero_secret_is_denied_reclaim_secret_mismatch",
                ScriptedCases::reclaimWrongSecret));
        return cases;
    }

    // ------------------------------------------------------------------ section 2: preamble

    private static String preambleV1Accepted(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connect();
        conn.sendPreamble(1, 1);
        byte[] p = conn.readPreamble();
        if (!Preamble.hasMagic(p, 0)) {
            throw new CaseFailure("answer does not start with TSTL: " + Conversation.hex(p));
        }
        if (p[4] != 1 || p[5] != 0 || p[6] != 0 || p[7] != 0) {
            throw new CaseFailure("expected 54 53 54 4c 01 00 00 00, got " + Conversation.hex(p));
        }
        conn.close();
        c.goodbye(c.greeted());
        return null;
    }

    private static String preambleNoCommonVersion(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connect();
        int lo = Preamble.MAX_SUPPORTED + 1; // versions no server speaks yet
        conn.sendPreamble(lo, lo + 3);
        byte[] p = conn.readPreamble();
        if (!Preamble.hasMagic(p, 0) || Preamble.selectedVersion(p, 0) != Preamble.NO_COMMON_VERSION) {
            throw new CaseFailure("offer " + lo + ".." + (lo + 3) + ": expected 54 53 54 4c 00 00 00 00, got "
                    + Conversation.hex(p));
        }
        conn.expectClosedWithoutBytes(c.opts.timeoutMs(), "selected version 0");
        return null;
    }

    private static String preambleWrongMagic(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connect();
        conn.sendRaw(new byte[] {0x54, 0x53, 0x54, 0x58, 1, 1, 0, 0}); // "TSTX"
        conn.expectClosedWithoutBytes(c.opts.timeoutMs(), "a preamble with the magic TSTX");
        return null;
    }

    private static String preambleHttp(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connect();
        conn.sendRaw("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        conn.expectClosedWithoutBytes(c.opts.timeoutMs(), "an HTTP request line");
        return null;
    }

    // ------------------------------------------------------------------ HELLO / WELCOME

    private static String welcomeFieldsSane(Conversation c) throws CaseFailure {
        long before = System.currentTimeMillis();
        BlockingConnection conn = c.greeted();
        long after = System.currentTimeMillis();
        Welcome w = c.lastWelcome;
        List<String> problems = new ArrayList<>();
        if (w.serverId().isEmpty()) {
            problems.add("server_id is empty");
        }
        if (w.heartbeatIntervalMs() <= 0) {
            problems.add("heartbeat_interval_ms is 0");
        }
        if (w.leaseTimeoutMs() <= w.heartbeatIntervalMs()) {
            problems.add("lease_timeout_ms " + w.leaseTimeoutMs() + " is not above heartbeat_interval_ms " + w.heartbeatIntervalMs());
        }
        long skewLimit = 300_000;
        if (w.serverTimeMs() < before - skewLimit || w.serverTimeMs() > after + skewLimit) {
            problems.add("server_time_ms " + w.serverTimeMs() + " is more than 5 minutes from this machine's clock " + after);
        }
        if (w.licenseValidUntilMs() != 0 && w.licenseValidUntilMs() < w.serverTimeMs()
                && (w.flags() & Welcome.FLAG_LICENSE_EXPIRING) == 0) {
            problems.add("license_valid_until_ms is in the past but LICENSE_EXPIRING is not set");
        }
        for (String peer : w.peers()) {
            int colon = peer.lastIndexOf(':');
            boolean ok = colon > 0 && colon < peer.length() - 1;
            if (ok) {
                try {
                    int port = Integer.parseInt(peer.substring(colon + 1));
                    ok = port > 0 && port < 65_536;
                } catch (NumberFormatException e) {
                    ok = false;
                }
            }
            if (!ok) {
                problems.add("peer '" + peer + "' is not host:port");
            }
        }
        if (!problems.isEmpty()) {
            throw new CaseFailure(String.join("; ", problems));
        }
        c.goodbye(conn);
        return "server_id=" + w.serverId() + ", heartbeat " + w.heartbeatIntervalMs() + " ms, lease timeout "
                + w.leaseTimeoutMs() + " ms, " + w.peers().size() + " peer(s)";
    }

    private static String checkoutBeforeHello(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connectV1();
        int id = c.nextId();
        conn.send(id, c.checkout());
        c.expectError(conn, id, ErrorCode.UNEXPECTED_MESSAGE, "CHECKOUT before HELLO");
        conn.expectClosed(c.opts.timeoutMs(), "ERROR unexpectedMessage");
        return null;
    }

    private static String secondHello(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.greeted();
        int id = c.nextId();
        conn.send(id, c.hello(c.newHwId()));
        c.expectError(conn, id, ErrorCode.UNEXPECTED_MESSAGE, "a second HELLO");
        conn.expectClosed(c.opts.timeoutMs(), "ERROR unexpectedMessage");
        return null;
    }

    private static String missingClientVersion(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.connectV1();
        int id = c.nextId();
        conn.send(id, new Message.Hello("conformance", c.newHwId(), "", c.opts.token()));
        c.expectError(conn, id, ErrorCode.CLIENT_VERSION_MISSING, "HELLO with an empty client_version");
        conn.expectClosed(c.opts.timeoutMs(), "ERROR clientVersionMissing");
        return null;
    }

    // ------------------------------------------------------------------ checkout / checkin

    private static String checkoutGranted(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        int id = c.nextId();
        conn.send(id, c.checkout());
        Granted g = c.expectGranted(conn, id, "CHECKOUT of " + c.opts.product());
        List<String> problems = new ArrayList<>();
        if (!g.product().equals(c.opts.product())) {
            problems.add("product '" + g.product() + "' instead of '" + c.opts.product() + "'");
        }
        if (g.quantity() != 1) {
            problems.add("quantity " + g.quantity() + " instead of 1");
        }
        if (g.leaseTimeoutMs() <= 0) {
            problems.add("lease_timeout_ms is 0");
        }
        if (g.reclaimed()) {
            problems.add("RECLAIMED flag set on a fresh checkout");
        }
        if (g.entitlementId().isEmpty()) {
            problems.add("entitlement_id is empty");
        }
        if (!c.opts.licenseKey().isEmpty() && !g.entitlementId().equals(c.opts.licenseKey())) {
            problems.add("entitlement_id '" + g.entitlementId() + "' is not the license key '" + c.opts.licenseKey() + "'");
        }
        if (!problems.isEmpty()) {
            throw new CaseFailure("GRANTED fields: " + String.join("; ", problems));
        }
        c.checkin(conn, g.leaseId());
        c.goodbye(conn);
        return null;
    }

    private static String exhaustion(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        List<UUID> leases = c.takeSeats(conn, c.opts.seats());
        if (new HashSet<>(leases).size() != leases.size()) {
            throw new CaseFailure("the " + leases.size() + " GRANTED carry duplicate lease ids: " + leases);
        }
        int id = c.nextId();
        conn.send(id, c.checkout());
        c.expectDenied(conn, id, ErrorCode.NO_SEATS_AVAILABLE, "checkout number " + (c.opts.seats() + 1));
        c.expectUsable(conn, "DENIED noSeatsAvailable");
        c.goodbye(conn);
        return null;
    }

    private static String checkinFreesASeat(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        List<UUID> leases = c.takeSeats(conn, c.opts.seats());
        c.checkin(conn, leases.get(0));
        c.takeSeat(conn);
        int id = c.nextId();
        conn.send(id, c.checkout());
        c.expectDenied(conn, id, ErrorCode.NO_SEATS_AVAILABLE, "refilling the pool after one checkin");
        c.goodbye(conn);
        return null;
    }

    private static String checkinUnknownLease(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.greeted();
        int id = c.nextId();
        conn.send(id, new Message.Checkin(UUID.randomUUID()));
        c.expectError(conn, id, ErrorCode.LEASE_ID_NOT_FOUND, "CHECKIN of a lease id nobody holds");
        c.expectUsable(conn, "ERROR leaseIdNotFound");
        c.goodbye(conn);
        return null;
    }

    // ------------------------------------------------------------------ heartbeat

    private static String heartbeatBatch(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        int held = Math.min(2, c.opts.seats());
        List<UUID> good = c.takeSeats(conn, held);
        List<UUID> asked = new ArrayList<>();
        List<Boolean> known = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            if (i < good.size()) {
                asked.add(good.get(i));
                known.add(true);
            }
            asked.add(UUID.randomUUID());
            known.add(false);
        }
        int id = c.nextId();
        conn.send(id, new Message.Heartbeat(asked));
        Envelope e = conn.read("HEARTBEAT_RESULT");
        if (!(e.message() instanceof Message.HeartbeatResult r) || e.correlationId() != id) {
            throw new CaseFailure("expected HEARTBEAT_RESULT (id " + id + "), got " + Conversation.describe(e));
        }
        if (r.results().size() != asked.size()) {
            throw new CaseFailure("asked about " + asked.size() + " leases, got " + r.results().size() + " results");
        }
        long leaseTimeout = c.lastWelcome.leaseTimeoutMs();
        for (int i = 0; i < asked.size(); i++) {
            LeaseStatus s = r.results().get(i);
            if (!s.leaseId().equals(asked.get(i))) {
                throw new CaseFailure("result " + i + " names lease " + s.leaseId() + ", request named " + asked.get(i)
                        + " there (results must follow the request order)");
            }
            if (known.get(i)) {
                if (s.code() != 0) {
                    throw new CaseFailure("result " + i + " for a held lease has " + Conversation.codeName(s.code()));
                }
                if (s.remainingMs() <= 0 || s.remainingMs() > leaseTimeout + 1_000) {
                    throw new CaseFailure("result " + i + " remaining_ms " + s.remainingMs() + " not in 1.." + leaseTimeout);
                }
            } else {
                if (s.code() != ErrorCode.LEASE_ID_NOT_FOUND.code()) {
                    throw new CaseFailure("result " + i + " for an unknown lease has " + Conversation.codeName(s.code())
                            + " instead of leaseIdNotFound");
                }
                if (s.remainingMs() != 0) {
                    throw new CaseFailure("result " + i + " for an unknown lease has remaining_ms " + s.remainingMs());
                }
            }
        }
        c.expectUsable(conn, "a mixed heartbeat");
        c.goodbye(conn);
        return asked.size() + " leases, " + held + " held";
    }

    // ------------------------------------------------------------------ queue

    private static String queueGranted(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection holder = c.greeted();
        List<UUID> leases = c.takeSeats(holder, c.opts.seats());
        BlockingConnection waiter = c.greeted();
        int id = c.nextId();
        waiter.send(id, c.checkout(Checkout.FLAG_WAIT, 30_000, Message.NO_LEASE));
        Envelope q = waiter.read("QUEUED");
        if (!(q.message() instanceof Message.Queued queued) || q.correlationId() != id) {
            throw new CaseFailure("expected QUEUED (id " + id + ") for a waiting checkout on a full pool, got "
                    + Conversation.describe(q));
        }
        if (queued.position() != 1) {
            throw new CaseFailure("the only waiter is at position " + queued.position() + ", expected 1");
        }
        if (queued.waitTimeoutMs() == 0 || queued.waitTimeoutMs() > 30_000) {
            throw new CaseFailure("QUEUED wait_timeout_ms " + queued.waitTimeoutMs() + " is not in 1..30000 (asked 30000)");
        }
        c.checkin(holder, leases.get(0));
        Granted g = c.expectGranted(waiter, id, "the queued CHECKOUT after a checkin");
        if (g.leaseId().equals(leases.get(0))) {
            throw new CaseFailure("the waiter was granted the lease id just checked in (" + g.leaseId() + ")");
        }
        c.goodbye(waiter);
        c.goodbye(holder);
        return null;
    }

    private static String queueTimeout(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection holder = c.greeted();
        c.takeSeats(holder, c.opts.seats());
        BlockingConnection waiter = c.greeted();
        int id = c.nextId();
        long asked = 500;
        long sent = System.nanoTime();
        waiter.send(id, c.checkout(Checkout.FLAG_WAIT, asked, Message.NO_LEASE));
        Envelope q = waiter.read("QUEUED");
        if (!(q.message() instanceof Message.Queued queued) || q.correlationId() != id) {
            throw new CaseFailure("expected QUEUED (id " + id + "), got " + Conversation.describe(q));
        }
        if (queued.waitTimeoutMs() == 0 || queued.waitTimeoutMs() > asked) {
            throw new CaseFailure("QUEUED wait_timeout_ms " + queued.waitTimeoutMs() + " is not in 1.." + asked);
        }
        Envelope d = waiter.read(queued.waitTimeoutMs() + c.opts.timeoutMs(), "DENIED queueTimeout");
        long elapsedMs = (System.nanoTime() - sent) / 1_000_000;
        if (!(d.message() instanceof Message.Denied denied) || denied.code() != ErrorCode.QUEUE_TIMEOUT.code()
                || d.correlationId() != id) {
            throw new CaseFailure("expected DENIED queueTimeout (id " + id + "), got " + Conversation.describe(d));
        }
        c.expectUsable(waiter, "DENIED queueTimeout");
        c.goodbye(waiter);
        c.goodbye(holder);
        return "denied after " + elapsedMs + " ms for a wait of " + queued.waitTimeoutMs() + " ms";
    }

    // ------------------------------------------------------------------ pipelining, goodbye

    private static String pipelined(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        int checkouts = Math.min(2, c.opts.seats());
        Map<Integer, String> expected = new HashMap<>();
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        for (int i = 0; i < checkouts; i++) {
            int id = c.nextId();
            batch.writeBytes(Codec.encode(id, c.checkout()));
            expected.put(id, "GRANTED");
        }
        int hb = c.nextId();
        batch.writeBytes(Codec.encode(hb, new Message.Heartbeat(List.of())));
        expected.put(hb, "HEARTBEAT_RESULT");
        int ci = c.nextId();
        batch.writeBytes(Codec.encode(ci, new Message.Checkin(UUID.randomUUID())));
        expected.put(ci, "ERROR leaseIdNotFound");
        conn.sendRaw(batch.toByteArray());
        Set<Integer> answered = new HashSet<>();
        for (int i = 0; i < expected.size(); i++) {
            Envelope e = conn.read("answer " + (i + 1) + " of " + expected.size() + " pipelined requests");
            int id = e.correlationId();
            String want = expected.get(id);
            if (want == null) {
                throw new CaseFailure("answer " + Conversation.describe(e) + " carries a correlation id we never sent");
            }
            if (!answered.add(id)) {
                throw new CaseFailure("correlation id " + id + " answered twice");
            }
            Message m = e.message();
            boolean ok = switch (want) {
                case "GRANTED" -> m instanceof Granted;
                case "HEARTBEAT_RESULT" -> m instanceof Message.HeartbeatResult;
                default -> m instanceof Message.Error err && err.code() == ErrorCode.LEASE_ID_NOT_FOUND.code();
            };
            if (!ok) {
                throw new CaseFailure("id " + id + " should be answered by " + want + ", got " + Conversation.describe(e));
            }
        }
        c.goodbye(conn);
        return expected.size() + " requests in one write";
    }

    private static String goodbye(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection conn = c.greeted();
        c.takeSeats(conn, c.opts.seats());
        int id = c.nextId();
        conn.send(id, new Message.Goodbye(0, "done"));
        Envelope e = conn.read("GOODBYE");
        if (!(e.message() instanceof Message.Goodbye) || e.correlationId() != id) {
            throw new CaseFailure("expected GOODBYE (id " + id + ") answering GOODBYE, got " + Conversation.describe(e));
        }
        conn.expectClosed(c.opts.timeoutMs(), "the server's GOODBYE");
        BlockingConnection other = c.greeted();
        try {
            c.takeSeats(other, c.opts.seats());
        } catch (CaseFailure f) {
            throw new CaseFailure("GOODBYE did not check in the session's seats: " + f.getMessage());
        }
        c.goodbye(other);
        return null;
    }

    // ------------------------------------------------------------------ bad input that must not spread

    private static String unknownType(Conversation c) throws CaseFailure {
        BlockingConnection conn = c.greeted();
        int id = c.nextId();
        byte[] body = "future".getBytes(StandardCharsets.US_ASCII);
        byte[] frame = rawFrame(0x55, id, body);
        conn.sendRaw(frame);
        c.expectError(conn, id, ErrorCode.UNKNOWN_MESSAGE_TYPE, "a frame of type 0x55");
        c.expectUsable(conn, "ERROR unknownMessageType");
        c.goodbye(conn);
        return null;
    }

    private static String halfFrame(Conversation c) throws CaseFailure {
        BlockingConnection stuck = c.greeted();
        byte[] whole = Codec.encode(c.nextId(), c.checkout());
        byte[] half = new byte[whole.length / 2];
        System.arraycopy(whole, 0, half, 0, half.length);
        stuck.sendRaw(half);
        BlockingConnection other = c.greeted();
        UUID lease = c.takeSeat(other);
        c.checkin(other, lease);
        c.expectUsable(other, "a checkout and checkin");
        c.goodbye(other);
        stuck.kill();
        return null;
    }

    static byte[] rawFrame(int type, int correlationId, byte[] body) {
        int length = Limits.HEADER_AFTER_LENGTH + body.length;
        byte[] f = new byte[Limits.LENGTH_PREFIX + length];
        f[0] = (byte) (length >>> 24);
        f[1] = (byte) (length >>> 16);
        f[2] = (byte) (length >>> 8);
        f[3] = (byte) length;
        f[4] = (byte) type;
        f[5] = 0;
        f[6] = (byte) (correlationId >>> 24);
        f[7] = (byte) (correlationId >>> 16);
        f[8] = (byte) (correlationId >>> 8);
        f[9] = (byte) correlationId;
        System.arraycopy(body, 0, f, 10, body.length);
        return f;
    }

    // ------------------------------------------------------------------ socket loss (section 8)

    private static String killedSocket(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection victim = c.greeted();
        c.takeSeats(victim, c.opts.seats());
        BlockingConnection other = c.greeted();
        int id = c.nextId();
        other.send(id, c.checkout());
        c.expectDenied(other, id, ErrorCode.NO_SEATS_AVAILABLE, "a checkout while another connection holds every seat");
        long killed = System.nanoTime();
        victim.kill();
        int got = 0;
        long deadline = System.currentTimeMillis() + c.opts.seatReturnTimeoutMs();
        while (got < c.opts.seats()) {
            int cid = c.nextId();
            other.send(cid, c.checkout());
            Envelope e = other.read("answer to CHECKOUT");
            if (e.message() instanceof Granted && e.correlationId() == cid) {
                got++;
                continue;
            }
            if (!(e.message() instanceof Message.Denied d) || d.code() != ErrorCode.NO_SEATS_AVAILABLE.code()) {
                throw new CaseFailure("checkout after the kill answered by " + Conversation.describe(e));
            }
            if (System.currentTimeMillis() > deadline) {
                throw new CaseFailure("only " + got + " of " + c.opts.seats() + " seats came back within "
                        + c.opts.seatReturnTimeoutMs() + " ms of killing the connection that held them");
            }
            Conversation.sleep(100);
        }
        long ms = (System.nanoTime() - killed) / 1_000_000;
        c.goodbye(other);
        return "all " + c.opts.seats() + " seats back " + ms + " ms after the kill";
    }

    /**
     * Protocol 1.1 (PROTOCOL.md 10.6): the holder's connection dies; a new connection of the same client presents
     * the secret from GRANTED. With a reclaim grace: GRANTED RECLAIMED, same lease id, same secret; without: DENIED
     * leaseIdNotFound (the lease ended with its connection).
     */
    private static String reclaim(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        String hw = c.newHwId();
        BlockingConnection victim = c.greeted(hw, Preamble.VERSION_1_1);
        Granted first = c.takeSeatGranted(victim);
        UUID lease = first.leaseId();
        victim.kill();
        // Let the server see the reset before we name the lease from elsewhere.
        Conversation.sleep(500);
        BlockingConnection again = c.greeted(hw, Preamble.VERSION_1_1);
        int id = c.nextId();
        again.send(id, c.checkoutV11(Checkout.FLAG_RECLAIM, lease, first.reclaimSecret()));
        Envelope e = again.read("answer to a RECLAIM checkout");
        if (e.correlationId() != id) {
            throw new CaseFailure("RECLAIM checkout (id " + id + ") answered by " + Conversation.describe(e));
        }
        if (e.message() instanceof Granted g) {
            expectReclaimed(g, first);
            c.checkin(again, lease);
            c.goodbye(again);
            return "server has a reclaim grace: GRANTED with RECLAIMED, same lease id, same secret";
        }
        if (e.message() instanceof Message.Denied d && d.code() == ErrorCode.LEASE_ID_NOT_FOUND.code()) {
            c.goodbye(again);
            return "server has no reclaim grace: DENIED leaseIdNotFound";
        }
        throw new CaseFailure("expected GRANTED (RECLAIMED) or DENIED leaseIdNotFound, got " + Conversation.describe(e));
    }

    private static void expectReclaimed(Granted g, Granted first) throws CaseFailure {
        if (!g.leaseId().equals(first.leaseId())) {
            throw new CaseFailure("reclaim granted lease " + g.leaseId() + " instead of " + first.leaseId());
        }
        if (!g.reclaimed()) {
            throw new CaseFailure("GRANTED for a reclaim lacks the RECLAIMED flag");
        }
        if (!java.util.Arrays.equals(g.reclaimSecret(), first.reclaimSecret())) {
            throw new CaseFailure("GRANTED for a reclaim must echo the lease's reclaim_secret (PROTOCOL.md 10.6); "
                    + "it carries another one");
        }
    }

    /** A 1.0 client (offer 1..1) gets version 1 frames: GRANTED byte for byte without a reclaim_secret. */
    private static String v1ClientGetsV1Frames(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        BlockingConnection old = c.greeted(c.newHwId(), Preamble.VERSION_1);
        int id = c.nextId();
        old.send(id, c.checkout());
        Granted g = c.expectGranted(old, id, "a version 1 CHECKOUT");
        byte[] got = old.lastFrame();
        byte[] v1 = Codec.encode(id, g, Preamble.VERSION_1);
        if (!java.util.Arrays.equals(got, v1)) {
            throw new CaseFailure("GRANTED to a version 1 client is not a version 1 frame (" + got.length
                    + " bytes, a version 1 GRANTED of these fields has " + v1.length + "): "
                    + Conversation.hex(got));
        }
        c.checkin(old, g.leaseId());
        c.goodbye(old);
        return "GRANTED of " + got.length + " bytes, no reclaim_secret";
    }

    /**
     * The holder's old socket is still open (half-open, as after a network cut): a new connection of the same
     * client_id and hw_id presenting the secret takes the lease (PROTOCOL.md 10.6), with or without a grace.
     */
    private static String reclaimWithSecret(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        String hw = c.newHwId();
        BlockingConnection holder = c.greeted(hw, Preamble.VERSION_1_1);
        Granted first = c.takeSeatGranted(holder);
        byte[] secret = first.reclaimSecret();
        if (secret == null || dev.turnstile.protocol.Secrets.isZero(secret)) {
            throw new CaseFailure("a version 2 GRANTED must carry a non-zero reclaim_secret (PROTOCOL.md 6.5)");
        }
        BlockingConnection again = c.greeted(hw, Preamble.VERSION_1_1);
        int id = c.nextId();
        again.send(id, c.checkoutV11(Checkout.FLAG_RECLAIM, first.leaseId(), secret));
        Granted g = c.expectGranted(again, id, "a RECLAIM with the lease's secret");
        expectReclaimed(g, first);
        c.checkin(again, first.leaseId());
        c.goodbye(again);
        return "GRANTED RECLAIMED, same lease id, secret echoed";
    }

    /**
     * Another connection with every identifier of a live lease (id, client_id, hw_id, the token), presenting an
     * all-zero or a wrong secret: DENIED reclaimSecretMismatch, and the holder's heartbeat still renews.
     */
    private static String reclaimWrongSecret(Conversation c) throws CaseFailure {
        c.awaitAllSeatsFree();
        String hw = c.newHwId();
        BlockingConnection holder = c.greeted(hw, Preamble.VERSION_1_1);
        Granted first = c.takeSeatGranted(holder);
        byte[] wrong = first.reclaimSecret();
        wrong[0] ^= 0x01; // one bit off
        for (byte[] presented : new byte[][] {null, wrong}) {
            String what = presented == null ? "an all-zero secret" : "a wrong secret";
            BlockingConnection other = c.greeted(hw, Preamble.VERSION_1_1);
            int id = c.nextId();
            other.send(id, c.checkoutV11(Checkout.FLAG_RECLAIM, first.leaseId(), presented));
            c.expectDenied(other, id, ErrorCode.RECLAIM_SECRET_MISMATCH, "a RECLAIM of a live lease with " + what);
            c.expectUsable(other, "DENIED reclaimSecretMismatch (a business refusal)");
            c.goodbye(other);
            int hb = c.nextId();
            holder.send(hb, new Message.Heartbeat(List.of(first.leaseId())));
            Envelope e = holder.read("HEARTBEAT_RESULT");
            if (!(e.message() instanceof Message.HeartbeatResult r) || e.correlationId() != hb
                    || r.results().size() != 1 || !r.results().get(0).ok()) {
                throw new CaseFailure("after a refused RECLAIM with " + what + " the holder's HEARTBEAT was answered by "
                        + Conversation.describe(e) + ": the holder must keep its lease");
            }
        }
        c.checkin(holder, first.leaseId());
        c.goodbye(holder);
        return "DENIED reclaimSecretMismatch for a zero and a wrong secret; the holder kept its lease";
    }
}
