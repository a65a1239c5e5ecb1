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
import dev.turnstile.protocol.Preamble;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, findings 3, 10 and 11: squatters, parked incomplete frames and token guessers cost
 * only their own address, a seat holder is never pushed out, and a client that stopped reading
 * still receives its slowConsumer ERROR. Real appliance on loopback; other machines are played by
 * other loopback addresses (127.0.0.2, 127.0.0.3, ...).
 */
class SessionLimitsTest {
    private static final String TOKEN = "the-right-client-token";
    private Vertx vertx;
    private Appliance appliance;
    private final List<RawClient> clients = new ArrayList<>();

    @BeforeEach
    void vertx() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(RawClient::close);
        if (appliance != null) {
            appliance.shutdown().await(20, TimeUnit.SECONDS);
        }
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private void start(JsonObject server) throws Exception {
        JsonObject cfg = TestAppliances.config("limits", 50);
        cfg.getJsonObject("server").put("heartbeat_interval", "10s").put("lease_timeout", "60s")
                .put("hello_timeout", "30s").mergeIn(server);
        appliance = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
    }

    private RawClient keep(RawClient c) {
        clients.add(c);
        return c;
    }

    /** Preamble and HELLO from {@code from}; the WELCOME is read. */
    private RawClient session(String from, String clientId) throws Exception {
        return keep(RawClient.session(from, appliance.tcpPort(), clientId, "hw-" + clientId, ""));
    }

    /** True when the server closed this new connection without a byte: refused before its preamble. */
    private static boolean refusedBeforePreamble(RawClient c) throws IOException {
        c.sendRaw(Preamble.client(1, 1));
        try {
            return c.socket().getInputStream().read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    private static void awaitTrue(String what, BooleanSupplier condition) {
        Wait.until(what, java.time.Duration.ofSeconds(20), condition);
    }

    /** The next frame is a server GOODBYE with serverBusy, then the server closes. */
    private static void assertToldBusyThenClosed(RawClient c) throws Exception {
        Envelope e = c.read();
        Message.Goodbye g = assertInstanceOf(Message.Goodbye.class, e.message(), e.toString());
        assertEquals(ErrorCode.SERVER_BUSY.code(), g.code(), g.toString());
        assertEquals(0, e.correlationId());
        assertTrue(c.closedByServer(), "closed after GOODBYE serverBusy");
    }

    // ------------------------------------------------------------------ finding 3: squatting

    @Test
    @DisplayName("GIVEN squatters from 127.0.0.1 up to its per-address cap WHEN a client from 127.0.0.2 connects THEN it is served, and the squatters' next connection is refused before the preamble")
    void squatters_filling_one_addresses_cap_do_not_stop_a_client_from_another_address() throws Exception {
        start(new JsonObject().put("max_sessions", 30).put("max_sessions_per_address", 10));
        int admitted = 0;
        for (int i = 0; i < 40; i++) {
            RawClient c = keep(RawClient.from("127.0.0.1", appliance.tcpPort()));
            try {
                c.sendRaw(Preamble.client(1, 1));
                c.send(1, new Message.Hello("squatter-" + i, "hw-squatter", "1.0.0", ""));
                c.socket().getInputStream().readNBytes(Preamble.LENGTH);
                if (c.read().message() instanceof Message.Welcome) {
                    admitted++;
                }
            } catch (IOException refused) {
                // closed before the preamble (EOF, or a broken pipe / reset while we were still sending)
            }
        }
        assertEquals(10, admitted, "127.0.0.1 holds at most server.max_sessions_per_address sessions");

        RawClient client = session("127.0.0.2", "plant-client");
        assertInstanceOf(Message.Granted.class, client.request(client.checkout("cad-pro", 1)).message(),
                "the client from another address is served");
        assertTrue(refusedBeforePreamble(keep(RawClient.from("127.0.0.1", appliance.tcpPort()))),
                "the squatting address gets no more");
        assertTrue(appliance.registry().limits().refusals(SessionLimits.Refusal.PER_ADDRESS) >= 30);
        String metrics = appliance.metrics().scrape();
        assertTrue(metrics.contains("turnstile_session_refusals_total{reason=\"per_address\"}"), metrics);
        assertTrue(metrics.contains("turnstile_connections_by_state{state=\"ready\"} 11.0"), metrics);
    }

    @Test
    @DisplayName("GIVEN a full server of idle squatters and one idle seat holder WHEN newcomers connect THEN the squatters are evicted oldest first with GOODBYE serverBusy, the holder keeps its seat, and once only holders remain a newcomer is refused")
    void a_client_holding_a_seat_is_never_evicted_while_idle_leaseless_squatters_are() throws Exception {
        start(new JsonObject().put("max_sessions", 12).put("max_sessions_per_address", 100)
                .put("evict_idle_after", "200ms"));
        RawClient holder = session("127.0.0.3", "holder");
        Message.Granted seat = assertInstanceOf(Message.Granted.class,
                holder.request(holder.checkout("cad-pro", 1)).message());
        List<RawClient> squatters = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            squatters.add(session("127.0.0.1", "squatter-" + i));
        }
        long quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(400)) {
            Thread.sleep(50); // every session must be idle for server.evict_idle_after: that is the condition under test
        }

        for (int i = 0; i < 11; i++) {
            RawClient n = session("127.0.0.2", "newcomer-" + i);
            assertInstanceOf(Message.Granted.class, n.request(n.checkout("cad-pro", 1)).message(),
                    "newcomer " + i + " is served");
        }
        for (RawClient s : squatters) {
            assertToldBusyThenClosed(s);
        }
        Message.HeartbeatResult hb = (Message.HeartbeatResult) holder.request(
                new Message.Heartbeat(List.of(seat.leaseId()))).message();
        assertTrue(hb.results().get(0).ok(), "the idle seat holder still has its seat: " + hb);
        assertEquals(11, appliance.registry().limits().evictions(SessionLimits.Eviction.IDLE_WITHOUT_LEASE));

        // Every open session now holds a seat: nobody may be pushed out, so the next newcomer is refused.
        assertTrue(refusedBeforePreamble(keep(RawClient.from("127.0.0.4", appliance.tcpPort()))));
        assertTrue(appliance.registry().limits().refusals(SessionLimits.Refusal.SESSION_LIMIT) >= 1);
        assertTrue(appliance.metrics().scrape()
                .contains("turnstile_session_evictions_total{reason=\"idle_without_lease\"} 11.0"));
    }

    @Test
    @DisplayName("GIVEN the cap is below the process's descriptor limit less fd_headroom THEN the cap in force is lowered to keep the headroom")
    void the_session_cap_stays_below_the_descriptor_limit() throws Exception {
        start(new JsonObject().put("fd_headroom", 512));
        SessionLimits limits = appliance.registry().limits();
        long fds = SessionLimits.processFdLimit();
        assertTrue(fds > 0, "a Unix JVM reports RLIMIT_NOFILE");
        assertEquals(Math.min(250_000, fds - 512), limits.maxSessions());
    }

    // ------------------------------------------------------------------ finding 3: parked incomplete frames

    private final java.util.Map<RawClient, int[]> parked = new java.util.IdentityHashMap<>();

    /**
     * Sends the first {@code sent} bytes (after the length prefix) of a HEARTBEAT frame announcing
     * {@code announced}, and waits until the appliance buffers them all: the session then parks an
     * incomplete frame of {@code 4 + sent} bytes.
     */
    private void park(RawClient c, int announced, int sent) throws Exception {
        SessionLimits limits = appliance.registry().limits();
        long before = limits.partialFrameBytes();
        sendPart(c, announced, sent);
        awaitTrue("the appliance buffers the " + (4 + sent) + " bytes sent",
                () -> limits.partialFrameBytes() == before + 4 + sent);
    }

    /** Like {@link #park} without waiting: for the frame that takes the total over a budget. */
    private void sendPart(RawClient c, int announced, int sent) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4 + sent);
        b.putInt(announced);
        b.put((byte) 0x20).put((byte) 0).putInt(77); // HEARTBEAT, flags 0, correlation id 77; the rest zeros
        c.sendRaw(b.array());
        parked.put(c, new int[] {announced, sent});
    }

    /** Sends the rest of a parked frame: an answer (to correlation id 77) proves the session was still open. */
    private void finishParked(RawClient c) throws Exception {
        int[] p = parked.get(c);
        c.sendRaw(new byte[p[0] - p[1]]);
        Envelope e = c.read();
        assertEquals(77, e.correlationId(), "the session was still open and answered: " + e);
    }

    @Test
    @DisplayName("GIVEN one address parking incomplete frames over server.partial_frame_budget_per_address THEN its largest is closed first with GOODBYE serverBusy; its smaller ones and other addresses stay")
    void incomplete_frames_over_the_per_address_budget_are_shed_largest_first() throws Exception {
        start(new JsonObject().put("partial_frame_budget", "1MiB").put("partial_frame_budget_per_address", "128KiB"));
        RawClient small = session("127.0.0.1", "small");
        park(small, 60_000, 10_000);
        RawClient other = session("127.0.0.2", "other");
        park(other, 60_000, 50_000);
        RawClient big = session("127.0.0.1", "big");
        park(big, 62_000, 60_000);
        RawClient mid = session("127.0.0.1", "mid");
        park(mid, 60_000, 40_000);
        // 127.0.0.1 buffers 110,012 bytes; the next 30,004 take it over 131,072: its largest frame (big) goes.
        RawClient last = session("127.0.0.1", "last");
        sendPart(last, 60_000, 30_000);
        assertToldBusyThenClosed(big);
        SessionLimits limits = appliance.registry().limits();
        awaitTrue("the buffered total is counted without the shed session",
                () -> limits.partialFrameBytes() == 10_004 + 50_004 + 40_004 + 30_004);
        assertEquals(1, limits.evictions(SessionLimits.Eviction.PARTIAL_FRAME_BUDGET_PER_ADDRESS));
        for (RawClient c : List.of(small, other, mid, last)) {
            finishParked(c);
        }
        String metrics = appliance.metrics().scrape();
        assertTrue(metrics.contains(
                "turnstile_session_evictions_total{reason=\"partial_frame_budget_per_address\"} 1.0"), metrics);
    }

    @Test
    @DisplayName("GIVEN several addresses parking incomplete frames over server.partial_frame_budget THEN the largest frame of the heaviest address is closed first, though other addresses park larger single frames")
    void over_the_global_budget_the_heaviest_address_is_shed_first() throws Exception {
        start(new JsonObject().put("partial_frame_budget", "200KiB").put("partial_frame_budget_per_address", "128KiB"));
        RawClient heavyA = session("127.0.0.1", "heavy-a");
        park(heavyA, 60_000, 46_000);
        RawClient light1 = session("127.0.0.3", "light-1");
        park(light1, 60_000, 58_000);
        RawClient heavyB = session("127.0.0.1", "heavy-b");
        park(heavyB, 60_000, 45_000);
        // 149,012 buffered; light-2's 60,004 take it over 204,800. 127.0.0.1 is the heaviest address
        // (90,008), so its largest frame (heavy-a, 46,004) goes, not light-1's 58,004 or light-2's.
        RawClient light2 = session("127.0.0.4", "light-2");
        sendPart(light2, 62_000, 60_000);
        assertToldBusyThenClosed(heavyA);
        SessionLimits limits = appliance.registry().limits();
        awaitTrue("the buffered total is back within budget",
                () -> limits.partialFrameBytes() == 58_004 + 45_004 + 60_004);
        assertEquals(1, limits.evictions(SessionLimits.Eviction.PARTIAL_FRAME_BUDGET));
        for (RawClient c : List.of(light1, heavyB, light2)) {
            finishParked(c);
        }
    }

    // ------------------------------------------------------------------ finding 11: token guessing

    @Test
    @DisplayName("GIVEN a guesser at 127.0.0.1 past server.auth_failures_before_backoff WHEN it sends HELLO again, even with the right token THEN GOODBYE serverBusy unchecked, while a client at 127.0.0.2 is welcomed at once")
    void the_auth_backoff_slows_a_guesser_but_not_another_address() throws Exception {
        JsonObject server = new JsonObject().put("auth_failures_before_backoff", 3).put("auth_backoff", "30s")
                .put("auth_backoff_max", "60s");
        JsonObject cfg = TestAppliances.config("limits", 5);
        cfg.getJsonObject("server").put("hello_timeout", "30s").mergeIn(server);
        cfg.getJsonObject("clients").put("auth_token", TOKEN);
        appliance = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);

        for (int i = 0; i < 3; i++) {
            RawClient g = keep(RawClient.from("127.0.0.1", appliance.tcpPort()));
            g.preamble();
            Envelope e = g.request(new Message.Hello("guesser", "hw-g", "1.0.0", "guess-" + i));
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, assertInstanceOf(Message.Error.class, e.message()).errorCode());
        }
        RawClient g = keep(RawClient.from("127.0.0.1", appliance.tcpPort()));
        g.preamble();
        g.send(9, new Message.Hello("guesser", "hw-g", "1.0.0", TOKEN));
        assertToldBusyThenClosed(g);

        RawClient real = keep(RawClient.session("127.0.0.2", appliance.tcpPort(), "real", "hw-real", TOKEN));
        assertInstanceOf(Message.Granted.class, real.request(real.checkout("cad-pro", 1)).message());

        SessionLimits limits = appliance.registry().limits();
        assertEquals(3, limits.authFailures());
        assertEquals(1, limits.authBackoffs());
        assertEquals(1, limits.authBackoffRefusals());
        String metrics = appliance.metrics().scrape();
        assertTrue(metrics.contains("turnstile_auth_backoff_refusals_total 1.0"), metrics);
        assertTrue(metrics.contains("turnstile_auth_backoff_addresses 1.0"), metrics);
        assertFalse(metrics.contains(TOKEN), "the token is never in a metric");
    }

    // ------------------------------------------------------------------ finding 10: slow consumer

    @Test
    @DisplayName("GIVEN a client with a tiny receive buffer that stops reading WHEN the server gives up on it THEN the client, reading at the end, finds ERROR slowConsumer after its replies and then an orderly close, not a reset")
    void the_slow_consumer_error_reaches_a_client_that_stopped_reading() throws Exception {
        start(new JsonObject().put("slow_consumer_timeout", "1s").put("slow_consumer_close_wait", "30s"));
        RawClient c = keep(new RawClient("127.0.0.1", appliance.tcpPort(), null, 2048));
        c.preamble();
        c.send(1, new Message.Hello("slow", "hw-slow", "1.0.0", ""));
        byte[] hb = Codec.encode(9, new Message.Heartbeat(List.of()));
        byte[] burst = new byte[hb.length * 1000];
        for (int i = 0; i < 1000; i++) {
            System.arraycopy(hb, 0, burst, i * hb.length, hb.length);
        }
        AtomicLong written = new AtomicLong();
        // Writes until every buffer is full and the server stops reading, then (once the server discards
        // input after its ERROR) to the end: at most about 24 MB. Bounded in count and time.
        Thread writer = new Thread(() -> {
            try {
                for (int i = 0; i < 2_000; i++) {
                    c.sendRaw(burst);
                    written.addAndGet(burst.length);
                }
            } catch (IOException e) {
                // the server cut us off: the assertion below says whether the ERROR still came
            }
        }, "slow-consumer-writer");
        writer.setDaemon(true);
        writer.start();
        writer.join(TimeUnit.SECONDS.toMillis(30));

        // Only now does the client read: every reply, then the last frame, then the end of the stream.
        c.socket().setSoTimeout(10_000);
        DataInputStream in = new DataInputStream(c.socket().getInputStream());
        Envelope last = null;
        int frames = 0;
        boolean orderlyEnd;
        try {
            while (true) {
                int length;
                try {
                    length = in.readInt();
                } catch (EOFException eof) {
                    orderlyEnd = true;
                    break;
                }
                byte[] frame = new byte[4 + length];
                ByteBuffer.wrap(frame).putInt(length);
                in.readFully(frame, 4, length);
                last = Codec.decode(frame);
                frames++;
            }
        } catch (IOException reset) {
            orderlyEnd = false;
        }
        assertTrue(frames > 1, "the client read its replies: " + frames);
        assertTrue(last != null && last.message() instanceof Message.Error err
                        && err.errorCode() == ErrorCode.SLOW_CONSUMER,
                "the last frame is ERROR slowConsumer, got " + last + " after " + frames + " frames");
        assertEquals(0, last.correlationId());
        assertTrue(orderlyEnd, "the server closed in order (FIN), not with a reset");
        writer.join(5_000);
    }
}
