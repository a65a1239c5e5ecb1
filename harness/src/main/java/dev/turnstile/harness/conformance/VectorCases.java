package dev.turnstile.harness.conformance;

import dev.turnstile.harness.vectors.Vector;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import java.util.ArrayList;
import java.util.List;

/**
 * One case per client-sent vector. Invalid frames must be answered with the code the vector names
 * and the connection closed or kept as it says; valid frames must be answered by a frame carrying
 * their correlation id. HELLO frames go right after the preamble; every other frame after a HELLO.
 */
final class VectorCases {
    private VectorCases() {
    }

    /** A vector that cannot be sent over a stream as it stands, with the reason. */
    record Skipped(Vector vector, String reason) {
    }

    static List<ConformanceCase> build(List<Vector> vectors, List<Skipped> skipped) {
        List<ConformanceCase> cases = new ArrayList<>();
        for (Vector v : vectors) {
            if (!v.clientSent()) {
                continue;
            }
            String why = v.version() < 1 || v.version() > dev.turnstile.protocol.Preamble.MAX_SUPPORTED
                    ? "a protocol version " + v.version() + " frame: this runner speaks versions 1.."
                            + dev.turnstile.protocol.Preamble.MAX_SUPPORTED
                    : notStreamable(v);
            if (why != null) {
                skipped.add(new Skipped(v, why));
                continue;
            }
            if (v.valid()) {
                Long id = v.correlationId();
                if (id == null || id == 0) {
                    skipped.add(new Skipped(v, "correlation id 0: not a request"));
                    continue;
                }
                cases.add(new ConformanceCase("vector.valid." + v.name(), c -> valid(c, v)));
            } else {
                cases.add(new ConformanceCase("vector.invalid." + v.name(), c -> invalid(c, v)));
            }
        }
        return cases;
    }

    /**
     * A receiver reading a stream decides on an oversized or undersized length prefix at once, but a
     * frame cut short (or followed by extra bytes) only means something to a decoder handed exactly
     * those bytes: over a socket the server would wait for the rest, or read a next frame.
     */
    static String notStreamable(Vector v) {
        long length = v.declaredLength();
        if (length < 0) {
            return "shorter than a length prefix: a stream receiver waits for more bytes";
        }
        if (length > Limits.MAX_FRAME_LENGTH || length < Limits.HEADER_AFTER_LENGTH) {
            return null;
        }
        long have = v.bytes().length - Limits.LENGTH_PREFIX;
        if (have < length) {
            return "frame cut short (" + have + " of " + length + " bytes): a stream receiver waits for the rest";
        }
        if (have > length) {
            return (have - length) + " byte(s) after the frame: a stream receiver reads them as the next frame";
        }
        return null;
    }

    private static BlockingConnection open(Conversation c, Vector v) throws CaseFailure {
        // each vector on a connection of its own protocol version (PROTOCOL.md 13)
        return v.isHello() ? c.connect(v.version()) : c.greeted(c.newHwId(), v.version());
    }

    private static String invalid(Conversation c, Vector v) throws CaseFailure {
        String name = v.error();
        ErrorCode code = name == null ? null : ErrorCode.ofName(name);
        if (code == null) {
            throw new CaseFailure("the vector names error '" + name + "', which ErrorCode does not know");
        }
        boolean closes = v.closes() != null ? v.closes() : code.closesConnection();
        BlockingConnection conn = open(c, v);
        conn.sendRaw(v.bytes());
        Envelope e = conn.read("ERROR " + code.wireName());
        Message m = e.message();
        String note = null;
        if (m instanceof Message.Error err && err.code() == code.code()) {
            // as expected
        } else if (m instanceof Message.Denied d && d.code() == code.code() && v.typeByte() == MessageType.CHECKOUT.code()
                && !code.closesConnection()) {
            note = "answered by DENIED, not ERROR";
        } else {
            throw new CaseFailure("expected ERROR " + code.wireName() + ", got " + Conversation.describe(e));
        }
        Long id = v.correlationId();
        if (id != null && Integer.toUnsignedLong(e.correlationId()) != id) {
            throw new CaseFailure(code.wireName() + " carries correlation id " + Integer.toUnsignedString(e.correlationId())
                    + ", the vector says " + id);
        }
        if (closes) {
            conn.expectClosed(c.opts.timeoutMs(), "ERROR " + code.wireName());
        } else if (conn.greeted()) {
            c.expectUsable(conn, "ERROR " + code.wireName());
            c.goodbye(conn);
        } else {
            // Refused before HELLO without closing: the session must still take a HELLO.
            int id2 = c.nextId();
            conn.send(id2, c.hello(c.newHwId()));
            Envelope w = conn.read("WELCOME after a refused first frame");
            if (!(w.message() instanceof Message.Welcome) || w.correlationId() != id2) {
                throw new CaseFailure("HELLO after ERROR " + code.wireName() + " answered by " + Conversation.describe(w));
            }
            conn.markGreeted();
            c.goodbye(conn);
        }
        return note;
    }

    private static String valid(Conversation c, Vector v) throws CaseFailure {
        long id = v.correlationId();
        BlockingConnection conn = open(c, v);
        conn.sendRaw(v.bytes());
        Envelope e = conn.read("an answer to " + v.typeName());
        if (Integer.toUnsignedLong(e.correlationId()) != id) {
            throw new CaseFailure("answered by " + Conversation.describe(e) + ", expected correlation id " + id);
        }
        String note = "answered by " + Conversation.describe(e);
        if (e.message() instanceof Message.Welcome) {
            conn.markGreeted();
        }
        // The answer may close (a refused HELLO, GOODBYE); otherwise the cleanup GOODBYE returns any seat granted.
        return note;
    }
}
