package dev.turnstile.protocol;

import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Markdown pieces of PROTOCOL.md generated from the code, so that the document and the codec agree:
 * the error-code table (from {@link ErrorCode}) and annotated byte dumps of the valid vectors. The
 * field layouts below are a second, independent description of the wire format: annotating a frame
 * fails if they and the codec disagree on where a field starts or ends. {@link SpecDocumentTest} checks
 * that PROTOCOL.md still carries what this class produces.
 */
final class SpecFragments {
    private SpecFragments() {
    }

    /** SECRET: the 32-byte reclaim_secret, on the wire in version 2 (protocol 1.1) only. */
    enum Kind { U8, U16, U32, U64, STR, ID, PEERS, IDS, RESULTS, SECRET }

    record Field(String name, Kind kind) {
    }

    static final Map<MessageType, List<Field>> LAYOUT = new EnumMap<>(MessageType.class);

    static {
        LAYOUT.put(MessageType.HELLO, List.of(f("client_id", Kind.STR), f("hw_id", Kind.STR),
                f("client_version", Kind.STR), f("auth_token", Kind.STR)));
        LAYOUT.put(MessageType.WELCOME, List.of(f("server_id", Kind.STR), f("heartbeat_interval_ms", Kind.U32),
                f("lease_timeout_ms", Kind.U32), f("server_time_ms", Kind.U64), f("license_valid_until_ms", Kind.U64),
                f("flags", Kind.U8), f("peers", Kind.PEERS)));
        LAYOUT.put(MessageType.CHECKOUT, List.of(f("product", Kind.STR), f("license_key", Kind.STR),
                f("quantity", Kind.U32), f("enforcement", Kind.U8), f("flags", Kind.U8), f("wait_timeout_ms", Kind.U32),
                f("reclaim_lease_id", Kind.ID), f("reclaim_secret", Kind.SECRET)));
        LAYOUT.put(MessageType.GRANTED, List.of(f("lease_id", Kind.ID), f("entitlement_id", Kind.STR),
                f("product", Kind.STR), f("quantity", Kind.U32), f("lease_timeout_ms", Kind.U32), f("term", Kind.U64),
                f("log_index", Kind.U64), f("flags", Kind.U8), f("reclaim_secret", Kind.SECRET)));
        LAYOUT.put(MessageType.QUEUED, List.of(f("position", Kind.U32), f("wait_timeout_ms", Kind.U32)));
        LAYOUT.put(MessageType.DENIED, List.of(f("code", Kind.U16), f("retry_after_ms", Kind.U32),
                f("leader", Kind.STR), f("message", Kind.STR)));
        LAYOUT.put(MessageType.HEARTBEAT, List.of(f("lease_ids", Kind.IDS)));
        LAYOUT.put(MessageType.HEARTBEAT_RESULT, List.of(f("results", Kind.RESULTS)));
        LAYOUT.put(MessageType.CHECKIN, List.of(f("lease_id", Kind.ID), f("reclaim_secret", Kind.SECRET)));
        LAYOUT.put(MessageType.CHECKED_IN, List.of(f("lease_id", Kind.ID)));
        LAYOUT.put(MessageType.NOTICE, List.of(f("kind", Kind.U8), f("lease_id", Kind.ID), f("code", Kind.U16),
                f("product", Kind.STR), f("deadline_ms", Kind.U64), f("text", Kind.STR)));
        LAYOUT.put(MessageType.GOODBYE, List.of(f("code", Kind.U16), f("message", Kind.STR)));
        LAYOUT.put(MessageType.ERROR, List.of(f("code", Kind.U16), f("message", Kind.STR)));
    }

    private static Field f(String name, Kind kind) {
        return new Field(name, kind);
    }

    /** What a client does on each code, and why; the table's last column. */
    static final Map<ErrorCode, String> MEANING = new EnumMap<>(ErrorCode.class);

    static {
        m(ErrorCode.OK, "success (per-lease result in HEARTBEAT_RESULT, normal GOODBYE)");
        m(ErrorCode.MALFORMED_FRAME, "length prefix below 6, truncated field, zero id on a request, empty required string, RECLAIM with the zero lease id");
        m(ErrorCode.FRAME_TOO_LARGE, "length prefix above 65,536; decided on the 4 prefix bytes");
        m(ErrorCode.UNKNOWN_MESSAGE_TYPE, "type byte not defined in the negotiated version; the frame is skipped");
        m(ErrorCode.FIELD_TOO_LONG, "string or list longer than its maximum");
        m(ErrorCode.INVALID_UTF8, "string is not well-formed UTF-8");
        m(ErrorCode.RESERVED_BITS_SET, "a reserved bit of header flags or a message's flags is set");
        m(ErrorCode.INVALID_QUANTITY, "quantity outside 1..10,000, or not 1 for a CHECKOUTS pool");
        m(ErrorCode.UNEXPECTED_MESSAGE, "frame before HELLO, second HELLO, or a type the sender never sends");
        m(ErrorCode.HELLO_TIMEOUT, "preamble and HELLO did not arrive within the hello timeout");
        m(ErrorCode.SLOW_CONSUMER, "the client did not read its replies; the server's output buffer overflowed");
        m(ErrorCode.TOO_MANY_REQUESTS, "too many requests in flight on this connection; retry after one is answered");
        m(ErrorCode.AUTHENTICATION_FAILED, "auth_token missing or wrong");
        m(ErrorCode.CLIENT_VERSION_MISSING, "HELLO with an empty client_version");
        m(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, "client_version below the server's minimum or on its deny list");
        m(ErrorCode.CLIENT_HW_ID_MISMATCH, "the lease named belongs to another hw_id");
        m(ErrorCode.RECLAIM_SECRET_MISMATCH, "a RECLAIM or CHECKIN of another connection's lease did not present the "
                + "lease's reclaim secret (protocol 1.1), or the server refuses 1.0 reclaims (10.6)");
        m(ErrorCode.NO_SEATS_AVAILABLE, "pool full (or its queue non-empty) and WAIT not set");
        m(ErrorCode.UNKNOWN_PRODUCT, "no entitlement for this product");
        m(ErrorCode.ENTITLEMENT_NOT_ACTIVE, "entitlement not yet started or already ended");
        m(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH, "enforcement byte differs from the pool's type");
        m(ErrorCode.LEASE_ID_NOT_FOUND, "lease id unknown to this server or not held by this session");
        m(ErrorCode.LICENSE_CHECKOUT_EXPIRED, "the lease expired (missed heartbeats or reclaim grace over)");
        m(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH, "RECLAIM names a lease of another product or license key");
        m(ErrorCode.QUEUE_TIMEOUT, "a queued checkout waited its wait_timeout_ms without a seat");
        m(ErrorCode.QUEUE_FULL, "the pool's wait queue is full");
        m(ErrorCode.TOO_MANY_LEASES, "this session holds the most leases it may");
        m(ErrorCode.UNKNOWN_LICENSE_KEY, "license_key names no entitlement of the product");
        m(ErrorCode.LICENSE_EXPIRED, "the appliance's signed license is past its validity window");
        m(ErrorCode.NOT_MASTER, "this triad member is not the leader; DENIED carries the leader's address");
        m(ErrorCode.DRAINING, "the server is shutting down and takes no new checkouts");
        m(ErrorCode.NO_QUORUM, "the triad member cannot reach a majority");
        m(ErrorCode.SERVER_BUSY, "transient overload");
        m(ErrorCode.INTERNAL_ERROR, "a server fault; the request had no effect");
        m(ErrorCode.FORCED_RELEASE, "an administrator released the lease");
        m(ErrorCode.ENTITLEMENT_DELETED, "the entitlement behind the lease was removed");
        m(ErrorCode.ENTITLEMENT_ENDED, "the entitlement behind the lease reached its end");
        m(ErrorCode.SERVER_RESTART, "the lease ended because the server restarted");
        m(ErrorCode.SESSION_LOST, "the lease ended because its connection was lost and not reclaimed");
        m(ErrorCode.CHECKED_IN, "the lease ended by CHECKIN or GOODBYE");
    }

    private static void m(ErrorCode c, String text) {
        MEANING.put(c, text);
    }

    static String action(ErrorCode.Action a) {
        return switch (a) {
            case NONE -> "none";
            case RETRY -> "retry";
            case FAIL_OVER -> "fail over";
            case DROP_TOKEN -> "drop its token";
            case GIVE_UP -> "give up";
        };
    }

    /** The error-code table of PROTOCOL.md section 8, one row per {@link ErrorCode}. */
    static String errorTable() {
        StringBuilder sb = new StringBuilder();
        sb.append("| code | name | connection | client action | meaning |\n");
        sb.append("|---:|---|---|---|---|\n");
        for (ErrorCode c : ErrorCode.values()) {
            String meaning = MEANING.get(c);
            if (meaning == null) {
                throw new IllegalStateException("no meaning written for " + c.name());
            }
            sb.append("| ").append(c.code()).append(" | `").append(c.wireName()).append("` | ")
                    .append(c.closesConnection() ? "closes" : "survives").append(" | ").append(action(c.action()))
                    .append(" | ").append(meaning).append(" |\n");
        }
        return sb.toString();
    }

    /** An annotated dump of one version 1 frame. */
    static String annotate(byte[] b) {
        return annotate(b, Preamble.VERSION_1);
    }

    /** An annotated dump of one frame of protocol {@code version}: hex bytes, two spaces, then what they are. */
    static String annotate(byte[] b, int version) {
        StringBuilder sb = new StringBuilder();
        int length = ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        MessageType type = MessageType.of(b[4] & 0xFF);
        Cursor c = new Cursor(b, sb);
        c.line(4, "length " + length);
        c.line(1, "type " + type + String.format(Locale.ROOT, " (0x%02X)", type.code()));
        c.line(1, "flags " + c.peek(1) + " (header)");
        c.line(4, "correlation_id " + c.peek(4));
        for (Field f : LAYOUT.get(type)) {
            switch (f.kind()) {
                case U8 -> c.line(1, f.name() + " " + c.peek(1));
                case U16 -> c.line(2, f.name() + " " + c.peek(2));
                case U32 -> c.line(4, f.name() + " " + c.peek(4));
                case U64 -> c.line(8, f.name() + " " + Long.toUnsignedString(c.peekLong()));
                case STR -> c.str(f.name());
                case ID -> c.line(16, f.name() + " " + c.peekUuid());
                case SECRET -> {
                    if (version >= Preamble.VERSION_1_1) {
                        c.line(Limits.RECLAIM_SECRET, f.name() + " (32 bytes, version 2)");
                    }
                }
                case PEERS -> {
                    int n = (int) c.peek(1);
                    c.line(1, "peer_count " + n);
                    for (int i = 0; i < n; i++) {
                        c.str("peers[" + i + "]");
                    }
                }
                case IDS -> {
                    int n = (int) c.peek(2);
                    c.line(2, "lease_count " + n);
                    for (int i = 0; i < n; i++) {
                        c.line(16, "lease_ids[" + i + "] " + c.peekUuid());
                    }
                }
                case RESULTS -> {
                    int n = (int) c.peek(2);
                    c.line(2, "result_count " + n);
                    for (int i = 0; i < n; i++) {
                        c.line(16, "results[" + i + "].lease_id " + c.peekUuid());
                        c.line(2, "results[" + i + "].code " + c.peek(2));
                        c.line(4, "results[" + i + "].remaining_ms " + c.peek(4));
                    }
                }
            }
        }
        if (c.pos < b.length) {
            c.line(b.length - c.pos, "(bytes after the last known field: ignored)");
        }
        return sb.toString();
    }

    private static final class Cursor {
        final byte[] b;
        final StringBuilder sb;
        int pos;

        Cursor(byte[] b, StringBuilder sb) {
            this.b = b;
            this.sb = sb;
        }

        long peek(int n) {
            long v = 0;
            for (int i = 0; i < n; i++) {
                v = (v << 8) | (b[pos + i] & 0xFF);
            }
            return v;
        }

        long peekLong() {
            return peek(8);
        }

        String peekUuid() {
            return new java.util.UUID(peek(8), peekAt(pos + 8)).toString();
        }

        private long peekAt(int at) {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (b[at + i] & 0xFF);
            }
            return v;
        }

        void str(String name) {
            int n = (int) peek(2);
            line(2, name + " length " + n);
            if (n > 0) {
                String text = new String(b, pos, n, StandardCharsets.UTF_8);
                line(n, name + " \"" + text + "\"");
            }
        }

        /** Up to 16 bytes a line; longer runs continue on following lines. */
        void line(int n, String what) {
            if (pos + n > b.length) {
                throw new IllegalStateException("layout runs past the frame at " + what);
            }
            for (int start = 0; start < n; start += 16) {
                StringBuilder hex = new StringBuilder();
                for (int i = start; i < Math.min(n, start + 16); i++) {
                    hex.append(i == start ? "" : " ").append(String.format(Locale.ROOT, "%02x", b[pos + i] & 0xFF));
                }
                sb.append(String.format(Locale.ROOT, "%-47s", hex)).append("  ")
                        .append(start == 0 ? what : "...").append('\n');
            }
            pos += n;
        }
    }

    /** The session of PROTOCOL.md appendix A, one line per unit sent. */
    static String transcript() {
        java.util.UUID lease = VectorGenerator.LEASE_A;
        List<Object[]> units = List.of(
                new Object[] {"C", Preamble.client(1, 1), "preamble, versions 1..1"},
                new Object[] {"S", Preamble.server(1), "preamble, selected 1"},
                new Object[] {"C", 1, new Message.Hello(VectorGenerator.CLIENT, VectorGenerator.HW,
                        VectorGenerator.VERSION, "")},
                new Object[] {"S", 1, new Message.Welcome("edge-1", 10_000, 30_000, VectorGenerator.SERVER_TIME,
                        VectorGenerator.VALID_UNTIL, 0, List.of())},
                new Object[] {"C", 2, new Message.Checkout(VectorGenerator.PRODUCT, "", 1, 1, 0, 0, Message.NO_LEASE)},
                new Object[] {"S", 2, new Message.Granted(lease, VectorGenerator.ENTITLEMENT, VectorGenerator.PRODUCT, 1,
                        30_000, 0, 0, 0)},
                new Object[] {"C", 3, new Message.Heartbeat(List.of(lease))},
                new Object[] {"S", 3, new Message.HeartbeatResult(List.of(new Message.LeaseStatus(lease, 0, 30_000)))},
                new Object[] {"C", 4, new Message.Checkin(lease)},
                new Object[] {"S", 4, new Message.CheckedIn(lease)},
                new Object[] {"C", 5, new Message.Goodbye(0, "")},
                new Object[] {"S", 5, new Message.Goodbye(0, "goodbye")});
        StringBuilder sb = new StringBuilder("```\n");
        for (Object[] u : units) {
            byte[] bytes;
            String what;
            if (u[1] instanceof byte[] b) {
                bytes = b;
                what = (String) u[2];
            } else {
                Message m = (Message) u[2];
                bytes = Codec.encode((Integer) u[1], m);
                what = m.type() + " id " + u[1];
            }
            sb.append(u[0]).append("  ").append(java.util.HexFormat.of().formatHex(bytes)).append("\n")
                    .append("   ").append(what).append("\n");
        }
        return sb.append("```\n").toString();
    }

    private static final java.util.regex.Pattern EXAMPLE = java.util.regex.Pattern.compile(
            "(<!-- vector: (valid/[a-z0-9-]+) -->\n```\n)(.*?)(```)", java.util.regex.Pattern.DOTALL);

    /**
     * PROTOCOL.md with every generated part brought up to date: the byte dump after each
     * {@code <!-- vector: valid/NAME -->} (from the committed vector file), the error table and the
     * appendix transcript between their begin/end markers.
     */
    static String fill(String doc, java.nio.file.Path vectors) throws java.io.IOException {
        java.util.regex.Matcher m = EXAMPLE.matcher(doc);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String hex = java.nio.file.Files.readString(vectors.resolve(m.group(2) + ".hex")).strip();
            String json = java.nio.file.Files.readString(vectors.resolve(m.group(2) + ".json"));
            int version = json.contains("\n  \"version\": 2,") ? Preamble.VERSION_1_1 : Preamble.VERSION_1;
            String dump = annotate(java.util.HexFormat.of().parseHex(hex), version);
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(m.group(1) + dump + m.group(4)));
        }
        m.appendTail(out);
        String s = between(out.toString(), "error-table", errorTable());
        return between(s, "transcript", transcript());
    }

    private static String between(String doc, String marker, String content) {
        String begin = "<!-- " + marker + ":begin -->\n";
        String end = "<!-- " + marker + ":end -->";
        int b = doc.indexOf(begin);
        int e = doc.indexOf(end);
        if (b < 0 || e < b) {
            throw new IllegalStateException("PROTOCOL.md lacks the markers of " + marker);
        }
        return doc.substring(0, b + begin.length()) + content + doc.substring(e);
    }
}
