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
import dev.turnstile.protocol.MessageType.Sender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Writes the golden frames of protocol-spec/vectors/ (see vectors/README.md). Run by hand after a
 * deliberate change; the committed files are the truth and {@link VectorsTest} checks the codec
 * against them.
 *
 * <pre>
 * cd /work/main
 * mvn -o -q -B -pl protocol-spec -Dturnstile.target=target-spec test-compile
 * java -cp protocol-spec/target-spec/classes:protocol-spec/target-spec/test-classes \
 *      dev.turnstile.protocol.VectorGenerator protocol-spec/vectors [protocol-spec/PROTOCOL.md]
 * </pre>
 *
 * With the optional second argument (the path of PROTOCOL.md) it also rewrites the generated parts
 * of the document in place: the byte dump after each {@code <!-- vector: valid/NAME -->} marker, the
 * error-code table and the appendix transcript (see {@link SpecFragments#fill}).
 *
 * <p>Every invalid frame is built byte by byte here (the codec's encoder refuses most of them), and
 * the generator checks that the codec reports exactly the error it states before writing anything.
 */
public final class VectorGenerator {

    // Fixed data, so that the files do not change from one run to the next.
    static final UUID LEASE_A = UUID.fromString("3b241101-e2bb-4255-8caf-4136c566a962");
    static final UUID LEASE_B = UUID.fromString("0f8fad5b-d9cb-469f-a165-70867728950e");
    static final UUID LEASE_C = UUID.fromString("7c9e6679-7425-40de-944b-e07fc1f90ae7");
    static final UUID ZERO = Message.NO_LEASE;
    static final long SERVER_TIME = 1_780_000_000_000L; // 2026-05-28T20:26:40Z
    static final long VALID_UNTIL = 1_893_456_000_000L; // 2030-01-01T00:00:00Z
    static final String CLIENT = "press-line-4";
    static final String HW = "b8:27:eb:12:34:56";
    static final String VERSION = "2.3.1";
    static final String PRODUCT = "cad-pro";
    static final String ENTITLEMENT = "ent-cad";

    /** A valid vector of protocol {@code version} (1, or 2 for protocol 1.1; vectors/README.md). */
    record Valid(String name, String description, Sender sender, int correlationId, Message message, byte[] trailing,
                 int version) {
        Valid(String name, String description, Sender sender, int correlationId, Message message, byte[] trailing) {
            this(name, description, sender, correlationId, message, trailing, Preamble.VERSION_1);
        }

        byte[] bytes() {
            byte[] frame = Codec.encode(correlationId, message, version);
            if (trailing.length == 0) {
                return frame;
            }
            byte[] out = Arrays.copyOf(frame, frame.length + trailing.length);
            System.arraycopy(trailing, 0, out, frame.length, trailing.length);
            int length = out.length - Limits.LENGTH_PREFIX;
            out[0] = (byte) (length >>> 24);
            out[1] = (byte) (length >>> 16);
            out[2] = (byte) (length >>> 8);
            out[3] = (byte) length;
            return out;
        }
    }

    record Invalid(String name, String description, Sender sender, byte[] bytes, ErrorCode error, int correlationId,
                   int version) {
        Invalid(String name, String description, Sender sender, byte[] bytes, ErrorCode error, int correlationId) {
            this(name, description, sender, bytes, error, correlationId, Preamble.VERSION_1);
        }
    }

    /** A fixed reclaim secret for the 1.1 vectors: bytes 3, 10, 17, ... (7 apart), never all zero. */
    static final byte[] SECRET = secretBytes();
    static final byte[] ZERO_SECRET = new byte[Limits.RECLAIM_SECRET];

    private static byte[] secretBytes() {
        byte[] b = new byte[Limits.RECLAIM_SECRET];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (3 + 7 * i);
        }
        return b;
    }

    // ------------------------------------------------------------------ the valid vectors

    static List<Valid> valid() {
        List<Valid> v = new ArrayList<>();
        Sender c = Sender.CLIENT;
        Sender s = Sender.SERVER;
        byte[] none = new byte[0];

        v.add(new Valid("001-hello-basic", "HELLO with a client version and no auth token", c, 1,
                new Hello(CLIENT, HW, VERSION, ""), none));
        v.add(new Valid("002-hello-with-auth-token", "HELLO carrying an auth token", c, 1,
                new Hello(CLIENT, HW, VERSION, "s3cr3t-t0ken"), none));
        v.add(new Valid("003-hello-empty-version-and-token",
                "HELLO with empty client_version (missing) and empty auth_token (none): a valid frame; the server decides",
                c, 1, new Hello(CLIENT, HW, "", ""), none));
        v.add(new Valid("004-hello-strings-at-maximum",
                "HELLO with client_id 128, hw_id 128, client_version 64 and auth_token 512 bytes: every string at its maximum",
                c, 1, new Hello(ascii(128, 'c'), ascii(128, 'h'), ascii(64, 'v'), ascii(512, 't')), none));
        v.add(new Valid("005-hello-utf8-text", "HELLO with 2-, 3- and 4-byte UTF-8 characters in its strings", c, 1,
                new Hello("Fräse-7 \uD834\uDD1E", "機械-07", "2.3.1-β", ""), none));
        v.add(new Valid("006-hello-client-id-128-bytes-of-two-byte-characters",
                "HELLO whose client_id is 64 two-byte characters: 128 bytes, at the maximum (limits count bytes, not characters)",
                c, 1, new Hello("é".repeat(64), HW, VERSION, ""), none));

        v.add(new Valid("010-welcome-single-server", "WELCOME from a single server: no peers, no flags", s, 1,
                new Welcome("edge-1", 10_000, 30_000, SERVER_TIME, VALID_UNTIL, 0, List.of()), none));
        v.add(new Valid("011-welcome-triad-with-peers",
                "WELCOME from a triad member naming its two peers, with LICENSE_EXPIRING set", s, 1,
                new Welcome("edge-a", 10_000, 30_000, SERVER_TIME, VALID_UNTIL, Welcome.FLAG_LICENSE_EXPIRING,
                        List.of("10.0.0.12:7070", "edge-c.plant.local:7070")), none));
        v.add(new Valid("012-welcome-memory-only-no-expiry",
                "WELCOME with MEMORY_ONLY set, empty server_id and license_valid_until_ms 0 (no expiry known)", s, 1,
                new Welcome("", 1_000, 3_000, SERVER_TIME, 0, Welcome.FLAG_MEMORY_ONLY, List.of()), none));
        List<String> sixteen = new ArrayList<>();
        for (int i = 1; i <= Limits.MAX_PEERS; i++) {
            sixteen.add("10.0.0." + i + ":7070");
        }
        v.add(new Valid("013-welcome-16-peers", "WELCOME with 16 peers, the maximum", s, 1,
                new Welcome("edge-1", 10_000, 30_000, SERVER_TIME, VALID_UNTIL, 0, sixteen), none));

        v.add(new Valid("020-checkout-basic", "CHECKOUT of one seat, any entitlement, no wait", c, 2,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), 0, 0, ZERO), none));
        v.add(new Valid("021-checkout-with-license-key", "CHECKOUT of 3 seats naming an entitlement id as license_key",
                c, 2, new Checkout(PRODUCT, ENTITLEMENT, 3, Enforcement.SEATS.code(), 0, 0, ZERO), none));
        v.add(new Valid("022-checkout-wait", "CHECKOUT with WAIT and a 5 s wait timeout", c, 3,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), Checkout.FLAG_WAIT, 5_000, ZERO), none));
        v.add(new Valid("023-checkout-reclaim", "CHECKOUT with RECLAIM naming the lease to take back", c, 4,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), Checkout.FLAG_RECLAIM, 0, LEASE_A), none));
        v.add(new Valid("024-checkout-wait-and-reclaim", "CHECKOUT with both WAIT and RECLAIM set", c, 5,
                new Checkout(PRODUCT, ENTITLEMENT, 1, Enforcement.SEATS.code(),
                        Checkout.FLAG_WAIT | Checkout.FLAG_RECLAIM, 60_000, LEASE_B), none));
        v.add(new Valid("025-checkout-checkouts-enforcement", "CHECKOUT expecting a CHECKOUTS pool (enforcement 2)", c, 6,
                new Checkout("viewer", "", 1, Enforcement.CHECKOUTS.code(), 0, 0, ZERO), none));
        v.add(new Valid("026-checkout-quantity-10000", "CHECKOUT of 10,000 seats, the largest quantity", c, 7,
                new Checkout(PRODUCT, "", Limits.MAX_QUANTITY, Enforcement.SEATS.code(), 0, 0, ZERO), none));
        v.add(new Valid("027-checkout-strings-at-maximum", "CHECKOUT with product 128 and license_key 256 bytes", c, 8,
                new Checkout(ascii(128, 'p'), ascii(256, 'k'), 1, Enforcement.SEATS.code(), 0, 0, ZERO), none));

        v.add(new Valid("030-granted-basic", "GRANTED from a single server (term and log_index 0)", s, 2,
                new Granted(LEASE_A, ENTITLEMENT, PRODUCT, 1, 30_000, 0, 0, 0), none));
        v.add(new Valid("031-granted-reclaimed", "GRANTED answering a RECLAIM: same lease id, RECLAIMED set", s, 4,
                new Granted(LEASE_A, ENTITLEMENT, PRODUCT, 1, 30_000, 0, 0, Granted.FLAG_RECLAIMED), none));
        v.add(new Valid("032-granted-triad", "GRANTED from a triad leader with term 7 and log index 12345", s, 2,
                new Granted(LEASE_B, ENTITLEMENT, PRODUCT, 3, 30_000, 7, 12_345, 0), none));
        v.add(new Valid("033-queued", "QUEUED: third in line, 5 s effective wait", s, 3, new Queued(3, 5_000), none));
        v.add(new Valid("034-denied-no-seats", "DENIED noSeatsAvailable with a retry hint", s, 2,
                new Denied(ErrorCode.NO_SEATS_AVAILABLE.code(), 15_000, "", "all 3 seats of cad-pro are in use"), none));
        v.add(new Valid("035-denied-not-master", "DENIED notMaster naming the leader", s, 2,
                new Denied(ErrorCode.NOT_MASTER.code(), 0, "10.0.0.12:7070", ""), none));
        v.add(new Valid("036-denied-queue-timeout-empty-strings",
                "DENIED queueTimeout closing a queued checkout, all strings empty", s, 3,
                new Denied(ErrorCode.QUEUE_TIMEOUT.code(), 0, "", ""), none));

        v.add(new Valid("040-heartbeat-keepalive", "HEARTBEAT with no leases: a keepalive", c, 9,
                new Heartbeat(List.of()), none));
        v.add(new Valid("041-heartbeat-one-lease", "HEARTBEAT renewing one lease", c, 10,
                new Heartbeat(List.of(LEASE_A)), none));
        v.add(new Valid("042-heartbeat-three-leases", "HEARTBEAT renewing three leases", c, 11,
                new Heartbeat(List.of(LEASE_A, LEASE_B, LEASE_C)), none));
        List<UUID> many = new ArrayList<>();
        for (int i = 0; i < Limits.MAX_HEARTBEAT_LEASES; i++) {
            many.add(new UUID(0x1111_2222_3333_4000L, 0x8000_0000_0000_0000L | i));
        }
        v.add(new Valid("043-heartbeat-1024-leases", "HEARTBEAT with 1,024 leases, the maximum", c, 12,
                new Heartbeat(many), none));
        v.add(new Valid("044-heartbeat-result-empty", "HEARTBEAT_RESULT answering a keepalive", s, 9,
                new HeartbeatResult(List.of()), none));
        v.add(new Valid("045-heartbeat-result-three", "HEARTBEAT_RESULT: one renewed, one expired, one unknown", s, 11,
                new HeartbeatResult(List.of(new LeaseStatus(LEASE_A, 0, 30_000),
                        new LeaseStatus(LEASE_B, ErrorCode.LICENSE_CHECKOUT_EXPIRED.code(), 0),
                        new LeaseStatus(LEASE_C, ErrorCode.LEASE_ID_NOT_FOUND.code(), 0))), none));

        v.add(new Valid("050-checkin", "CHECKIN of one lease", c, 13, new Checkin(LEASE_A), none));
        v.add(new Valid("051-checked-in", "CHECKED_IN echoing the lease id", s, 13, new CheckedIn(LEASE_A), none));

        v.add(new Valid("060-notice-draining", "NOTICE DRAINING: the server closes at deadline_ms", s, 0,
                new Notice(NoticeKind.DRAINING.code(), ZERO, ErrorCode.DRAINING.code(), "", SERVER_TIME + 30_000,
                        "maintenance"), none));
        v.add(new Valid("061-notice-lease-revoked", "NOTICE LEASE_REVOKED: an admin force-released a lease", s, 0,
                new Notice(NoticeKind.LEASE_REVOKED.code(), LEASE_A, ErrorCode.FORCED_RELEASE.code(), PRODUCT, 0,
                        "released by admin"), none));
        v.add(new Valid("062-notice-entitlement-changed", "NOTICE ENTITLEMENT_CHANGED for a product", s, 0,
                new Notice(NoticeKind.ENTITLEMENT_CHANGED.code(), ZERO, 0, PRODUCT, 0, "max_seats 5 -> 2"), none));
        v.add(new Valid("063-notice-license-expiring", "NOTICE LICENSE_EXPIRING with the validity end", s, 0,
                new Notice(NoticeKind.LICENSE_EXPIRING.code(), ZERO, 0, "", VALID_UNTIL, ""), none));
        v.add(new Valid("064-notice-leader-changed", "NOTICE LEADER_CHANGED naming the new leader", s, 0,
                new Notice(NoticeKind.LEADER_CHANGED.code(), ZERO, 0, "", 0, "10.0.0.13:7070"), none));
        v.add(new Valid("065-notice-unknown-kind",
                "NOTICE of kind 200, unknown to v1: it decodes, and a client ignores it", s, 0,
                new Notice(200, ZERO, 0, "", 0, ""), none));

        v.add(new Valid("070-goodbye-client", "client GOODBYE: check in everything and close", c, 14,
                new Goodbye(0, ""), none));
        v.add(new Valid("071-goodbye-server-reply", "server GOODBYE answering the client's, same id", s, 14,
                new Goodbye(0, "bye"), none));
        v.add(new Valid("072-goodbye-server-initiated", "server-initiated GOODBYE (id 0) while draining", s, 0,
                new Goodbye(ErrorCode.DRAINING.code(), "shutting down"), none));
        v.add(new Valid("075-error-unknown-message-type", "ERROR unknownMessageType echoing the request's id", s, 77,
                new Message.Error(ErrorCode.UNKNOWN_MESSAGE_TYPE.code(), "message type 0x55 is not defined in protocol v1"),
                none));
        v.add(new Valid("076-error-frame-too-large", "ERROR frameTooLarge: id 0, the header was never read", s, 0,
                new Message.Error(ErrorCode.FRAME_TOO_LARGE.code(), ""), none));
        v.add(new Valid("077-error-unknown-code",
                "ERROR with code 250, unknown to v1: it decodes; a client acts by its range (2xx: the request failed)", s,
                15, new Message.Error(250, "from a newer server"), none));

        v.add(new Valid("080-checkout-trailing-bytes-ignored",
                "CHECKOUT followed by 3 bytes v1 does not define: they are ignored (not re-encoded)", c, 16,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), 0, 0, ZERO), new byte[] {0x01, 0x02, 0x03}));
        v.add(new Valid("081-welcome-trailing-bytes-ignored",
                "WELCOME followed by an appended field from a later version: ignored", s, 1,
                new Welcome("edge-1", 10_000, 30_000, SERVER_TIME, VALID_UNTIL, 0, List.of()),
                new byte[] {0x00, 0x00, 0x00, 0x2a}));
        v.add(new Valid("082-checkin-largest-correlation-id", "CHECKIN with correlation id 0xFFFFFFFF", c, -1,
                new Checkin(LEASE_C), none));

        // Protocol 1.1 (version 2): the reclaim secret (PROTOCOL.md 4.1, 6.4, 6.5, 6.10, 10.6)
        final int v2 = Preamble.VERSION_1_1;
        v.add(new Valid("120-granted-v2-with-reclaim-secret",
                "version 2 GRANTED of a new lease: reclaim_secret, the lease's 32-byte secret, follows flags", s, 2,
                new Granted(LEASE_A, ENTITLEMENT, PRODUCT, 1, 30_000, 0, 0, 0, SECRET), none, v2));
        v.add(new Valid("121-granted-v2-reclaimed-echoes-the-secret",
                "version 2 GRANTED answering a RECLAIM: RECLAIMED set, the secret the client presented echoed", s, 4,
                new Granted(LEASE_A, ENTITLEMENT, PRODUCT, 1, 30_000, 0, 0, Granted.FLAG_RECLAIMED, SECRET), none,
                v2));
        v.add(new Valid("122-checkout-v2-new-lease-zero-secret",
                "version 2 CHECKOUT of a new lease: reclaim_secret is sent as 32 zero bytes", c, 2,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), 0, 0, ZERO, ZERO_SECRET), none, v2));
        v.add(new Valid("123-checkout-v2-reclaim-with-secret",
                "version 2 CHECKOUT with RECLAIM presenting the lease's secret", c, 4,
                new Checkout(PRODUCT, "", 1, Enforcement.SEATS.code(), Checkout.FLAG_RECLAIM, 0, LEASE_A, SECRET),
                none, v2));
        v.add(new Valid("124-checkin-v2-own-lease-zero-secret",
                "version 2 CHECKIN of a lease held by this connection: reclaim_secret all zero", c, 13,
                new Checkin(LEASE_A, ZERO_SECRET), none, v2));
        v.add(new Valid("125-checkin-v2-orphaned-lease-with-secret",
                "version 2 CHECKIN of an orphaned lease from a new connection, presenting its secret", c, 13,
                new Checkin(LEASE_A, SECRET), none, v2));
        v.add(new Valid("126-denied-v2-reclaim-secret-mismatch",
                "DENIED reclaimSecretMismatch: a RECLAIM whose secret did not prove ownership", s, 4,
                new Denied(ErrorCode.RECLAIM_SECRET_MISMATCH.code(), 0, "",
                        "lease 3b241101-e2bb-4255-8caf-4136c566a962: reclaimSecretMismatch"), none, v2));
        v.add(new Valid("127-granted-v2-frame-read-as-version-1",
                "a version 2 GRANTED read by a version 1 receiver: the 32 secret bytes are trailing bytes, ignored", s, 2,
                new Granted(LEASE_A, ENTITLEMENT, PRODUCT, 1, 30_000, 0, 0, 0), SECRET));
        v.addAll(CheckOrderVectors.valid()); // 140-159: the points of issue 12, finding 13
        return v;
    }

    // ------------------------------------------------------------------ the invalid vectors

    static List<Invalid> invalid() {
        List<Invalid> v = new ArrayList<>();
        Sender c = Sender.CLIENT;
        Sender s = Sender.SERVER;
        final int hello = MessageType.HELLO.code();
        final int checkout = MessageType.CHECKOUT.code();
        final int heartbeat = MessageType.HEARTBEAT.code();

        // Length prefix
        v.add(new Invalid("001-length-65537", "length prefix 65,537: one over the maximum; refused after 4 bytes", c,
                concat(hex("00010001"), hex("1000000000")), ErrorCode.FRAME_TOO_LARGE, 0));
        v.add(new Invalid("002-length-ffffffff", "length prefix 0xFFFFFFFF; refused after 4 bytes", c,
                concat(hex("ffffffff"), hex("0100000001")), ErrorCode.FRAME_TOO_LARGE, 0));
        v.add(new Invalid("003-length-0", "length prefix 0: shorter than the 6-byte header", c, hex("00000000"),
                ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("004-length-5", "length prefix 5: one short of the header", c, hex("000000051000000001"),
                ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("005-http-request-as-frame",
                "an HTTP request read as a frame: \"GET \" is a length of 1,195,725,856 (at connection start the preamble check refuses it first)", c,
                "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII), ErrorCode.FRAME_TOO_LARGE, 0));

        // Truncation
        v.add(new Invalid("010-hello-string-runs-past-end", "HELLO whose client_id says 20 bytes but 5 remain", c,
                frame(hello, 0, 21, new Body().u16(20).raw("press".getBytes(StandardCharsets.US_ASCII))),
                ErrorCode.MALFORMED_FRAME, 21));
        v.add(new Invalid("011-hello-missing-auth-token", "HELLO that ends before its auth_token length", c,
                frame(hello, 0, 22, new Body().str(CLIENT).str(HW).str(VERSION)), ErrorCode.MALFORMED_FRAME, 22));
        v.add(new Invalid("012-checkout-missing-u32", "CHECKOUT that ends before wait_timeout_ms", c,
                frame(checkout, 0, 23, new Body().str(PRODUCT).str("").u32(1).u8(1).u8(0)), ErrorCode.MALFORMED_FRAME,
                23));
        v.add(new Invalid("013-checkout-short-lease-id", "CHECKOUT whose reclaim_lease_id has 15 of its 16 bytes", c,
                frame(checkout, 0, 24, new Body().str(PRODUCT).str("").u32(1).u8(1).u8(0).u32(0)
                        .raw(Arrays.copyOf(uuidBytes(ZERO), 15))), ErrorCode.MALFORMED_FRAME, 24));
        v.add(new Invalid("014-heartbeat-count-past-end", "HEARTBEAT announcing 3 lease ids that carries 2", c,
                frame(heartbeat, 0, 25, new Body().u16(3).uuid(LEASE_A).uuid(LEASE_B)), ErrorCode.MALFORMED_FRAME, 25));
        v.add(new Invalid("015-checkin-no-body", "CHECKIN with an empty body", c,
                frame(MessageType.CHECKIN.code(), 0, 26, new Body()), ErrorCode.MALFORMED_FRAME, 26));
        v.add(new Invalid("016-granted-truncated", "GRANTED that ends inside term", s,
                frame(MessageType.GRANTED.code(), 0, 2, new Body().uuid(LEASE_A).str(ENTITLEMENT).str(PRODUCT).u32(1)
                        .u32(30_000).raw(new byte[5])), ErrorCode.MALFORMED_FRAME, 2));

        // UTF-8
        v.add(new Invalid("020-utf8-lone-continuation-byte", "HELLO client_id holding a lone continuation byte 0x80", c,
                frame(hello, 0, 30, new Body().str(bytes("a", 0x80, "b")).str(HW).str(VERSION).str("")),
                ErrorCode.INVALID_UTF8, 30));
        v.add(new Invalid("021-utf8-overlong-encoding", "HELLO hw_id holding C0 AF, an overlong '/'", c,
                frame(hello, 0, 31, new Body().str(CLIENT).str(bytes("hw", 0xC0, 0xAF)).str(VERSION).str("")),
                ErrorCode.INVALID_UTF8, 31));
        v.add(new Invalid("022-utf8-surrogate", "HELLO client_version holding ED A0 80, the surrogate U+D800", c,
                frame(hello, 0, 32, new Body().str(CLIENT).str(HW).str(bytes("2.", 0xED, 0xA0, 0x80)).str("")),
                ErrorCode.INVALID_UTF8, 32));
        v.add(new Invalid("023-utf8-truncated-sequence", "CHECKOUT product ending inside a 3-byte sequence (E2 82)", c,
                frame(checkout, 0, 33, new Body().str(bytes("cad", 0xE2, 0x82)).str("").u32(1).u8(1).u8(0).u32(0)
                        .uuid(ZERO)), ErrorCode.INVALID_UTF8, 33));
        v.add(new Invalid("024-utf8-above-u10ffff", "CHECKOUT license_key holding F4 90 80 80 (above U+10FFFF)", c,
                frame(checkout, 0, 34, new Body().str(PRODUCT).str(bytes("k", 0xF4, 0x90, 0x80, 0x80)).u32(1).u8(1)
                        .u8(0).u32(0).uuid(ZERO)), ErrorCode.INVALID_UTF8, 34));
        v.add(new Invalid("025-utf8-invalid-byte-ff", "HELLO auth_token holding the byte 0xFF", c,
                frame(hello, 0, 35, new Body().str(CLIENT).str(HW).str(VERSION).str(bytes("t", 0xFF))),
                ErrorCode.INVALID_UTF8, 35));

        // Reserved bits
        v.add(new Invalid("030-header-flags-bit0", "CHECKOUT with header flags 0x01", c,
                frame(checkout, 0x01, 40, checkoutBody(1, 0)), ErrorCode.RESERVED_BITS_SET, 40));
        v.add(new Invalid("031-header-flags-bit7", "HELLO with header flags 0x80", c,
                frame(hello, 0x80, 41, helloBody()), ErrorCode.RESERVED_BITS_SET, 41));
        v.add(new Invalid("032-checkout-flags-bit2", "CHECKOUT with flags 0x04 (reserved)", c,
                frame(checkout, 0, 42, checkoutBody(1, 0x04)), ErrorCode.RESERVED_BITS_SET, 42));
        v.add(new Invalid("033-checkout-flags-wait-and-bit7", "CHECKOUT with WAIT and the reserved bit 0x80", c,
                frame(checkout, 0, 43, checkoutBody(1, 0x81)), ErrorCode.RESERVED_BITS_SET, 43));
        v.add(new Invalid("034-granted-flags-bit1", "GRANTED with flags 0x02 (reserved)", s,
                frame(MessageType.GRANTED.code(), 0, 2, new Body().uuid(LEASE_A).str(ENTITLEMENT).str(PRODUCT).u32(1)
                        .u32(30_000).u64(0).u64(0).u8(0x02)), ErrorCode.RESERVED_BITS_SET, 2));
        v.add(new Invalid("035-welcome-flags-bit2", "WELCOME with flags 0x04 (reserved)", s,
                frame(MessageType.WELCOME.code(), 0, 1, welcomeBody(0x04, 0)), ErrorCode.RESERVED_BITS_SET, 1));

        // Unknown message types: the connection survives
        v.add(new Invalid("040-unknown-type-0x55", "message type 0x55 with a body: unknownMessageType, connection survives",
                c, frame(0x55, 0, 44, new Body().u32(0xdeadbeefL)), ErrorCode.UNKNOWN_MESSAGE_TYPE, 44));
        v.add(new Invalid("041-unknown-type-0x00", "message type 0x00, empty body", c, frame(0x00, 0, 45, new Body()),
                ErrorCode.UNKNOWN_MESSAGE_TYPE, 45));
        v.add(new Invalid("042-unknown-type-0xff", "message type 0xFF", c, frame(0xFF, 0, 46, new Body().u8(1)),
                ErrorCode.UNKNOWN_MESSAGE_TYPE, 46));

        // Strings one byte over their maximum (the bytes are all present)
        v.add(new Invalid("050-hello-client-id-129", "HELLO client_id of 129 bytes", c,
                frame(hello, 0, 50, new Body().str(ascii(129, 'c')).str(HW).str(VERSION).str("")),
                ErrorCode.FIELD_TOO_LONG, 50));
        v.add(new Invalid("051-hello-hw-id-129", "HELLO hw_id of 129 bytes", c,
                frame(hello, 0, 51, new Body().str(CLIENT).str(ascii(129, 'h')).str(VERSION).str("")),
                ErrorCode.FIELD_TOO_LONG, 51));
        v.add(new Invalid("052-hello-client-version-65", "HELLO client_version of 65 bytes", c,
                frame(hello, 0, 52, new Body().str(CLIENT).str(HW).str(ascii(65, 'v')).str("")),
                ErrorCode.FIELD_TOO_LONG, 52));
        v.add(new Invalid("053-hello-auth-token-513", "HELLO auth_token of 513 bytes", c,
                frame(hello, 0, 53, new Body().str(CLIENT).str(HW).str(VERSION).str(ascii(513, 't'))),
                ErrorCode.FIELD_TOO_LONG, 53));
        v.add(new Invalid("054-checkout-product-129", "CHECKOUT product of 129 bytes", c,
                frame(checkout, 0, 54, new Body().str(ascii(129, 'p')).str("").u32(1).u8(1).u8(0).u32(0).uuid(ZERO)),
                ErrorCode.FIELD_TOO_LONG, 54));
        v.add(new Invalid("055-checkout-license-key-257", "CHECKOUT license_key of 257 bytes", c,
                frame(checkout, 0, 55, new Body().str(PRODUCT).str(ascii(257, 'k')).u32(1).u8(1).u8(0).u32(0)
                        .uuid(ZERO)), ErrorCode.FIELD_TOO_LONG, 55));
        v.add(new Invalid("056-hello-client-id-129-bytes-of-three-byte-characters",
                "HELLO client_id of 43 three-byte characters: 129 bytes, over the maximum though only 43 characters", c,
                frame(hello, 0, 56, new Body().str("€".repeat(43)).str(HW).str(VERSION).str("")),
                ErrorCode.FIELD_TOO_LONG, 56));
        v.add(new Invalid("057-welcome-17-peers", "WELCOME with peer_count 17", s,
                frame(MessageType.WELCOME.code(), 0, 1, welcomeBody(0, 17)), ErrorCode.FIELD_TOO_LONG, 1));
        v.add(new Invalid("058-welcome-server-id-65", "WELCOME server_id of 65 bytes", s,
                frame(MessageType.WELCOME.code(), 0, 1, new Body().str(ascii(65, 's')).u32(10_000).u32(30_000)
                        .u64(SERVER_TIME).u64(VALID_UNTIL).u8(0).u8(0)), ErrorCode.FIELD_TOO_LONG, 1));
        v.add(new Invalid("059-error-message-1025", "ERROR message of 1,025 bytes", s,
                frame(MessageType.ERROR.code(), 0, 7, new Body().u16(200).str(ascii(1025, 'm'))),
                ErrorCode.FIELD_TOO_LONG, 7));

        // Counts over their maximum
        Body many = new Body().u16(Limits.MAX_HEARTBEAT_LEASES + 1);
        for (int i = 0; i <= Limits.MAX_HEARTBEAT_LEASES; i++) {
            many.uuid(new UUID(0x1111_2222_3333_4000L, 0x8000_0000_0000_0000L | i));
        }
        v.add(new Invalid("060-heartbeat-1025-leases", "HEARTBEAT with 1,025 lease ids, all present", c,
                frame(heartbeat, 0, 60, many), ErrorCode.FIELD_TOO_LONG, 60));
        v.add(new Invalid("061-heartbeat-result-count-1025", "HEARTBEAT_RESULT announcing 1,025 results", s,
                frame(MessageType.HEARTBEAT_RESULT.code(), 0, 61, new Body().u16(1025)), ErrorCode.FIELD_TOO_LONG, 61));

        // Quantity: a business-level refusal, the connection survives
        v.add(new Invalid("070-checkout-quantity-0", "CHECKOUT of quantity 0", c, frame(checkout, 0, 70, checkoutBody(0, 0)),
                ErrorCode.INVALID_QUANTITY, 70));
        v.add(new Invalid("071-checkout-quantity-10001", "CHECKOUT of quantity 10,001", c,
                frame(checkout, 0, 71, checkoutBody(10_001, 0)), ErrorCode.INVALID_QUANTITY, 71));
        v.add(new Invalid("072-checkout-quantity-ffffffff", "CHECKOUT of quantity 0xFFFFFFFF", c,
                frame(checkout, 0, 72, checkoutBody(0xFFFF_FFFFL, 0)), ErrorCode.INVALID_QUANTITY, 72));

        // Zero correlation id on a request
        v.add(new Invalid("080-hello-zero-correlation-id", "HELLO with correlation id 0", c, frame(hello, 0, 0, helloBody()),
                ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("081-checkout-zero-correlation-id", "CHECKOUT with correlation id 0", c,
                frame(checkout, 0, 0, checkoutBody(1, 0)), ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("082-heartbeat-zero-correlation-id", "HEARTBEAT with correlation id 0", c,
                frame(heartbeat, 0, 0, new Body().u16(0)), ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("083-checkin-zero-correlation-id", "CHECKIN with correlation id 0", c,
                frame(MessageType.CHECKIN.code(), 0, 0, new Body().uuid(LEASE_A)), ErrorCode.MALFORMED_FRAME, 0));
        v.add(new Invalid("084-client-goodbye-zero-correlation-id", "GOODBYE sent by a client with correlation id 0", c,
                frame(MessageType.GOODBYE.code(), 0, 0, new Body().u16(0).str("")), ErrorCode.MALFORMED_FRAME, 0));

        // Field rules
        v.add(new Invalid("090-checkout-reclaim-zero-lease-id", "CHECKOUT with RECLAIM and the all-zero lease id", c,
                frame(checkout, 0, 90, checkoutBody(1, Checkout.FLAG_RECLAIM)), ErrorCode.MALFORMED_FRAME, 90));
        v.add(new Invalid("091-checkout-empty-product", "CHECKOUT with an empty product", c,
                frame(checkout, 0, 91, new Body().str("").str("").u32(1).u8(1).u8(0).u32(0).uuid(ZERO)),
                ErrorCode.MALFORMED_FRAME, 91));
        v.add(new Invalid("092-hello-empty-client-id", "HELLO with an empty client_id", c,
                frame(hello, 0, 92, new Body().str("").str(HW).str(VERSION).str("")), ErrorCode.MALFORMED_FRAME, 92));
        v.add(new Invalid("093-hello-empty-hw-id", "HELLO with an empty hw_id", c,
                frame(hello, 0, 93, new Body().str(CLIENT).str("").str(VERSION).str("")), ErrorCode.MALFORMED_FRAME, 93));

        // Direction
        v.add(new Invalid("100-client-sends-granted", "a client sending GRANTED, a server-only message", c,
                frame(MessageType.GRANTED.code(), 0, 100, new Body().uuid(LEASE_A).str(ENTITLEMENT).str(PRODUCT).u32(1)
                        .u32(30_000).u64(0).u64(0).u8(0)), ErrorCode.UNEXPECTED_MESSAGE, 100));
        v.add(new Invalid("101-client-sends-welcome", "a client sending WELCOME", c,
                frame(MessageType.WELCOME.code(), 0, 101, welcomeBody(0, 0)), ErrorCode.UNEXPECTED_MESSAGE, 101));
        v.add(new Invalid("102-server-sends-checkout", "a server sending CHECKOUT, a client-only message", s,
                frame(checkout, 0, 102, checkoutBody(1, 0)), ErrorCode.UNEXPECTED_MESSAGE, 102));

        // Protocol 1.1 (version 2): the 32-byte reclaim_secret is required
        final int v2 = Preamble.VERSION_1_1;
        v.add(new Invalid("120-checkout-v2-without-secret",
                "version 2 CHECKOUT laid out as in version 1: it ends where reclaim_secret should start", c,
                frame(checkout, 0, 120, checkoutBody(1, 0)), ErrorCode.MALFORMED_FRAME, 120, v2));
        v.add(new Invalid("121-checkout-v2-secret-31-bytes", "version 2 CHECKOUT with RECLAIM and 31 of the 32 secret bytes",
                c, frame(checkout, 0, 121, new Body().str(PRODUCT).str("").u32(1).u8(Enforcement.SEATS.code())
                        .u8(Checkout.FLAG_RECLAIM).u32(0).uuid(LEASE_A).raw(Arrays.copyOf(SECRET, 31))),
                ErrorCode.MALFORMED_FRAME, 121, v2));
        v.add(new Invalid("122-checkin-v2-without-secret", "version 2 CHECKIN carrying only the lease id", c,
                frame(MessageType.CHECKIN.code(), 0, 122, new Body().uuid(LEASE_A)), ErrorCode.MALFORMED_FRAME, 122, v2));
        v.add(new Invalid("123-granted-v2-without-secret", "version 2 GRANTED that ends after flags", s,
                frame(MessageType.GRANTED.code(), 0, 123, new Body().uuid(LEASE_A).str(ENTITLEMENT).str(PRODUCT).u32(1)
                        .u32(30_000).u64(0).u64(0).u8(0)), ErrorCode.MALFORMED_FRAME, 123, v2));
        v.addAll(CheckOrderVectors.invalid()); // 140-159: the order of checks (PROTOCOL.md 3.5)
        return v;
    }

    private static Body helloBody() {
        return new Body().str(CLIENT).str(HW).str(VERSION).str("");
    }

    private static Body checkoutBody(long quantity, int flags) {
        return new Body().str(PRODUCT).str("").u32(quantity).u8(Enforcement.SEATS.code()).u8(flags).u32(0).uuid(ZERO);
    }

    private static Body welcomeBody(int flags, int peers) {
        Body b = new Body().str("edge-1").u32(10_000).u32(30_000).u64(SERVER_TIME).u64(VALID_UNTIL).u8(flags).u8(peers);
        for (int i = 1; i <= peers; i++) {
            b.str("10.0.0." + i + ":7070");
        }
        return b;
    }

    // ------------------------------------------------------------------ raw frame building

    /** A frame body written byte by byte, with no checks. */
    static final class Body {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Body u8(int v) {
            out.write(v);
            return this;
        }

        Body u16(int v) {
            return u8(v >>> 8).u8(v & 0xFF);
        }

        Body u32(long v) {
            return u16((int) (v >>> 16) & 0xFFFF).u16((int) v & 0xFFFF);
        }

        Body u64(long v) {
            return u32(v >>> 32).u32(v & 0xFFFF_FFFFL);
        }

        Body raw(byte[] b) {
            out.write(b, 0, b.length);
            return this;
        }

        Body str(byte[] b) {
            return u16(b.length).raw(b);
        }

        Body str(String s) {
            return str(s.getBytes(StandardCharsets.UTF_8));
        }

        Body uuid(UUID id) {
            return raw(uuidBytes(id));
        }
    }

    static byte[] frame(int type, int flags, int correlationId, Body body) {
        byte[] b = body.out.toByteArray();
        Body f = new Body().u32(Limits.HEADER_AFTER_LENGTH + b.length).u8(type).u8(flags)
                .u32(Integer.toUnsignedLong(correlationId)).raw(b);
        return f.out.toByteArray();
    }

    static byte[] uuidBytes(UUID id) {
        return new Body().u64(id.getMostSignificantBits()).u64(id.getLeastSignificantBits()).out.toByteArray();
    }

    /** Text pieces and raw byte values, concatenated. */
    static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof String s) {
                out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            } else {
                out.write((Integer) p);
            }
        }
        return out.toByteArray();
    }

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** {@code n} ASCII characters starting with {@code first} and cycling through letters and digits. */
    static String ascii(int n, char first) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        int start = alphabet.indexOf(first);
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt((start + i) % alphabet.length()));
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ writing

    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args.length > 0 ? args[0] : "protocol-spec/vectors");
        List<Valid> valid = valid();
        List<Invalid> invalid = invalid();
        check(valid, invalid);
        writeAll(dir.resolve("valid"), dir.resolve("invalid"), valid, invalid);
        System.out.println("wrote " + valid.size() + " valid and " + invalid.size() + " invalid vectors to " + dir);
        if (args.length > 1) {
            Path doc = Paths.get(args[1]);
            String before = Files.readString(doc);
            String after = SpecFragments.fill(before, dir);
            Files.writeString(doc, after);
            System.out.println((before.equals(after) ? "checked " : "updated ") + doc
                    + " (byte dumps, error table, transcript)");
        }
    }

    /** Fails loudly unless the codec agrees with every vector as stated. */
    static void check(List<Valid> valid, List<Invalid> invalid) {
        for (Valid v : valid) {
            try {
                Envelope e = Codec.decode(v.bytes(), v.sender(), v.version());
                if (!e.message().equals(v.message()) || e.correlationId() != v.correlationId()) {
                    throw new IllegalStateException(v.name() + " decodes to " + e);
                }
            } catch (ProtocolException e) {
                throw new IllegalStateException(v.name() + " does not decode: " + e.getMessage(), e);
            }
        }
        for (Invalid v : invalid) {
            try {
                Codec.decode(v.bytes(), v.sender(), v.version());
                throw new IllegalStateException(v.name() + " decodes, but should be " + v.error());
            } catch (ProtocolException e) {
                if (e.code() != v.error() || e.correlationId() != v.correlationId()) {
                    throw new IllegalStateException(v.name() + " gives " + e.code() + " id " + e.correlationId()
                            + ", stated " + v.error() + " id " + v.correlationId() + ": " + e.getMessage());
                }
            }
        }
    }

    static void writeAll(Path validDir, Path invalidDir, List<Valid> valid, List<Invalid> invalid) throws IOException {
        clean(validDir);
        clean(invalidDir);
        for (Valid v : valid) {
            Files.writeString(validDir.resolve(v.name() + ".hex"), HexFormat.of().formatHex(v.bytes()) + "\n");
            Map<String, Object> top = new LinkedHashMap<>();
            top.put("description", v.description());
            top.put("sender", v.sender().name().toLowerCase(Locale.ROOT));
            if (v.version() != Preamble.VERSION_1) {
                top.put("version", v.version());
            }
            top.put("roundtrip", v.trailing().length == 0);
            top.put("correlation_id", Integer.toUnsignedLong(v.correlationId()));
            top.put("type", v.message().type().name());
            top.put("fields", VectorFields.toFields(v.message()));
            Files.writeString(validDir.resolve(v.name() + ".json"), VectorFields.json(top));
        }
        for (Invalid v : invalid) {
            Files.writeString(invalidDir.resolve(v.name() + ".hex"), HexFormat.of().formatHex(v.bytes()) + "\n");
            Map<String, Object> top = new LinkedHashMap<>();
            top.put("description", v.description());
            top.put("sender", v.sender().name().toLowerCase(Locale.ROOT));
            if (v.version() != Preamble.VERSION_1) {
                top.put("version", v.version());
            }
            top.put("error", v.error().wireName());
            top.put("closes", v.error().closesConnection());
            top.put("correlation_id", Integer.toUnsignedLong(v.correlationId()));
            Files.writeString(invalidDir.resolve(v.name() + ".json"), VectorFields.json(top));
        }
    }

    private static void clean(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.{hex,json}")) {
            for (Path p : files) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
