package dev.turnstile.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class FrameAssemblerTest {

    private static final byte[] CHECKIN = Codec.encode(5, new Message.Checkin(UUID.randomUUID()));

    @Test
    void an_oversized_prefix_is_refused_on_its_fourth_byte_before_any_body_is_buffered() throws Exception {
        // GIVEN a prefix of 65,537 followed by body bytes
        byte[] data = HexFormat.of().parseHex("00010001" + "10".repeat(100));
        FrameAssembler a = new FrameAssembler();
        // WHEN the first three bytes arrive THEN nothing happens
        for (int i = 0; i < 3; i++) {
            a.feed(data, i, 1, f -> fail("no frame"));
            assertEquals(i + 1, a.pendingBytes());
        }
        // WHEN the fourth byte arrives together with the body THEN frameTooLarge, and no buffer was allocated
        ProtocolException e = assertThrows(ProtocolException.class, () -> a.feed(data, 3, data.length - 3, f -> fail()));
        assertEquals(ErrorCode.FRAME_TOO_LARGE, e.code());
        assertEquals(0, e.correlationId());
        assertTrue(e.closesConnection());
        assertEquals(0, a.bufferedCapacity());
        // AND the assembler stays failed
        assertThrows(IllegalStateException.class, () -> a.feed(data, 0, 1, f -> fail()));
    }

    @Test
    void the_largest_prefix_is_refused_and_the_largest_allowed_prefix_is_accepted() throws Exception {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> new FrameAssembler().feed(HexFormat.of().parseHex("ffffffff"), 0, 4, f -> fail()));
        assertEquals(ErrorCode.FRAME_TOO_LARGE, e.code());
        FrameAssembler ok = new FrameAssembler();
        ok.feed(HexFormat.of().parseHex("00010000"), 0, 4, f -> fail());
        assertEquals(4, ok.pendingBytes());
    }

    @Test
    void a_prefix_below_the_header_size_is_malformed() {
        for (String prefix : List.of("00000000", "00000005")) {
            ProtocolException e = assertThrows(ProtocolException.class,
                    () -> new FrameAssembler().feed(HexFormat.of().parseHex(prefix), 0, 4, f -> fail()));
            assertEquals(ErrorCode.MALFORMED_FRAME, e.code());
        }
    }

    @Test
    void a_peer_announcing_64_kib_and_sending_little_ties_up_memory_for_what_it_sent_only() throws Exception {
        // GIVEN a frame announced at the maximum size WHEN only 10 body bytes arrive
        FrameAssembler a = new FrameAssembler();
        byte[] start = HexFormat.of().parseHex("00010000" + "20000000000101020304");
        a.feed(start, 0, start.length, f -> fail());
        // THEN the buffer is small, and grows only as bytes arrive
        assertTrue(a.bufferedCapacity() <= 256, "capacity " + a.bufferedCapacity());
        assertEquals(start.length, a.pendingBytes());
        List<byte[]> out = new ArrayList<>();
        byte[] rest = new byte[Limits.MAX_FRAME_LENGTH - 10];
        a.feed(rest, 0, rest.length, out::add);
        assertEquals(1, out.size());
        assertEquals(Limits.LENGTH_PREFIX + Limits.MAX_FRAME_LENGTH, out.get(0).length);
    }

    @Test
    void a_frame_split_anywhere_is_delivered_once_whole_and_two_frames_in_one_chunk_both_come_out() throws Exception {
        for (int split = 0; split <= CHECKIN.length; split++) {
            FrameAssembler a = new FrameAssembler();
            List<byte[]> out = new ArrayList<>();
            a.feed(CHECKIN, 0, split, out::add);
            assertEquals(split == CHECKIN.length ? 1 : 0, out.size(), "split at " + split);
            a.feed(CHECKIN, split, CHECKIN.length - split, out::add);
            assertEquals(1, out.size());
            assertArrayEquals(CHECKIN, out.get(0));
        }
        byte[] two = new byte[CHECKIN.length * 2];
        System.arraycopy(CHECKIN, 0, two, 0, CHECKIN.length);
        System.arraycopy(CHECKIN, 0, two, CHECKIN.length, CHECKIN.length);
        List<byte[]> out = new ArrayList<>();
        new FrameAssembler().feed(two, 0, two.length, out::add);
        assertEquals(2, out.size());
    }

    @Test
    void after_close_no_further_frame_is_delivered_even_one_already_received() throws Exception {
        // GIVEN two frames in one chunk and a sink that decides to close on the first
        byte[] two = new byte[CHECKIN.length * 2];
        System.arraycopy(CHECKIN, 0, two, 0, CHECKIN.length);
        System.arraycopy(CHECKIN, 0, two, CHECKIN.length, CHECKIN.length);
        FrameAssembler a = new FrameAssembler();
        List<byte[]> out = new ArrayList<>();
        // WHEN fed
        a.feed(two, 0, two.length, f -> {
            out.add(f);
            a.close();
        });
        // THEN only the first came out, and later bytes are discarded quietly
        assertEquals(1, out.size());
        assertTrue(a.isClosed());
        a.feed(two, 0, two.length, out::add);
        assertEquals(1, out.size());
        assertEquals(0, a.pendingBytes());
    }
}
