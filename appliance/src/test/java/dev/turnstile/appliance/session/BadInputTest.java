package dev.turnstile.appliance.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every kind of bad client hurts only its own session: after each abuse, a well-behaved client
 * that held a lease all along still holds it and can still check out and heartbeat.
 */
class BadInputTest {
    private static Vertx vertx;
    private static Appliance appliance;
    private static RawClient bystander;
    private static Message.Granted bystanderLease;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        JsonObject cfg = TestAppliances.config("bad-input", 4);
        cfg.getJsonObject("server").put("slow_consumer_timeout", "1s").put("lease_timeout", "60s")
                .put("heartbeat_interval", "10s");
        appliance = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
        bystander = RawClient.session(appliance.tcpPort(), "bystander", "hw-bystander");
        bystanderLease = (Message.Granted) bystander.request(bystander.checkout("cad-pro", 1)).message();
    }

    @AfterAll
    static void stop() throws Exception {
        bystander.close();
        appliance.shutdown().await(20, TimeUnit.SECONDS);
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    /** THEN for every test: the bystander's session is untouched. */
    private static void bystanderStillServed() throws Exception {
        Message.HeartbeatResult r = (Message.HeartbeatResult) bystander.request(
                new Message.Heartbeat(List.of(bystanderLease.leaseId()))).message();
        assertTrue(r.results().get(0).ok(), "bystander's lease survives: " + r);
        Message m = bystander.request(bystander.checkout("cad-pro", 1)).message();
        Message.Granted g = assertInstanceOf(Message.Granted.class, m, "bystander can still check out");
        assertInstanceOf(Message.CheckedIn.class, bystander.request(new Message.Checkin(g.leaseId())).message());
    }

    /** The server notices a closed socket on its own event loop, a moment after the client sees it. */
    private static void awaitLeaseCount(int expected, String why) {
        try {
            Wait.until(why, java.time.Duration.ofSeconds(5), () -> appliance.ledger().leaseCount() == expected);
        } catch (AssertionError late) {
            assertEquals(expected, appliance.ledger().leaseCount(), why);
        }
    }

    private static RawClient abuser() throws Exception {
        return RawClient.session(appliance.tcpPort(), "abuser", "hw-abuser");
    }

    private static void assertErrorThenClose(RawClient c, ErrorCode code) throws Exception {
        Envelope e = c.read();
        assertEquals(code, assertInstanceOf(Message.Error.class, e.message()).errorCode(), e.toString());
        assertTrue(c.closedByServer(), "connection closed after " + code);
    }

    @Test
    @DisplayName("GIVEN a length prefix of 4 GiB WHEN it arrives THEN frameTooLarge, close, and nothing is buffered for it")
    void an_oversized_length_prefix_is_refused_at_once() throws Exception {
        try (RawClient c = abuser()) {
            c.request(c.checkout("cad-pro", 1));
            c.sendHex("ffffffff");
            assertErrorThenClose(c, ErrorCode.FRAME_TOO_LARGE);
        }
        bystanderStillServed();
        awaitLeaseCount(1, "the abuser's seat was returned, the bystander's kept");
    }

    @Test
    @DisplayName("GIVEN half a frame that never completes WHEN the hello timeout passes THEN the session is closed with malformedFrame")
    void a_half_frame_is_not_waited_for_forever() throws Exception {
        try (RawClient c = abuser()) {
            byte[] frame = Codec.encode(7, c.checkout("cad-pro", 1));
            c.sendRaw(java.util.Arrays.copyOf(frame, frame.length - 3));
            assertErrorThenClose(c, ErrorCode.MALFORMED_FRAME);
        }
        bystanderStillServed();
    }

    @Test
    @DisplayName("GIVEN a client that floods HELLOs WHEN the second arrives THEN unexpectedMessage and close")
    void a_flood_of_hellos_is_stopped_at_the_second() throws Exception {
        try (RawClient c = abuser()) {
            for (int i = 0; i < 100; i++) {
                c.send(100 + i, new Message.Hello("abuser", "hw-abuser", "1.0.0", ""));
            }
            assertErrorThenClose(c, ErrorCode.UNEXPECTED_MESSAGE);
        } catch (IOException reset) {
            // the server may reset while we are still writing: also a refusal
        }
        bystanderStillServed();
    }

    @Tag("slow") // waits out the slow-consumer timeout
    @Test
    @DisplayName("GIVEN a client that never reads its replies WHEN it keeps sending THEN the server stops reading it and closes it as slowConsumer")
    void a_client_that_never_reads_is_cut_off() throws Exception {
        RawClient c = abuser();
        c.socket().setReceiveBufferSize(4096);
        byte[] hb = Codec.encode(9, new Message.Heartbeat(List.of()));
        byte[] burst = new byte[hb.length * 1000];
        for (int i = 0; i < 1000; i++) {
            System.arraycopy(hb, 0, burst, i * hb.length, hb.length);
        }
        java.util.concurrent.atomic.AtomicBoolean cut = new java.util.concurrent.atomic.AtomicBoolean();
        // The writer blocks once every buffer is full; it runs on its own thread so the test stays bounded.
        Thread writer = new Thread(() -> {
            try {
                for (int i = 0; i < 4_000; i++) { // at most about 48 MB
                    c.sendRaw(burst);
                }
            } catch (IOException e) {
                cut.set(true); // the server closed on us while we were writing
            }
        }, "never-reading-client");
        writer.setDaemon(true);
        writer.start();
        writer.join(TimeUnit.SECONDS.toMillis(30));
        boolean closedWhileWriting = cut.get();
        if (!closedWhileWriting && !writer.isAlive()) {
            // Everything fit in buffers; the server must still give up on a client that never reads.
            closedWhileWriting = c.closedByServer();
        }
        c.close();
        writer.join(5_000);
        assertTrue(closedWhileWriting, "the server closed a client that never read its replies");
        bystanderStillServed();
    }

    @Test
    @DisplayName("GIVEN an HTTP request on the protocol port THEN the connection is closed without a byte of answer")
    void an_http_client_is_refused_in_the_first_bytes() throws Exception {
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            c.sendRaw("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = c.socket().getInputStream();
            assertEquals(-1, in.read(), "closed, nothing sent");
        }
        bystanderStillServed();
    }

    @Test
    @DisplayName("GIVEN a preamble offering only versions 3 to 5 THEN the server answers version 0 and closes")
    void a_client_without_a_common_version_is_told_and_closed() throws Exception {
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            c.sendHex("5453544c03050000"); // the server speaks 1 (protocol 1.0) and 2 (1.1)
            byte[] answer = c.socket().getInputStream().readNBytes(8);
            assertEquals("5453544c00000000", java.util.HexFormat.of().formatHex(answer));
            assertTrue(c.closedByServer());
        }
    }

    @Test
    @DisplayName("GIVEN an unknown message type THEN unknownMessageType and the connection stays usable")
    void an_unknown_type_keeps_the_connection() throws Exception {
        try (RawClient c = abuser()) {
            c.sendHex("0000000a" + "55" + "00" + "0000002a" + "deadbeef");
            Envelope e = c.read();
            assertEquals(42, e.correlationId());
            assertEquals(ErrorCode.UNKNOWN_MESSAGE_TYPE, ((Message.Error) e.message()).errorCode());
            assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
        }
        bystanderStillServed();
    }

    @Test
    @DisplayName("GIVEN a checkout whose product is not UTF-8 THEN invalidUtf8, close, and the abuser's earlier lease is returned")
    void bad_utf8_closes_and_returns_seats() throws Exception {
        try (RawClient c = abuser()) {
            c.request(c.checkout("cad-pro", 1));
            // CHECKOUT, product = C3 28 (invalid 2-byte sequence)
            c.sendHex("00000026" + "10" + "00" + "00000063" + "0002c328" + "0000" + "00000001" + "01" + "00" + "00000000"
                    + "00000000000000000000000000000000");
            assertErrorThenClose(c, ErrorCode.INVALID_UTF8);
        }
        bystanderStillServed();
        awaitLeaseCount(1, "the abuser's seat was returned, the bystander's kept");
    }

    @Test
    @DisplayName("GIVEN a quantity of zero or above the maximum THEN invalidQuantity and the connection survives")
    void zero_and_huge_quantities_are_refused_without_closing() throws Exception {
        try (RawClient c = abuser()) {
            Message.Denied zero = (Message.Denied) c.request(c.checkout("cad-pro", 0)).message();
            assertEquals(ErrorCode.INVALID_QUANTITY, zero.errorCode());
            Message huge = c.request(new Message.Checkout("cad-pro", "", 0xFFFFFFFFL, 1, 0, 0, Message.NO_LEASE)).message();
            assertEquals(ErrorCode.INVALID_QUANTITY, ((Message.Denied) huge).errorCode());
            assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
            assertFalse(c.socket().isClosed());
        }
        bystanderStillServed();
    }

    @Test
    @DisplayName("GIVEN a connection that never says anything THEN it is closed after the hello timeout")
    void a_silent_connection_is_closed() throws Exception {
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            assertTrue(c.closedByServer(), "closed within the 1 s hello timeout");
        }
        bystanderStillServed();
    }
}
