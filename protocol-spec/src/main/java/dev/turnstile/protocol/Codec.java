package dev.turnstile.protocol;

import dev.turnstile.protocol.Message.CheckedIn;
import dev.turnstile.protocol.Message.Checkin;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Denied;
import dev.turnstile.protocol.Message.Goodbye;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.Heartbeat;
import dev.turnstile.protocol.Message.HeartbeatResult;
import dev.turnstile.protocol.Message.Hello;
import dev.turnstile.protocol.Message.LeaseStatus;
import dev.turnstile.protocol.Message.Notice;
import dev.turnstile.protocol.Message.Queued;
import dev.turnstile.protocol.Message.Welcome;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Encodes and decodes whole frames of protocol 1.0 and 1.1 (versions 1 and 2 of the preamble;
 * PROTOCOL.md sections 3, 4.1 and 6). Stateless and thread-safe. The forms without a version mean
 * version 1. A frame here always includes its 4-byte length prefix.
 *
 * <p>Decoding never trusts the peer: every string and list is checked against {@link Limits}
 * before anything is allocated for it, truncation is {@code malformedFrame}, and bytes after the
 * last field this version knows are ignored (forward compatibility, section 9). Checks run in the
 * order PROTOCOL.md section 3.5 gives, so every implementation reports the same code for a frame.
 *
 * <p>Encoding enforces the wire limits (string and list maxima, integer ranges, frame size) and
 * refuses with {@link IllegalArgumentException}; it does not enforce the semantic rules a receiver
 * checks (non-empty ids, quantity range, reserved flag bits, non-zero request ids), so that tests
 * and the conformance harness can build frames a server must refuse.
 */
public final class Codec {
    private Codec() {
    }

    // ------------------------------------------------------------------ encoding

    /**
     * Encodes {@code message} as one frame with the given correlation id (a u32 on the wire: values
     * from {@code 0x80000000} up are passed as negative ints, as {@link Envelope#correlationId()} gives
     * them).
     */
    public static byte[] encode(int correlationId, Message message) {
        return encode(correlationId, message, Preamble.VERSION_1);
    }

    /**
     * Encodes {@code message} as one frame of the negotiated protocol {@code version} (1 or 2,
     * PROTOCOL.md section 4.1). Version 2 appends the 32-byte {@code reclaim_secret} to GRANTED,
     * CHECKOUT and CHECKIN (all zero when the message carries none); version 1 never writes it.
     */
    public static byte[] encode(int correlationId, Message message, int version) {
        checkVersion(version);
        boolean v11 = version >= Preamble.VERSION_1_1;
        Writer w = new Writer(64);
        w.u32(0); // length, patched below
        w.u8(message.type().code());
        w.u8(0); // header flags: reserved in v1
        // The id is a u32 carried in an int: ids from 0x80000000 up are negative ints and must
        // be written as their unsigned value (a decoded id is echoed as it came).
        w.u32(Integer.toUnsignedLong(correlationId));
        switch (message.type()) {
            case HELLO -> {
                Hello m = (Hello) message;
                w.str(m.clientId(), Limits.MAX_CLIENT_ID);
                w.str(m.hwId(), Limits.MAX_HW_ID);
                w.str(m.clientVersion(), Limits.MAX_CLIENT_VERSION);
                w.str(m.authToken(), Limits.MAX_AUTH_TOKEN);
            }
            case WELCOME -> {
                Welcome m = (Welcome) message;
                w.str(m.serverId(), Limits.MAX_SERVER_ID);
                w.u32(m.heartbeatIntervalMs());
                w.u32(m.leaseTimeoutMs());
                w.u64(m.serverTimeMs());
                w.u64(m.licenseValidUntilMs());
                w.u8(m.flags());
                if (m.peers().size() > Limits.MAX_PEERS) {
                    throw new IllegalArgumentException("more than " + Limits.MAX_PEERS + " peers");
                }
                w.u8(m.peers().size());
                for (String p : m.peers()) {
                    w.str(p, Limits.MAX_ADDRESS);
                }
            }
            case CHECKOUT -> {
                Checkout m = (Checkout) message;
                w.str(m.product(), Limits.MAX_PRODUCT);
                w.str(m.licenseKey(), Limits.MAX_LICENSE_KEY);
                w.u32(m.quantity());
                w.u8(m.enforcement());
                w.u8(m.flags());
                w.u32(m.waitTimeoutMs());
                w.uuid(m.reclaimLeaseId());
                if (v11) {
                    w.secret(m.reclaimSecret());
                }
            }
            case GRANTED -> {
                Granted m = (Granted) message;
                w.uuid(m.leaseId());
                w.str(m.entitlementId(), Limits.MAX_ENTITLEMENT_ID);
                w.str(m.product(), Limits.MAX_PRODUCT);
                w.u32(m.quantity());
                w.u32(m.leaseTimeoutMs());
                w.u64(m.term());
                w.u64(m.logIndex());
                w.u8(m.flags());
                if (v11) {
                    w.secret(m.reclaimSecret());
                }
            }
            case QUEUED -> {
                Queued m = (Queued) message;
                w.u32(m.position());
                w.u32(m.waitTimeoutMs());
            }
            case DENIED -> {
                Denied m = (Denied) message;
                w.u16(m.code());
                w.u32(m.retryAfterMs());
                w.str(m.leader(), Limits.MAX_ADDRESS);
                w.str(truncate(m.message()), Limits.MAX_TEXT);
            }
            case HEARTBEAT -> {
                Heartbeat m = (Heartbeat) message;
                if (m.leaseIds().size() > Limits.MAX_HEARTBEAT_LEASES) {
                    throw new IllegalArgumentException("more than " + Limits.MAX_HEARTBEAT_LEASES + " leases");
                }
                w.u16(m.leaseIds().size());
                for (UUID id : m.leaseIds()) {
                    w.uuid(id);
                }
            }
            case HEARTBEAT_RESULT -> {
                HeartbeatResult m = (HeartbeatResult) message;
                if (m.results().size() > Limits.MAX_HEARTBEAT_LEASES) {
                    throw new IllegalArgumentException("more than " + Limits.MAX_HEARTBEAT_LEASES + " results");
                }
                w.u16(m.results().size());
                for (LeaseStatus s : m.results()) {
                    w.uuid(s.leaseId());
                    w.u16(s.code());
                    w.u32(s.remainingMs());
                }
            }
            case CHECKIN -> {
                Checkin m = (Checkin) message;
                w.uuid(m.leaseId());
                if (v11) {
                    w.secret(m.reclaimSecret());
                }
            }
            case CHECKED_IN -> w.uuid(((CheckedIn) message).leaseId());
            case NOTICE -> {
                Notice m = (Notice) message;
                w.u8(m.kind());
                w.uuid(m.leaseId());
                w.u16(m.code());
                w.str(m.product(), Limits.MAX_PRODUCT);
                w.u64(m.deadlineMs());
                w.str(truncate(m.text()), Limits.MAX_TEXT);
            }
            case GOODBYE -> {
                Goodbye m = (Goodbye) message;
                w.u16(m.code());
                w.str(truncate(m.message()), Limits.MAX_TEXT);
            }
            case ERROR -> {
                Message.Error m = (Message.Error) message;
                w.u16(m.code());
                w.str(truncate(m.message()), Limits.MAX_TEXT);
            }
        }
        byte[] out = w.toByteArray();
        int length = out.length - Limits.LENGTH_PREFIX;
        if (length > Limits.MAX_FRAME_LENGTH) {
            throw new IllegalArgumentException("frame of " + length + " bytes exceeds " + Limits.MAX_FRAME_LENGTH);
        }
        out[0] = (byte) (length >>> 24);
        out[1] = (byte) (length >>> 16);
        out[2] = (byte) (length >>> 8);
        out[3] = (byte) length;
        return out;
    }

    /** Free text is cut (at a character boundary) rather than refused: it is for humans. */
    private static String truncate(String s) {
        if (s.length() <= Limits.MAX_TEXT / 4) {
            return s;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= Limits.MAX_TEXT) {
            return s;
        }
        int end = Limits.MAX_TEXT;
        while (end > 0 && (b[end] & 0xC0) == 0x80) {
            end--;
        }
        return new String(b, 0, end, StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ decoding

    /**
     * Reads the length prefix at {@code off} and checks it against the limits.
     *
     * @return the number of bytes that follow the prefix
     * @throws ProtocolException {@code frameTooLarge} or {@code malformedFrame}
     */
    public static int checkLengthPrefix(byte[] b, int off) throws ProtocolException {
        long length = ((b[off] & 0xFFL) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
        return checkLength(length);
    }

    /** Checks a length prefix value already read. */
    public static int checkLength(long length) throws ProtocolException {
        if (length > Limits.MAX_FRAME_LENGTH) {
            throw new ProtocolException(ErrorCode.FRAME_TOO_LARGE, 0,
                    "length prefix " + length + " exceeds the maximum of " + Limits.MAX_FRAME_LENGTH);
        }
        if (length < Limits.HEADER_AFTER_LENGTH) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0,
                    "length prefix " + length + " is shorter than the " + Limits.HEADER_AFTER_LENGTH + "-byte header");
        }
        return (int) length;
    }

    /** Decodes one whole frame (length prefix included). */
    public static Envelope decode(byte[] frame) throws ProtocolException {
        return decode(frame, 0, frame.length);
    }

    /** Decodes one whole frame (length prefix included) from {@code b[off, off+len)}. */
    public static Envelope decode(byte[] b, int off, int len) throws ProtocolException {
        return decode(b, off, len, MessageType.Sender.EITHER);
    }

    /**
     * Decodes one whole frame (length prefix included) received from {@code from}, and also applies
     * the direction rules of PROTOCOL.md section 3.4 that a direction-blind decoder cannot: a type
     * the peer may not send is {@code unexpectedMessage} (close), and a client GOODBYE with
     * correlation id 0 is {@code malformedFrame}. A server decodes what its clients send with
     * {@code from = CLIENT}; a client decodes what its server sends with {@code from = SERVER};
     * {@code EITHER} applies no direction rule and equals {@link #decode(byte[])}.
     */
    public static Envelope decode(byte[] frame, MessageType.Sender from) throws ProtocolException {
        return decode(frame, 0, frame.length, from);
    }

    /**
     * As {@link #decode(byte[], MessageType.Sender)} for the negotiated protocol {@code version} (1 or 2):
     * in version 2 GRANTED, CHECKOUT and CHECKIN end with a 32-byte {@code reclaim_secret}, and a frame
     * without it is {@code malformedFrame}.
     */
    public static Envelope decode(byte[] frame, MessageType.Sender from, int version) throws ProtocolException {
        return decode(frame, 0, frame.length, from, version);
    }

    /** As {@link #decode(byte[], MessageType.Sender)}, from {@code b[off, off+len)}. */
    public static Envelope decode(byte[] b, int off, int len, MessageType.Sender from) throws ProtocolException {
        return decode(b, off, len, from, Preamble.VERSION_1);
    }

    /** As {@link #decode(byte[], MessageType.Sender, int)}, from {@code b[off, off+len)}. */
    public static Envelope decode(byte[] b, int off, int len, MessageType.Sender from, int version)
            throws ProtocolException {
        if (len < Limits.LENGTH_PREFIX) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0, "frame shorter than its length prefix");
        }
        int length = checkLengthPrefix(b, off);
        if (length != len - Limits.LENGTH_PREFIX) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0,
                    "length prefix says " + length + " bytes but " + (len - Limits.LENGTH_PREFIX) + " follow");
        }
        return decodeAfterPrefix(b, off + Limits.LENGTH_PREFIX, length, from, version);
    }

    /** Decodes the {@code length} bytes that follow a length prefix already checked. */
    public static Envelope decodeAfterPrefix(byte[] b, int off, int length) throws ProtocolException {
        return decodeAfterPrefix(b, off, length, MessageType.Sender.EITHER);
    }

    /**
     * Decodes the {@code length} bytes that follow a length prefix already checked, sent by
     * {@code from} (see {@link #decode(byte[], MessageType.Sender)}).
     */
    public static Envelope decodeAfterPrefix(byte[] b, int off, int length, MessageType.Sender from)
            throws ProtocolException {
        return decodeAfterPrefix(b, off, length, from, Preamble.VERSION_1);
    }

    /** As {@link #decodeAfterPrefix(byte[], int, int, MessageType.Sender)} for protocol {@code version}. */
    public static Envelope decodeAfterPrefix(byte[] b, int off, int length, MessageType.Sender from, int version)
            throws ProtocolException {
        java.util.Objects.requireNonNull(from, "from");
        checkVersion(version);
        boolean v11 = version >= Preamble.VERSION_1_1;
        Reader r = new Reader(b, off, length);
        int typeByte = r.u8();
        int flags = r.u8();
        int corr = (int) r.u32();
        r.correlationId = corr;
        MessageType type = MessageType.of(typeByte);
        if (type == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_MESSAGE_TYPE, corr,
                    String.format("message type 0x%02X is not defined in protocol v1", typeByte));
        }
        if (flags != 0) {
            throw new ProtocolException(ErrorCode.RESERVED_BITS_SET, corr,
                    String.format("header flags 0x%02X: all bits are reserved in v1", flags));
        }
        if ((from == MessageType.Sender.CLIENT && !type.sentByClient())
                || (from == MessageType.Sender.SERVER && !type.sentByServer())) {
            throw new ProtocolException(ErrorCode.UNEXPECTED_MESSAGE, corr,
                    type + " is never sent by a " + from.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (from == MessageType.Sender.CLIENT && type == MessageType.GOODBYE) {
            requireRequestId(type, corr);
        }
        Message m = switch (type) {
            case HELLO -> {
                requireRequestId(type, corr);
                String clientId = r.str("client_id", Limits.MAX_CLIENT_ID);
                String hwId = r.str("hw_id", Limits.MAX_HW_ID);
                String clientVersion = r.str("client_version", Limits.MAX_CLIENT_VERSION);
                String token = r.str("auth_token", Limits.MAX_AUTH_TOKEN);
                if (clientId.isEmpty() || hwId.isEmpty()) {
                    throw r.malformed("client_id and hw_id must not be empty");
                }
                yield new Hello(clientId, hwId, clientVersion, token);
            }
            case WELCOME -> {
                String serverId = r.str("server_id", Limits.MAX_SERVER_ID);
                long hb = r.u32();
                long lt = r.u32();
                long now = r.u64();
                long validUntil = r.u64();
                int wflags = r.u8();
                if ((wflags & ~Welcome.KNOWN_FLAGS) != 0) {
                    throw new ProtocolException(ErrorCode.RESERVED_BITS_SET, corr,
                            String.format("WELCOME flags 0x%02X set reserved bits", wflags));
                }
                int n = r.u8();
                if (n > Limits.MAX_PEERS) {
                    throw new ProtocolException(ErrorCode.FIELD_TOO_LONG, corr,
                            "peer_count " + n + " exceeds " + Limits.MAX_PEERS);
                }
                List<String> peers = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    peers.add(r.str("peer", Limits.MAX_ADDRESS));
                }
                yield new Welcome(serverId, hb, lt, now, validUntil, wflags, peers);
            }
            case CHECKOUT -> {
                requireRequestId(type, corr);
                String product = r.str("product", Limits.MAX_PRODUCT);
                String key = r.str("license_key", Limits.MAX_LICENSE_KEY);
                long qty = r.u32();
                int enforcement = r.u8();
                int cflags = r.u8();
                long wait = r.u32();
                UUID reclaim = r.uuid();
                byte[] secret = v11 ? r.secret() : null;
                if ((cflags & ~Checkout.KNOWN_FLAGS) != 0) {
                    throw new ProtocolException(ErrorCode.RESERVED_BITS_SET, corr,
                            String.format("CHECKOUT flags 0x%02X set reserved bits", cflags));
                }
                if (product.isEmpty()) {
                    throw r.malformed("product must not be empty");
                }
                if ((cflags & Checkout.FLAG_RECLAIM) != 0 && reclaim.equals(Message.NO_LEASE)) {
                    throw r.malformed("RECLAIM flag set with the all-zero lease id");
                }
                if (qty == 0 || qty > Limits.MAX_QUANTITY) {
                    throw new ProtocolException(ErrorCode.INVALID_QUANTITY, corr,
                            "quantity " + qty + " is outside 1.." + Limits.MAX_QUANTITY);
                }
                yield new Checkout(product, key, qty, enforcement, cflags, wait, reclaim, secret);
            }
            case GRANTED -> {
                UUID id = r.uuid();
                String ent = r.str("entitlement_id", Limits.MAX_ENTITLEMENT_ID);
                String product = r.str("product", Limits.MAX_PRODUCT);
                long qty = r.u32();
                long lt = r.u32();
                long term = r.u64();
                long index = r.u64();
                int gflags = r.u8();
                byte[] secret = v11 ? r.secret() : null;
                if ((gflags & ~Granted.KNOWN_FLAGS) != 0) {
                    throw new ProtocolException(ErrorCode.RESERVED_BITS_SET, corr,
                            String.format("GRANTED flags 0x%02X set reserved bits", gflags));
                }
                yield new Granted(id, ent, product, qty, lt, term, index, gflags, secret);
            }
            case QUEUED -> new Queued(r.u32(), r.u32());
            case DENIED -> new Denied(r.u16(), r.u32(), r.str("leader", Limits.MAX_ADDRESS), r.str("message", Limits.MAX_TEXT));
            case HEARTBEAT -> {
                requireRequestId(type, corr);
                int n = r.u16();
                if (n > Limits.MAX_HEARTBEAT_LEASES) {
                    throw new ProtocolException(ErrorCode.FIELD_TOO_LONG, corr,
                            "lease_count " + n + " exceeds " + Limits.MAX_HEARTBEAT_LEASES);
                }
                r.need(16L * n, "lease_ids");
                List<UUID> ids = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ids.add(r.uuid());
                }
                yield new Heartbeat(ids);
            }
            case HEARTBEAT_RESULT -> {
                int n = r.u16();
                if (n > Limits.MAX_HEARTBEAT_LEASES) {
                    throw new ProtocolException(ErrorCode.FIELD_TOO_LONG, corr,
                            "result_count " + n + " exceeds " + Limits.MAX_HEARTBEAT_LEASES);
                }
                r.need(22L * n, "results");
                List<LeaseStatus> results = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    results.add(new LeaseStatus(r.uuid(), r.u16(), r.u32()));
                }
                yield new HeartbeatResult(results);
            }
            case CHECKIN -> {
                requireRequestId(type, corr);
                UUID id = r.uuid();
                yield new Checkin(id, v11 ? r.secret() : null);
            }
            case CHECKED_IN -> new CheckedIn(r.uuid());
            case NOTICE -> new Notice(r.u8(), r.uuid(), r.u16(), r.str("product", Limits.MAX_PRODUCT), r.u64(),
                    r.str("text", Limits.MAX_TEXT));
            case GOODBYE -> new Goodbye(r.u16(), r.str("message", Limits.MAX_TEXT));
            case ERROR -> new Message.Error(r.u16(), r.str("message", Limits.MAX_TEXT));
        };
        // Bytes after the last known field are ignored (PROTOCOL.md section 9, forward compatibility).
        return new Envelope(corr, m);
    }

    private static void checkVersion(int version) {
        if (version < Preamble.MIN_SUPPORTED || version > Preamble.MAX_SUPPORTED) {
            throw new IllegalArgumentException("protocol version " + version + " is not one of "
                    + Preamble.MIN_SUPPORTED + ".." + Preamble.MAX_SUPPORTED);
        }
    }

    private static void requireRequestId(MessageType type, int corr) throws ProtocolException {
        if (corr == 0) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0,
                    type + " is a request and must carry a non-zero correlation id");
        }
    }

    // ------------------------------------------------------------------ primitives

    private static final class Writer {
        private byte[] buf;
        private int pos;

        Writer(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int n) {
            if (pos + n > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
            }
        }

        void u8(int v) {
            if (v < 0 || v > 0xFF) {
                throw new IllegalArgumentException("u8 out of range: " + v);
            }
            ensure(1);
            buf[pos++] = (byte) v;
        }

        void u16(int v) {
            if (v < 0 || v > 0xFFFF) {
                throw new IllegalArgumentException("u16 out of range: " + v);
            }
            ensure(2);
            buf[pos++] = (byte) (v >>> 8);
            buf[pos++] = (byte) v;
        }

        void u32(long v) {
            if (v < 0 || v > 0xFFFF_FFFFL) {
                throw new IllegalArgumentException("u32 out of range: " + v);
            }
            ensure(4);
            buf[pos++] = (byte) (v >>> 24);
            buf[pos++] = (byte) (v >>> 16);
            buf[pos++] = (byte) (v >>> 8);
            buf[pos++] = (byte) v;
        }

        void u64(long v) {
            ensure(8);
            for (int s = 56; s >= 0; s -= 8) {
                buf[pos++] = (byte) (v >>> s);
            }
        }

        void uuid(UUID id) {
            u64(id.getMostSignificantBits());
            u64(id.getLeastSignificantBits());
        }

        void str(String s, int max) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > max) {
                throw new IllegalArgumentException("string of " + b.length + " bytes exceeds its maximum of " + max);
            }
            u16(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, pos, b.length);
            pos += b.length;
        }

        /** A reclaim secret (version 2): its 32 bytes, or 32 zero bytes for none. */
        void secret(byte[] s) {
            ensure(Limits.RECLAIM_SECRET);
            if (s != null) {
                System.arraycopy(s, 0, buf, pos, Limits.RECLAIM_SECRET);
            }
            pos += Limits.RECLAIM_SECRET;
        }

        byte[] toByteArray() {
            return java.util.Arrays.copyOf(buf, pos);
        }
    }

    private static final class Reader {
        private final byte[] b;
        private int pos;
        private final int end;
        int correlationId;

        Reader(byte[] b, int off, int len) {
            this.b = b;
            this.pos = off;
            this.end = off + len;
        }

        ProtocolException malformed(String what) {
            return new ProtocolException(ErrorCode.MALFORMED_FRAME, correlationId, what);
        }

        void need(long n, String field) throws ProtocolException {
            if (end - pos < n) {
                throw malformed("frame ends inside field " + field + " (needs " + n + " bytes, " + (end - pos) + " left)");
            }
        }

        int u8() throws ProtocolException {
            need(1, "u8");
            return b[pos++] & 0xFF;
        }

        int u16() throws ProtocolException {
            need(2, "u16");
            int v = ((b[pos] & 0xFF) << 8) | (b[pos + 1] & 0xFF);
            pos += 2;
            return v;
        }

        long u32() throws ProtocolException {
            need(4, "u32");
            long v = ((b[pos] & 0xFFL) << 24) | ((b[pos + 1] & 0xFF) << 16) | ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
            pos += 4;
            return v;
        }

        long u64() throws ProtocolException {
            need(8, "u64");
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (b[pos++] & 0xFF);
            }
            return v;
        }

        UUID uuid() throws ProtocolException {
            need(16, "lease_id");
            return new UUID(u64(), u64());
        }

        byte[] secret() throws ProtocolException {
            need(Limits.RECLAIM_SECRET, "reclaim_secret");
            byte[] s = java.util.Arrays.copyOfRange(b, pos, pos + Limits.RECLAIM_SECRET);
            pos += Limits.RECLAIM_SECRET;
            return s;
        }

        String str(String field, int max) throws ProtocolException {
            need(2, field + " length");
            int len = u16();
            if (len > max) {
                throw new ProtocolException(ErrorCode.FIELD_TOO_LONG, correlationId,
                        field + " is " + len + " bytes; the maximum is " + max);
            }
            need(len, field);
            int start = pos;
            pos += len;
            boolean ascii = true;
            for (int i = start; i < pos; i++) {
                if (b[i] < 0) {
                    ascii = false;
                    break;
                }
            }
            if (ascii) {
                return new String(b, start, len, StandardCharsets.ISO_8859_1);
            }
            try {
                CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b, start, len));
                return cb.toString();
            } catch (CharacterCodingException e) {
                throw new ProtocolException(ErrorCode.INVALID_UTF8, correlationId, field + " is not valid UTF-8");
            }
        }
    }
}
