package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Denied;
import dev.turnstile.protocol.Message.Goodbye;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.Hello;
import dev.turnstile.protocol.Message.Notice;
import dev.turnstile.protocol.Message.Welcome;
import dev.turnstile.protocol.MessageType.Sender;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class CodecTest {
    private static final UUID LEASE = UUID.fromString("3b241101-e2bb-4255-8caf-4136c566a962");

    private static String bytes(int n) {
        return "x".repeat(n);
    }

    /** One constructor per string field, taking the string under test. */
    private static final Map<String, Function<String, Message>> STRING_FIELDS = Map.ofEntries(
            Map.entry("HELLO.client_id/" + Limits.MAX_CLIENT_ID, s -> new Hello(s, "hw", "1", "")),
            Map.entry("HELLO.hw_id/" + Limits.MAX_HW_ID, s -> new Hello("c", s, "1", "")),
            Map.entry("HELLO.client_version/" + Limits.MAX_CLIENT_VERSION, s -> new Hello("c", "hw", s, "")),
            Map.entry("HELLO.auth_token/" + Limits.MAX_AUTH_TOKEN, s -> new Hello("c", "hw", "1", s)),
            Map.entry("WELCOME.server_id/" + Limits.MAX_SERVER_ID, s -> new Welcome(s, 1, 1, 0, 0, 0, List.of())),
            Map.entry("WELCOME.peers/" + Limits.MAX_ADDRESS, s -> new Welcome("e", 1, 1, 0, 0, 0, List.of(s))),
            Map.entry("CHECKOUT.product/" + Limits.MAX_PRODUCT, s -> new Checkout(s, "", 1, 1, 0, 0, Message.NO_LEASE)),
            Map.entry("CHECKOUT.license_key/" + Limits.MAX_LICENSE_KEY,
                    s -> new Checkout("p", s, 1, 1, 0, 0, Message.NO_LEASE)),
            Map.entry("GRANTED.entitlement_id/" + Limits.MAX_ENTITLEMENT_ID,
                    s -> new Granted(LEASE, s, "p", 1, 1, 0, 0, 0)),
            Map.entry("GRANTED.product/" + Limits.MAX_PRODUCT, s -> new Granted(LEASE, "e", s, 1, 1, 0, 0, 0)),
            Map.entry("DENIED.leader/" + Limits.MAX_ADDRESS, s -> new Denied(300, 0, s, "")),
            Map.entry("NOTICE.product/" + Limits.MAX_PRODUCT, s -> new Notice(3, Message.NO_LEASE, 0, s, 0, "")));

    @Test
    void encode_accepts_every_string_at_its_maximum_and_refuses_it_one_byte_longer() throws Exception {
        for (Map.Entry<String, Function<String, Message>> e : STRING_FIELDS.entrySet()) {
            int max = Integer.parseInt(e.getKey().substring(e.getKey().indexOf('/') + 1));
            // GIVEN a string exactly at the maximum WHEN encoded THEN it decodes back unchanged
            Message atMax = e.getValue().apply(bytes(max));
            assertEquals(atMax, Codec.decode(Codec.encode(1, atMax)).message(), e.getKey());
            // GIVEN one byte more WHEN encoded THEN refused
            assertThrows(IllegalArgumentException.class, () -> Codec.encode(1, e.getValue().apply(bytes(max + 1))),
                    e.getKey());
        }
    }

    @Test
    void encode_counts_the_maximum_in_utf8_bytes_not_characters() {
        // 43 euro signs are 43 characters but 129 bytes
        assertThrows(IllegalArgumentException.class, () -> Codec.encode(1, new Hello("€".repeat(43), "hw", "1", "")));
        Codec.encode(1, new Hello("é".repeat(64), "hw", "1", ""));
    }

    @Test
    void encode_refuses_lists_over_their_maximum_and_integers_outside_their_width() {
        List<String> peers = Collections.nCopies(Limits.MAX_PEERS + 1, "h:1");
        assertThrows(IllegalArgumentException.class, () -> Codec.encode(1, new Welcome("e", 1, 1, 0, 0, 0, peers)));
        List<UUID> leases = Collections.nCopies(Limits.MAX_HEARTBEAT_LEASES + 1, LEASE);
        assertThrows(IllegalArgumentException.class, () -> Codec.encode(1, new Message.Heartbeat(leases)));
        assertThrows(IllegalArgumentException.class,
                () -> Codec.encode(1, new Checkout("p", "", 0x1_0000_0000L, 1, 0, 0, Message.NO_LEASE)));
        assertThrows(IllegalArgumentException.class,
                () -> Codec.encode(1, new Checkout("p", "", 1, 256, 0, 0, Message.NO_LEASE)));
        assertThrows(IllegalArgumentException.class, () -> Codec.encode(1, new Goodbye(70_000, "")));
    }

    @Test
    void free_text_over_1024_bytes_is_cut_at_a_character_boundary_rather_than_refused() throws Exception {
        // GIVEN a message of 1,023 ASCII bytes then a 3-byte character (1,026 bytes)
        String text = bytes(1023) + "€";
        // WHEN sent in an ERROR THEN it arrives cut to the 1,023 bytes, never a broken character
        Message.Error m = (Message.Error) Codec.decode(Codec.encode(3, new Message.Error(200, text))).message();
        assertEquals(bytes(1023), m.message());
        Denied d = (Denied) Codec.decode(Codec.encode(3, new Denied(200, 0, "", "é".repeat(600)))).message();
        assertEquals(1024, d.message().getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void correlation_ids_from_0x80000000_up_survive_a_decode_and_echo() throws Exception {
        // GIVEN a request with the largest id WHEN decoded and its id echoed in a reply THEN the reply carries it
        int id = (int) 0xFFFF_FFF0L;
        Envelope e = Codec.decode(Codec.encode(id, new Message.Checkin(LEASE)));
        byte[] reply = Codec.encode(e.correlationId(), new Message.CheckedIn(LEASE));
        assertEquals(0xFFFF_FFF0L, Integer.toUnsignedLong(Codec.decode(reply).correlationId()));
    }

    @Test
    void a_server_refuses_a_server_only_message_from_a_client_and_a_client_refuses_a_client_only_one() {
        byte[] granted = Codec.encode(9, new Granted(LEASE, "e", "p", 1, 1, 0, 0, 0));
        ProtocolException e = assertThrows(ProtocolException.class, () -> Codec.decode(granted, Sender.CLIENT));
        assertEquals(ErrorCode.UNEXPECTED_MESSAGE, e.code());
        assertEquals(9, e.correlationId());
        assertTrue(e.closesConnection());
        byte[] hello = Codec.encode(1, new Hello("c", "h", "1", ""));
        assertEquals(ErrorCode.UNEXPECTED_MESSAGE,
                assertThrows(ProtocolException.class, () -> Codec.decode(hello, Sender.SERVER)).code());
    }

    @Test
    void goodbye_needs_a_non_zero_id_from_a_client_but_not_from_a_server() throws Exception {
        byte[] goodbye = Codec.encode(0, new Goodbye(0, ""));
        assertEquals(ErrorCode.MALFORMED_FRAME,
                assertThrows(ProtocolException.class, () -> Codec.decode(goodbye, Sender.CLIENT)).code());
        assertEquals(0, Codec.decode(goodbye, Sender.SERVER).correlationId());
        assertEquals(0, Codec.decode(goodbye).correlationId(), "direction-blind decoding cannot tell");
    }

    @Test
    void the_first_violation_in_protocol_order_is_the_one_reported() throws Exception {
        // unknown type beats reserved header flags
        byte[] unknownWithFlags = VectorGenerator.frame(0x55, 0xFF, 8, new VectorGenerator.Body());
        assertEquals(ErrorCode.UNKNOWN_MESSAGE_TYPE,
                assertThrows(ProtocolException.class, () -> Codec.decode(unknownWithFlags)).code());
        // reserved header flags beat a zero request id
        byte[] flagsAndZeroId = VectorGenerator.frame(0x30, 0x01, 0, new VectorGenerator.Body().uuid(LEASE));
        assertEquals(ErrorCode.RESERVED_BITS_SET,
                assertThrows(ProtocolException.class, () -> Codec.decode(flagsAndZeroId)).code());
        // in CHECKOUT: reserved flag bits, then empty product, then RECLAIM with zero id, then quantity
        byte[] all = VectorGenerator.frame(0x10, 0, 8, new VectorGenerator.Body().str("").str("").u32(0).u8(1)
                .u8(0x06).u32(0).uuid(Message.NO_LEASE));
        assertEquals(ErrorCode.RESERVED_BITS_SET, assertThrows(ProtocolException.class, () -> Codec.decode(all)).code());
        byte[] noFlag = VectorGenerator.frame(0x10, 0, 8, new VectorGenerator.Body().str("").str("").u32(0).u8(1)
                .u8(0x02).u32(0).uuid(Message.NO_LEASE));
        ProtocolException e = assertThrows(ProtocolException.class, () -> Codec.decode(noFlag));
        assertEquals(ErrorCode.MALFORMED_FRAME, e.code());
        assertTrue(e.getMessage().contains("product"), e.getMessage());
        // a string longer than its maximum is fieldTooLong even when its bytes are missing
        byte[] longAndShort = VectorGenerator.frame(0x01, 0, 8, new VectorGenerator.Body().u16(500));
        assertEquals(ErrorCode.FIELD_TOO_LONG,
                assertThrows(ProtocolException.class, () -> Codec.decode(longAndShort)).code());
    }

    @Test
    void a_frame_whose_prefix_disagrees_with_the_bytes_given_is_malformed() {
        byte[] f = Codec.encode(1, new Message.Checkin(LEASE));
        byte[] cut = java.util.Arrays.copyOf(f, f.length - 1);
        assertEquals(ErrorCode.MALFORMED_FRAME, assertThrows(ProtocolException.class, () -> Codec.decode(cut)).code());
        assertEquals(ErrorCode.MALFORMED_FRAME,
                assertThrows(ProtocolException.class, () -> Codec.decode(new byte[3])).code());
    }

    @Test
    void a_hello_never_shows_its_auth_token_in_text() {
        String text = new Hello("c", "h", "1", "s3cr3t").toString();
        assertFalse(text.contains("s3cr3t"), text);
        assertTrue(text.contains("***"));
    }

    @Test
    void no_v1_message_comes_near_the_frame_limit_so_appended_fields_have_room() {
        // The largest v1 frame: HEARTBEAT_RESULT with 1,024 results.
        List<Message.LeaseStatus> results = new ArrayList<>();
        for (int i = 0; i < Limits.MAX_HEARTBEAT_LEASES; i++) {
            results.add(new Message.LeaseStatus(LEASE, 0, 1));
        }
        int length = Codec.encode(1, new Message.HeartbeatResult(results)).length - Limits.LENGTH_PREFIX;
        assertEquals(6 + 2 + 1024 * 22, length);
        assertTrue(length < Limits.MAX_FRAME_LENGTH / 2);
    }

    @org.junit.jupiter.api.Test
    void a_version_2_grant_carries_its_secret_and_a_version_1_receiver_ignores_it() throws ProtocolException {
        byte[] secret = Secrets.fresh();
        java.util.UUID id = java.util.UUID.randomUUID();
        Message.Granted g = new Message.Granted(id, "ent", "cad-pro", 1, 30_000, 0, 0, 0, secret);
        byte[] v2 = Codec.encode(7, g, Preamble.VERSION_1_1);
        byte[] v1 = Codec.encode(7, g);
        org.junit.jupiter.api.Assertions.assertEquals(v1.length + Limits.RECLAIM_SECRET, v2.length);
        Message.Granted back = (Message.Granted) Codec.decode(v2, MessageType.Sender.SERVER, Preamble.VERSION_1_1)
                .message();
        org.junit.jupiter.api.Assertions.assertArrayEquals(secret, back.reclaimSecret());
        org.junit.jupiter.api.Assertions.assertEquals(g, back);
        Message.Granted asV1 = (Message.Granted) Codec.decode(v2, MessageType.Sender.SERVER).message();
        org.junit.jupiter.api.Assertions.assertNull(asV1.reclaimSecret(), "version 1 has no secret field");
    }

    @org.junit.jupiter.api.Test
    void a_secret_never_shows_in_a_message_printed_for_a_log() {
        byte[] secret = Secrets.fresh();
        String hex = java.util.HexFormat.of().formatHex(secret);
        java.util.UUID id = java.util.UUID.randomUUID();
        for (Message m : java.util.List.<Message>of(
                new Message.Granted(id, "ent", "cad-pro", 1, 30_000, 0, 0, 0, secret),
                new Message.Checkout("cad-pro", "", 1, 1, Message.Checkout.FLAG_RECLAIM, 0, id, secret),
                new Message.Checkin(id, secret))) {
            String printed = m.toString();
            org.junit.jupiter.api.Assertions.assertFalse(printed.contains(hex), printed);
            org.junit.jupiter.api.Assertions.assertFalse(printed.contains(java.util.Arrays.toString(secret)), printed);
            org.junit.jupiter.api.Assertions.assertTrue(printed.contains("reclaimSecret=***"), printed);
        }
    }

    @org.junit.jupiter.api.Test
    void a_zero_secret_means_none_was_presented() {
        java.util.UUID id = java.util.UUID.randomUUID();
        org.junit.jupiter.api.Assertions.assertNull(new Message.Checkout("p", "", 1, 1, 2, 0, id,
                new byte[Limits.RECLAIM_SECRET]).presentedSecret());
        org.junit.jupiter.api.Assertions.assertNull(new Message.Checkin(id).presentedSecret());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new Message.Checkin(id, new byte[16]), "a secret has exactly 32 bytes");
    }
}
