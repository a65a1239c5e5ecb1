package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PreambleTest {

    @Test
    void a_v1_client_preamble_and_the_server_answer_are_the_bytes_protocol_md_shows() {
        assertEquals("5453544c01010000", HexFormat.of().formatHex(Preamble.client(1, 1)));
        assertEquals("5453544c01000000", HexFormat.of().formatHex(Preamble.server(1)));
        assertEquals("5453544c00000000", HexFormat.of().formatHex(Preamble.server(Preamble.NO_COMMON_VERSION)));
        assertEquals(Preamble.LENGTH, Preamble.client(1, 3).length);
    }

    @Test
    void the_server_selects_the_highest_version_both_sides_speak() {
        assertEquals(1, Preamble.negotiate(1, 1), "a 1.0 client keeps protocol 1.0");
        assertEquals(2, Preamble.negotiate(1, 2), "a 1.1 client offering 1..2 gets 1.1");
        assertEquals(2, Preamble.negotiate(1, 5), "a newer client offering 1..5 gets 2 from a 1.1 server");
        assertEquals(2, Preamble.negotiate(2, 2));
        assertEquals(1, Preamble.negotiate(0, 1));
    }

    @Test
    void a_range_without_a_common_version_selects_zero() {
        assertEquals(Preamble.NO_COMMON_VERSION, Preamble.negotiate(3, 4), "a client that speaks only later versions");
        assertEquals(Preamble.NO_COMMON_VERSION, Preamble.negotiate(0, 0));
        assertEquals(Preamble.NO_COMMON_VERSION, Preamble.negotiate(1, 0), "min above max is an empty range");
        assertEquals(Preamble.NO_COMMON_VERSION, Preamble.negotiate(255, 255));
    }

    @Test
    void the_offered_and_selected_versions_are_read_back_from_their_bytes() {
        byte[] client = Preamble.client(1, 200);
        assertEquals(1, Preamble.minVersion(client, 0));
        assertEquals(200, Preamble.maxVersion(client, 0));
        assertEquals(1, Preamble.selectedVersion(Preamble.server(1), 0));
    }

    @Test
    void an_http_request_or_a_bare_frame_does_not_carry_the_magic() {
        assertTrue(Preamble.hasMagic(Preamble.client(1, 1), 0));
        assertFalse(Preamble.hasMagic("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII), 0));
        assertFalse(Preamble.hasMagic(HexFormat.of().parseHex("0000002b10000000"), 0));
        assertFalse(Preamble.hasMagic("tstl".getBytes(StandardCharsets.US_ASCII), 0), "the magic is case-sensitive");
    }
}
