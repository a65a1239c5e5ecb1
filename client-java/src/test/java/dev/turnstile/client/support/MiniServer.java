package dev.turnstile.client.support;

import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.LeaseStatus;
import java.util.ArrayList;
import java.util.List;
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

    /** A GRANTED for {@code c} with the lease timeout {@code leaseTimeoutMs}. */
    public static Granted grant(String server, Checkout c, long leaseTimeoutMs) {
        UUID id = c.reclaim() ? c.reclaimLeaseId() : UUID.randomUUID();
        return new Granted(id, "ent-" + server, c.product(), c.quantity(), leaseTimeoutMs, 0, 0,
                c.reclaim() ? Granted.FLAG_RECLAIMED : 0);
    }

    /** The connection most recently welcomed. */
    public Peer peer() {
        return current.get();
    }

    @Override
    public void run(Peer p, int index) throws Exception {
        Envelope hello = p.handshake(welcome);
        hellos.add((Message.Hello) hello.message());
        current.set(p);
        while (true) {
            Envelope e = p.read();
            if (e == null) {
                return;
            }
            log.add(e);
            Message m = e.message();
            if (m instanceof Checkout c) {
                Message a = onCheckout.answer(p, e.correlationId(), c);
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
