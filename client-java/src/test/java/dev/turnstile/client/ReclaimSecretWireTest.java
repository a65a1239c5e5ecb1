package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.client.support.Await;
import dev.turnstile.client.support.MiniServer;
import dev.turnstile.client.support.RecordingListener;
import dev.turnstile.client.support.ScriptedServer;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.Secrets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Protocol 1.1 in the SDK (issue 12, "proof of ownership"): the client offers versions 1..2, waits
 * for the server's choice, speaks it, keeps the reclaim secret of GRANTED in its token and
 * presents it in every RECLAIM; against a 1.0 server it speaks 1.0 byte for byte. The secret never
 * reaches a log line or a text.
 */
class ReclaimSecretWireTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private final RecordingListener events = new RecordingListener();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeAfter.size() - 1; i >= 0; i--) {
            closeAfter.get(i).close();
        }
    }

    private ScriptedServer server(ScriptedServer.Script script) throws Exception {
        ScriptedServer s = new ScriptedServer(script);
        closeAfter.add(s);
        return s;
    }

    private TurnstileClientBuilder builder(String... servers) {
        return TurnstileClient.builder().servers(servers).clientId("wire-11").hwId("hw-1").clientVersion("1.0.0")
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(3))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), 0.2).listener(events);
    }

    private TurnstileClientImpl client(TurnstileClientBuilder b) {
        TurnstileClientImpl c = (TurnstileClientImpl) b.build();
        closeAfter.add(c);
        return c;
    }

    /** The client's frames that are RECLAIM checkouts, as raw bytes, with their decoding. */
    private static List<byte[]> rawReclaims(MiniServer m) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < m.log.size(); i++) {
            if (m.log.get(i).message() instanceof Checkout c && c.reclaim()) {
                out.add(m.rawLog.get(i));
            }
        }
        return out;
    }

    private static int correlationId(byte[] frame) {
        return ((frame[6] & 0xFF) << 24) | ((frame[7] & 0xFF) << 16) | ((frame[8] & 0xFF) << 8) | (frame[9] & 0xFF);
    }

    @Test
    void the_client_offers_versions_1_to_2_and_sends_hello_only_after_the_server_has_chosen() throws Exception {
        // GIVEN a 1.1 server that looks at what arrives before it answers the preamble
        List<byte[]> preambles = new CopyOnWriteArrayList<>();
        List<Integer> aheadOfChoice = new CopyOnWriteArrayList<>();
        List<byte[]> checkouts = new CopyOnWriteArrayList<>();
        byte[] secret = Secrets.fresh();
        ScriptedServer s = server((p, i) -> {
            preambles.add(p.readPreamble());
            Thread.sleep(150); // a client that does not wait would have sent HELLO by now
            aheadOfChoice.add(p.available());
            p.sendPreamble(Preamble.VERSION_1_1);
            Envelope hello = p.read();
            p.send(hello.correlationId(), MiniServerWelcome.WELCOME);
            Envelope co = p.read();
            checkouts.add(p.lastFrame());
            Checkout c = (Checkout) co.message();
            p.send(co.correlationId(), new Granted(UUID.randomUUID(), "ent", c.product(), 1, 60_000, 0, 0, 0, secret));
            while (p.read() != null) {
                // keep the connection until the client leaves
            }
        });
        TurnstileClientImpl client = client(builder(s.address()));
        // WHEN it connects and checks out
        Lease lease = client.checkout("cad");
        // THEN its preamble offered 1..2 ("TSTL", min 1, max 2), and nothing followed before the server's choice
        assertEquals("54 53 54 4c 01 02 00 00", hexSpaced(preambles.get(0)));
        assertEquals(List.of(0), aheadOfChoice);
        // AND its CHECKOUT was a version 2 frame: the version 1 body plus 32 zero bytes (no reclaim, no secret)
        byte[] raw = checkouts.get(0);
        Checkout sent = (Checkout) Codec.decode(raw, dev.turnstile.protocol.MessageType.Sender.CLIENT, 2).message();
        byte[] v1 = Codec.encode(correlationId(raw), sent, Preamble.VERSION_1);
        assertEquals(v1.length + Limits.RECLAIM_SECRET, raw.length);
        assertArrayEquals(new byte[Limits.RECLAIM_SECRET], Arrays.copyOfRange(raw, v1.length, raw.length));
        // AND the secret of GRANTED is in the lease's token
        assertArrayEquals(secret, client.tokenManager().get(lease.id()).orElseThrow().reclaimSecret());
    }

    /** A WELCOME for hand-written scripts. */
    private static final class MiniServerWelcome {
        static final Message.Welcome WELCOME = dev.turnstile.client.support.Peer.welcome("scripted", 600_000, 60_000,
                List.of());
    }

    private static String hexSpaced(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    @Test
    void the_secret_granted_is_kept_with_the_token_and_presented_in_the_reclaim_after_a_failover() throws Exception {
        // GIVEN two 1.1 servers that share their leases' secrets (as a triad replicates them)
        MiniServer a = new MiniServer("a", 100, 5_000);
        MiniServer b = new MiniServer("b", 100, 5_000);
        b.secrets = a.secrets;
        ScriptedServer sa = server(a);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        Lease lease = client.checkout("cad");
        byte[] granted = a.secrets.get(lease.id());
        assertNotNull(granted, "a granted the lease with a secret");
        assertArrayEquals(granted, client.tokenManager().get(lease.id()).orElseThrow().reclaimSecret());
        // WHEN the first server dies
        sa.close();
        // THEN the client reclaims on the second, presenting the secret: its RECLAIM is exactly the version 2
        // encoding of CHECKOUT(RECLAIM, lease id, secret)
        Await.until("the lease moved", () -> events.moved.size() == 1);
        byte[] raw = rawReclaims(b).get(0);
        Checkout expected = new Checkout("cad", "", 1, lease.enforcement().code(), Checkout.FLAG_RECLAIM, 0,
                lease.id(), granted);
        assertArrayEquals(Codec.encode(correlationId(raw), expected, Preamble.VERSION_1_1), raw);
        assertArrayEquals(granted, Arrays.copyOfRange(raw, raw.length - Limits.RECLAIM_SECRET, raw.length));
        // AND the token keeps the secret GRANTED echoed
        assertArrayEquals(granted, client.tokenManager().get(lease.id()).orElseThrow().reclaimSecret());
        assertEquals(List.of(lease), client.leases());
    }

    @Test
    void a_restarted_program_presents_the_secret_stored_in_its_token_file() throws Exception {
        // GIVEN a program that checked out from a 1.1 server and died without GOODBYE, its token in a file
        MiniServer a = new MiniServer("a", 100, 5_000);
        ScriptedServer sa = server(a);
        Path file = dir.resolve("tokens.properties");
        TurnstileClientImpl first = client(builder(sa.address()).withTokenManager(new FileTokenManager(file)));
        Lease lease = first.checkout("cad");
        byte[] granted = a.secrets.get(lease.id());
        first.abandon();
        // WHEN the program starts again with the same file
        TurnstileClientImpl second = client(builder(sa.address()).withTokenManager(new FileTokenManager(file)));
        second.connect();
        // THEN its RECLAIM presents the secret from the file, and the lease is restored
        Await.until("leaseRestored", () -> events.restored.size() == 1);
        byte[] raw = rawReclaims(a).get(0);
        assertArrayEquals(granted, Arrays.copyOfRange(raw, raw.length - Limits.RECLAIM_SECRET, raw.length));
        assertEquals(List.of(lease.id()), second.leases().stream().map(Lease::id).toList());
    }

    @Test
    void a_reclaim_refused_with_reclaimSecretMismatch_loses_the_lease_and_drops_its_token() throws Exception {
        // GIVEN a second server that knows the lease with another secret (the client cannot prove ownership)
        MiniServer a = new MiniServer("a", 100, 5_000);
        MiniServer b = new MiniServer("b", 100, 5_000);
        ScriptedServer sa = server(a);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        Lease lease = client.checkout("cad");
        b.secrets = new ConcurrentHashMap<>(Map.of(lease.id(), Secrets.fresh()));
        // WHEN the first server dies and the client reclaims on the second
        sa.close();
        // THEN the reclaim is denied with reclaimSecretMismatch, the lease is lost with it and its token dropped
        Await.until("leaseLost reclaimSecretMismatch",
                () -> events.lostWith(lease.id(), ErrorCode.RECLAIM_SECRET_MISMATCH));
        Await.until("connected to b", () -> client.state() == TurnstileClient.State.CONNECTED);
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
    }

    @Test
    void with_automatic_invalidation_disabled_a_reclaimSecretMismatch_keeps_the_token() throws Exception {
        MiniServer a = new MiniServer("a", 100, 5_000);
        MiniServer b = new MiniServer("b", 100, 5_000);
        ScriptedServer sa = server(a);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()).tokenAutomaticInvalidationDisabled(true));
        Lease lease = client.checkout("cad");
        b.secrets = new ConcurrentHashMap<>(Map.of(lease.id(), Secrets.fresh()));
        sa.close();
        Await.until("leaseLost reclaimSecretMismatch",
                () -> events.lostWith(lease.id(), ErrorCode.RECLAIM_SECRET_MISMATCH));
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void against_a_1_0_server_the_client_speaks_protocol_1_0_byte_for_byte() throws Exception {
        // GIVEN two servers that speak only version 1 (protocol 1.0)
        MiniServer a = new MiniServer("a", 100, 5_000);
        MiniServer b = new MiniServer("b", 100, 5_000);
        a.maxVersion = Preamble.VERSION_1;
        b.maxVersion = Preamble.VERSION_1;
        ScriptedServer sa = server(a);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        // WHEN the client checks out on the first and fails over to the second
        Lease lease = client.checkout("cad");
        assertFalse(client.tokenManager().get(lease.id()).orElseThrow().hasReclaimSecret(), "1.0 grants no secret");
        sa.close();
        Await.until("the lease moved", () -> events.moved.size() == 1);
        // THEN every frame it sent is the version 1 encoding of what it means (no secret field anywhere)
        for (MiniServer m : List.of(a, b)) {
            for (int i = 0; i < m.log.size(); i++) {
                byte[] raw = m.rawLog.get(i);
                Envelope e = m.log.get(i);
                assertArrayEquals(Codec.encode(e.correlationId(), e.message(), Preamble.VERSION_1), raw,
                        e.message().type().toString());
            }
        }
        byte[] reclaim = rawReclaims(b).get(0);
        Checkout expected = new Checkout("cad", "", 1, lease.enforcement().code(), Checkout.FLAG_RECLAIM, 0, lease.id());
        assertArrayEquals(Codec.encode(correlationId(reclaim), expected, Preamble.VERSION_1), reclaim);
    }

    @Test
    void the_secret_never_appears_in_a_log_line_an_event_or_an_exception() throws Exception {
        // GIVEN every log line of the SDK captured, at DEBUG
        Logger root = (Logger) LoggerFactory.getLogger("dev.turnstile");
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        try {
            // WHEN a lease is granted, moved with its secret, then refused on a third server that knows another
            MiniServer a = new MiniServer("a", 100, 5_000);
            MiniServer b = new MiniServer("b", 100, 5_000);
            MiniServer c = new MiniServer("c", 100, 5_000);
            b.secrets = a.secrets;
            ScriptedServer sa = server(a);
            ScriptedServer sb = server(b);
            ScriptedServer sc = server(c);
            TurnstileClientImpl client = client(builder(sa.address(), sb.address(), sc.address()));
            Lease lease = client.checkout("cad");
            byte[] secret = a.secrets.get(lease.id());
            sa.close();
            Await.until("moved to b", () -> events.moved.size() == 1);
            c.secrets = new ConcurrentHashMap<>(Map.of(lease.id(), Secrets.fresh()));
            sb.close();
            Await.until("lost on c", () -> events.lostWith(lease.id(), ErrorCode.RECLAIM_SECRET_MISMATCH));
            TurnstileException refused = null;
            try {
                client.checkin(lease.id());
            } catch (TurnstileException e) {
                refused = e;
            }
            // THEN no log line, argument, exception text or listener event shows the secret in any usual spelling
            List<String> forms = List.of(HexFormat.of().formatHex(secret), HexFormat.of().withUpperCase().formatHex(secret),
                    Base64.getEncoder().encodeToString(secret), Base64.getUrlEncoder().withoutPadding().encodeToString(secret),
                    Arrays.toString(secret));
            List<String> texts = new ArrayList<>();
            for (ILoggingEvent e : logs.list) {
                texts.add(e.getFormattedMessage());
                for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause()) {
                    texts.add(t.getMessage());
                }
            }
            texts.addAll(events.events);
            texts.add(client.tokenManager().toString());
            texts.add(String.valueOf(refused));
            assertTrue(logs.list.size() > 10, "the log was captured: " + logs.list.size());
            for (String t : texts) {
                for (String f : forms) {
                    assertFalse(t != null && t.contains(f), "a secret in: " + t);
                }
            }
        } finally {
            root.detachAppender(logs);
        }
    }
}
