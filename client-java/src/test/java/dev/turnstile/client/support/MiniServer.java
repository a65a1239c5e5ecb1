package dev.turnstile.client.support;

import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.Secrets;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.LeaseStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;

/**
 * A {@link ScriptedServer.Script} that answers like a small, obliging appliance: grants every
 * checkout (a reclaim gets its own id back), answers heartbeats with a per-lease code chosen by
 * the test, confirms checkins and goodbyes. Tests change its behaviour through the volatile
 * fields and read what the client sent from {@link #log}.
 */
public final class MiniServer implements ScriptedServer.Script {

    /** Answers one CHECKOUT; returns the answer to send, or null to send nothing (now). */
    @FunctionalInterface
    public interface CheckoutHandler {
        Message answer(Peer peer, int correlationId, Checkout checkout) throws Exception;
    }

    public final String name;
    public volatile Message.Welcome welcome;
    public volatile CheckoutHandler onCheckout;
    public volatile ToIntFunction<UUID> heartbeatCode = id -> 0;
    /** Every frame the client sent after HELLO, in order, over all connections. */
    public final List<Envelope> log = new CopyOnWriteArrayList<>();
    /** The raw bytes of every frame in {@link #log}, same order. */
    public final List<byte[]> rawLog = new CopyOnWriteArrayList<>();
    /** The highest protocol version this server speaks: 2 (protocol 1.1, the default) or 1 (a 1.0 server). */
    public volatile int maxVersion = Preamble.VERSION_1_1;
    /**
     * The reclaim secret of every lease granted over protocol 1.1, by lease id. On a 1.1 connection, a
     * RECLAIM or CHECKIN of a lease in here that does not present its secret is refused with
     * reclaimSecretMismatch. Servers that share one map act like a triad that replicates the secrets.
     */
    public volatile Map<UUID, byte[]> secrets = new ConcurrentHashMap<>();
    public final List<Message.Hello> hellos = new CopyOnWriteArrayList<>();
    public final Set<UUID> checkedIn = ConcurrentHashMap.newKeySet();
    private final AtomicReference<Peer> current = new AtomicReference<>();

    public MiniServer(String name, long heartbeatMs, long leaseTimeoutMs) {
        this.name = name;
        this.welcome = Peer.welcome(name, heartbeatMs, leaseTimeoutMs, List.of());
        this.onCheckout = (p, corr, c) -> grant(name, c, welcome.leaseTimeoutMs());
    }

    /** A GRANTED for {@code c} with a lease timeout of 1 s: the reclaimed id for a RECLAIM, a new one otherwise. */
    public static Granted grant(String server, Checkout c) {
        return grant(server, c, 1000);
    }

    /**
     * A GRANTED for {@code c} with the lease timeout {@code leaseTimeoutMs} and a reclaim secret (written
     * on a 1.1 connection only): a reclaim echoes the one presented, a new lease (or a reclaim that
     * presented none) gets a fresh one.
     */
    public static Granted grant(String server, Checkout c, long leaseTimeoutMs) {
        UUID id = c.reclaim() ? c.reclaimLeaseId() : UUID.randomUUID();
        byte[] secret = c.reclaim() && c.presentedSecret() != null ? c.presentedSecret() : Secrets.fresh();
        return new Granted(id, "ent-" + server, c.product(), c.quantity(), leaseTimeoutMs, 0, 0,
                c.reclaim() ? Granted.FLAG_RECLAIMED : 0, secret);
    }

    /** True when the lease has no recorded secret (1.0 rules), or {@code presented} is it. */
    private boolean proves(UUID id, byte[] presented) {
        byte[] known = secrets.get(id);
        return known == null || (presented != null && java.security.MessageDigest.isEqual(known, presented));
    }

    /** The connection most recently welcomed. */
    public Peer peer() {
        return current.get();
    }

    @Override
    public void run(Peer p, int index) throws Exception {
        Envelope hello = p.handshake(welcome, maxVersion);
        hellos.add((Message.Hello) hello.message());
        current.set(p);
        while (true) {
            Envelope e = p.read();
            if (e == null) {
                return;
            }
            log.add(e);
            rawLog.add(p.lastFrame());
            Message m = e.message();
            boolean v11 = p.version() >= Preamble.VERSION_1_1;
            if (m instanceof Checkout c) {
                Message a;
                if (v11 && c.reclaim() && !proves(c.reclaimLeaseId(), c.presentedSecret())) {
                    a = new Message.Denied(ErrorCode.RECLAIM_SECRET_MISMATCH, "the reclaim did not prove ownership");
                } else {
                    a = onCheckout.answer(p, e.correlationId(), c);
                }
                if (a instanceof Granted g && v11 && g.reclaimSecret() != null) {
                    secrets.put(g.leaseId(), g.reclaimSecret());
                }
                if (a != null) {
                    p.send(e.correlationId(), a);
                }
            } else if (m instanceof Message.Heartbeat h) {
                List<LeaseStatus> rs = new ArrayList<>();
                for (UUID id : h.leaseIds()) {
                    int code = heartbeatCode.applyAsInt(id);
                    rs.add(new LeaseStatus(id, code, code == 0 ? welcome.leaseTimeoutMs() : 0));
                }
                p.send(e.correlationId(), new Message.HeartbeatResult(rs));
            } else if (m instanceof Message.Checkin c) {
                if (v11 && c.presentedSecret() != null && !proves(c.leaseId(), c.presentedSecret())) {
                    p.send(e.correlationId(), new Message.Error(ErrorCode.RECLAIM_SECRET_MISMATCH, "not the owner"));
                    continue;
                }
                checkedIn.add(c.leaseId());
                p.send(e.correlationId(), new Message.CheckedIn(c.leaseId()));
            } else if (m instanceof Message.Goodbye) {
                p.send(e.correlationId(), new Message.Goodbye(0, "bye"));
                return;
            }
        }
    }

    /** The client's frames of type {@code type} that match {@code p}, in order. */
    public <T extends Message> List<T> sent(Class<T> type, Predicate<T> p) {
        List<T> out = new ArrayList<>();
        for (Envelope e : log) {
            if (type.isInstance(e.message()) && p.test(type.cast(e.message()))) {
                out.add(type.cast(e.message()));
            }
        }
        return out;
    }

    /** The RECLAIM checkouts the client sent. */
    public List<Checkout> reclaims() {
        return sent(Checkout.class, Checkout::reclaim);
    }
}
