package dev.turnstile.appliance.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The points issue 12 (finding 13) found open in PROTOCOL.md, as the appliance answers them over a
 * real socket: the order of frame checks against HELLO-first (3.5, 5.1), where invalidQuantity is
 * decided (3.5, 10.1, 10.2), the id of the malformedFrame for a frame left incomplete (3.2), and
 * when licenseKeyVsLeaseIdMismatch is reached (10.6).
 */
class SpecOpenPointsTest {
    private static Vertx vertx;
    private static Appliance appliance;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        JsonObject cfg = TestAppliances.config("points", 4);
        // hello timeout 5 s: long enough that a loaded machine never times out the pre-HELLO cases,
        // short enough for the incomplete-frame case, which waits for it
        cfg.getJsonObject("server").put("lease_timeout", "60s").put("heartbeat_interval", "10s")
                .put("hello_timeout", "5s");
        cfg.getJsonArray("entitlements").add(TestAppliances.entitlement("ent-cad-2", "cad-pro", 2, "seats"))
                .add(TestAppliances.entitlement("ent-cam", "cam-pro", 2, "seats"));
        appliance = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        appliance.shutdown().await(20, TimeUnit.SECONDS);
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private static RawClient connected() throws Exception {
        RawClient c = RawClient.connect(appliance.tcpPort());
        c.preamble();
        return c;
    }

    private static Message.Hello hello() {
        return new Message.Hello("points", "hw-points", "1.0.0", "");
    }

    @Test
    void a_checkout_of_quantity_0_before_hello_is_denied_invalidQuantity_and_hello_is_still_awaited() throws Exception {
        try (RawClient c = connected()) {
            // GIVEN no HELLO yet WHEN a CHECKOUT of quantity 0 arrives THEN step 7 answers it, the connection survives
            c.send(5, c.checkout("cad-pro", 0));
            Envelope e = c.read();
            assertEquals(5, e.correlationId());
            assertEquals(ErrorCode.INVALID_QUANTITY, assertInstanceOf(Message.Denied.class, e.message()).errorCode());
            // AND the skipped frame was not the first frame: HELLO is still expected and accepted
            assertInstanceOf(Message.Welcome.class, c.request(hello()).message());
        }
    }

    @Test
    void an_unknown_type_before_hello_is_answered_and_skipped_and_hello_is_still_accepted() throws Exception {
        try (RawClient c = connected()) {
            c.sendHex("0000000a" + "55" + "00" + "00000009" + "deadbeef");
            Envelope e = c.read();
            assertEquals(9, e.correlationId());
            assertEquals(ErrorCode.UNKNOWN_MESSAGE_TYPE, assertInstanceOf(Message.Error.class, e.message()).errorCode());
            assertInstanceOf(Message.Welcome.class, c.request(hello()).message());
        }
    }

    @Test
    void a_first_checkout_with_correlation_id_0_is_malformedFrame_id_0_not_unexpectedMessage() throws Exception {
        try (RawClient c = connected()) {
            c.send(0, c.checkout("cad-pro", 1));
            Envelope e = c.read();
            assertEquals(0, e.correlationId());
            assertEquals(ErrorCode.MALFORMED_FRAME, assertInstanceOf(Message.Error.class, e.message()).errorCode());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void a_well_formed_checkout_before_hello_is_unexpectedMessage_echoing_its_id() throws Exception {
        try (RawClient c = connected()) {
            c.send(12, c.checkout("cad-pro", 1));
            Envelope e = c.read();
            assertEquals(12, e.correlationId());
            assertEquals(ErrorCode.UNEXPECTED_MESSAGE, assertInstanceOf(Message.Error.class, e.message()).errorCode());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void a_hello_with_an_empty_client_id_and_an_empty_version_is_malformedFrame_not_clientVersionMissing() throws Exception {
        try (RawClient c = connected()) {
            c.send(3, new Message.Hello("", "hw-points", "", ""));
            Envelope e = c.read();
            assertEquals(3, e.correlationId());
            assertEquals(ErrorCode.MALFORMED_FRAME, assertInstanceOf(Message.Error.class, e.message()).errorCode());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void a_frame_left_incomplete_after_its_header_is_refused_with_correlation_id_0() throws Exception {
        try (RawClient c = RawClient.session(appliance.tcpPort(), "points", "hw-points")) {
            // GIVEN the length, type, flags and id 77 of a CHECKOUT, and half its body, then nothing
            c.socket().setSoTimeout(15_000); // the hello timeout, plus the once-a-second sweep, plus a loaded machine
            byte[] frame = Codec.encode(77, c.checkout("cad-pro", 1));
            c.sendRaw(Arrays.copyOf(frame, frame.length / 2));
            // WHEN the hello timeout (5 s here) passes THEN malformedFrame with id 0, and a close
            Envelope e = c.read();
            assertEquals(0, e.correlationId());
            assertEquals(ErrorCode.MALFORMED_FRAME, assertInstanceOf(Message.Error.class, e.message()).errorCode());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void a_checkouts_pool_refuses_quantity_2_with_invalidQuantity_in_denied_and_the_connection_survives() throws Exception {
        try (RawClient c = RawClient.session(appliance.tcpPort(), "points", "hw-points")) {
            Message m = c.request(new Message.Checkout("sim-suite", "", 2, 2, 0, 0, Message.NO_LEASE)).message();
            assertEquals(ErrorCode.INVALID_QUANTITY, assertInstanceOf(Message.Denied.class, m).errorCode());
            assertInstanceOf(Message.Granted.class,
                    c.request(new Message.Checkout("sim-suite", "", 1, 2, 0, 0, Message.NO_LEASE)).message());
        }
    }

    @Test
    void a_reclaim_naming_a_licensed_product_or_key_other_than_the_leases_is_denied_licenseKeyVsLeaseIdMismatch()
            throws Exception {
        // protocol 1.1: the RECLAIMs below prove ownership with the lease's secret, so the ownership check (10.6,
        // first) passes and the product and key rules are what answers
        try (RawClient c = RawClient.session(appliance.tcpPort(), "points", "hw-points", Preamble.VERSION_1_1, "")) {
            // GIVEN a lease of cad-pro from the entitlement ent-cad, and its secret
            Message.Granted g = (Message.Granted) c.request(
                    new Message.Checkout("cad-pro", "ent-cad", 1, 1, 0, 0, Message.NO_LEASE)).message();
            byte[] secret = g.reclaimSecret();
            int reclaim = Message.Checkout.FLAG_RECLAIM;
            // WHEN a RECLAIM names it with another licensed product, or another entitlement of cad-pro
            Message otherProduct = c.request(new Message.Checkout("cam-pro", "", 1, 1, reclaim, 0, g.leaseId(), secret)).message();
            Message otherKey = c.request(new Message.Checkout("cad-pro", "ent-cad-2", 1, 1, reclaim, 0, g.leaseId(), secret)).message();
            // THEN licenseKeyVsLeaseIdMismatch, the path of 10.6 is reachable
            assertEquals(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH, assertInstanceOf(Message.Denied.class, otherProduct).errorCode());
            assertEquals(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH, assertInstanceOf(Message.Denied.class, otherKey).errorCode());
            // AND a product or key this server does not know is refused as such first, whatever lease is named
            Message unknownProduct = c.request(new Message.Checkout("nope", "", 1, 1, reclaim, 0, g.leaseId(), secret)).message();
            Message unknownKey = c.request(new Message.Checkout("cad-pro", "ent-nope", 1, 1, reclaim, 0, g.leaseId(), secret)).message();
            assertEquals(ErrorCode.UNKNOWN_PRODUCT, assertInstanceOf(Message.Denied.class, unknownProduct).errorCode());
            assertEquals(ErrorCode.UNKNOWN_LICENSE_KEY, assertInstanceOf(Message.Denied.class, unknownKey).errorCode());
            // AND the right product and key take it back
            Message.Granted again = assertInstanceOf(Message.Granted.class,
                    c.request(new Message.Checkout("cad-pro", "ent-cad", 1, 1, reclaim, 0, g.leaseId(), secret)).message());
            assertEquals(g.leaseId(), again.leaseId());
        }
    }
}
