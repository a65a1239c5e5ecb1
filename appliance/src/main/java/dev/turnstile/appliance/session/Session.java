package dev.turnstile.appliance.session;

import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.appliance.authority.CheckoutResult;
import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.NoticeKind;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import dev.turnstile.protocol.Secrets;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: a state machine with a single switch on message type (vertx-mqtt's
 * connection style). Runs only on its socket's event loop; other threads reach it through
 * {@link #runOnContext(Runnable)}.
 *
 * <p>Reading follows vertx-pg-client's decoder: nothing is dispatched until the whole frame is
 * present, and a length prefix over the limit is refused as soon as its four bytes arrive, so a
 * client can never make the server buffer more than one frame, and memory for a frame grows only
 * as its bytes actually arrive.
 */
public final class Session {
    private static final Logger LOG = LoggerFactory.getLogger(Session.class);
    private static final long HARD_CLOSE_AFTER_MS = 2_000;

    enum State { PREAMBLE, HELLO, READY, CLOSED }

    private final SessionServices services;
    private final NetSocket socket;
    private final Context context;
    private final long id;
    private final String remoteAddress;
    private final long openedAtMs;

    // limits: volatile so the admission of another event loop can judge this session as an eviction candidate
    private volatile State state = State.PREAMBLE;
    private volatile long lastActivityMs;
    private SessionLimits.Slot slot;
    private long closeDeadlineMs;
    private Buffer pending = Buffer.buffer(0);
    private int readPos;
    private boolean ownsPending;
    private long partialSinceMs;
    private long pausedSinceMs;
    private long closingSinceMs;
    private ClientRef client;
    private String clientVersion = "";
    private String closeReason = "client closed the connection";
    // pipeline: the answers of the requests in flight, in the order the requests came (PROTOCOL.md 5.3). Empty
    // while every decision is immediate (a single appliance); a triad's decisions wait for their commit here.
    private final ArrayDeque<Answer> answers = new ArrayDeque<>();
    // pipeline: up to this many requests in flight; at the limit reading stops (the socket is paused)
    private final int maxInFlight;
    private boolean pipelineFull;
    // pipeline: GOODBYE received: nothing more is read; the goodbye is answered in its turn, then the socket closed
    private boolean goodbyeReceived;
    // pipeline: whether a request is in flight (read by other loops judging eviction candidates)
    private volatile boolean awaiting;
    // secret: the negotiated protocol version (PROTOCOL.md 4.1); 2 = protocol 1.1, whose GRANTED carries a reclaim secret
    private int version = Preamble.VERSION_1;
    // secret: the plain secrets of this session's QUEUED checkouts, by the lease id their GRANTED will carry; kept
    // only until the final answer (the ledger holds their hashes)
    private final java.util.HashMap<UUID, QueuedSecret> queuedSecrets = new java.util.HashMap<>();

    private record QueuedSecret(int corr, byte[] secret) {
        @Override
        public String toString() {
            return "QueuedSecret[corr=" + corr + ", secret=***]";
        }
    }

    Session(SessionServices services, NetSocket socket, Context context, long id, long nowMs) {
        this.services = services;
        this.socket = socket;
        this.context = context;
        this.id = id;
        this.remoteAddress = String.valueOf(socket.remoteAddress());
        this.openedAtMs = nowMs;
        this.lastActivityMs = nowMs;
        this.maxInFlight = Math.max(1, services.maxInFlight());
    }

    public long id() {
        return id;
    }

    public ClientRef client() {
        return client;
    }

    public String remoteAddress() {
        return remoteAddress;
    }

    public String clientVersion() {
        return clientVersion;
    }

    public long openedAtMs() {
        return openedAtMs;
    }

    boolean ready() {
        return state == State.READY;
    }

    // ------------------------------------------------------------------ limits (SessionLimits); any thread

    /** Its place under the limits; set once, before {@link #start()}. */
    void slot(SessionLimits.Slot slot) {
        this.slot = slot;
    }

    /** When a byte last arrived from the client (or the connection opened). */
    long lastActivityMs() {
        return lastActivityMs;
    }

    boolean beforeHello() {
        State s = state;
        return s == State.PREAMBLE || s == State.HELLO;
    }

    /** Past HELLO, no request in flight: a candidate for eviction if it also holds nothing. */
    boolean readyAndQuiet() {
        return state == State.READY && !awaiting;
    }

    boolean open() {
        return state != State.CLOSED;
    }

    /** Holds a lease or waits in a queue: never evicted for a newcomer. */
    boolean holdsAnything() {
        return services.ledger().holdingsOf(id) > 0;
    }

    /** The state's name for {@code turnstile_connections_by_state}: preamble, hello, ready or closing. */
    String stateLabel() {
        return switch (state) {
            case PREAMBLE -> "preamble";
            case HELLO -> "hello";
            case READY -> "ready";
            case CLOSED -> "closing";
        };
    }

    private SessionLimits limits() {
        return services.registry().limits();
    }

    void start() {
        socket.handler(this::onData);
        socket.closeHandler(v -> onClosed());
        socket.exceptionHandler(e -> {
            closeReason = "socket error: " + e.getMessage();
            LOG.debug("session {}: {}", id, closeReason);
        });
    }

    /** Runs {@code task} on this session's event loop. Safe from any thread. */
    public void runOnContext(Runnable task) {
        context.runOnContext(v -> task.run());
    }

    // ------------------------------------------------------------------ reading

    private void onData(Buffer data) {
        if (state == State.CLOSED) {
            return;
        }
        lastActivityMs = services.nowMs();
        if (readPos == pending.length()) {
            pending = data;
            readPos = 0;
            ownsPending = false;
        } else {
            if (!ownsPending || readPos > 0) {
                // Keep only the unread tail, in a buffer of our own that grows as bytes arrive.
                int tail = pending.length() - readPos;
                Buffer b = Buffer.buffer(tail + data.length());
                b.appendBuffer(pending, readPos, tail);
                pending = b;
                readPos = 0;
                ownsPending = true;
            }
            pending.appendBuffer(data);
        }
        try {
            drain();
        } catch (ProtocolException e) {
            violation(e);
            return;
        } catch (RuntimeException e) {
            // A bug must cost at most this one session, never the event loop or other clients.
            LOG.error("session {} (client={}): internal error, closing", id, client == null ? "-" : client.clientId(), e);
            fail(ErrorCode.INTERNAL_ERROR, "internal error");
            return;
        }
        partialSinceMs = readPos < pending.length() ? (partialSinceMs == 0 ? services.nowMs() : partialSinceMs) : 0;
        bufferedChanged();
    }

    /** Tells the limits how many bytes this session buffers for frames not yet read (the memory budget). */
    private void bufferedChanged() {
        if (state != State.CLOSED) {
            limits().partialBytes(slot, pending.length() - readPos);
        }
    }

    private void drain() throws ProtocolException {
        while (state != State.CLOSED && !goodbyeReceived) {
            if (answers.size() >= maxInFlight) { // pipeline: full; reading goes on once an answer is written
                pipelineFull = true;
                if (pausedSinceMs == 0) {
                    socket.pause();
                }
                return;
            }
            int available = pending.length() - readPos;
            if (state == State.PREAMBLE) {
                // Refuse a wrong peer (HTTP client, port scanner) in its first bytes.
                for (int i = 0; i < Math.min(available, 4); i++) {
                    if (pending.getByte(readPos + i) != Preamble.MAGIC[i]) {
                        LOG.info("session {} from {}: not a Turnstile client (bad preamble), closed", id, remoteAddress);
                        closeReason = "bad preamble";
                        closeNow();
                        return;
                    }
                }
                if (available < Preamble.LENGTH) {
                    return;
                }
                byte[] p = pending.getBytes(readPos, readPos + Preamble.LENGTH);
                readPos += Preamble.LENGTH;
                int version = Preamble.negotiate(Preamble.minVersion(p, 0), Preamble.maxVersion(p, 0));
                socket.write(Buffer.buffer(Preamble.server(version)));
                if (version == Preamble.NO_COMMON_VERSION) {
                    LOG.info("session {} from {}: no common protocol version (client offers {}..{}), closed", id,
                            remoteAddress, Preamble.minVersion(p, 0), Preamble.maxVersion(p, 0));
                    closeReason = "no common protocol version";
                    closeNow();
                    return;
                }
                this.version = version; // secret: fixed for the connection
                state = State.HELLO;
                continue;
            }
            if (available < Limits.LENGTH_PREFIX) {
                return;
            }
            int length = Codec.checkLength(pending.getUnsignedInt(readPos));
            if (available < Limits.LENGTH_PREFIX + length) {
                return;
            }
            byte[] frame = pending.getBytes(readPos, readPos + Limits.LENGTH_PREFIX + length);
            readPos += Limits.LENGTH_PREFIX + length;
            Envelope env;
            try {
                env = Codec.decode(frame, MessageType.Sender.CLIENT, version);
            } catch (ProtocolException e) {
                if (e.closesConnection()) {
                    throw e;
                }
                // Survivable (unknownMessageType, invalidQuantity): answer and read on.
                send(e.correlationId(), e.code() == ErrorCode.INVALID_QUANTITY && frame[4] == MessageType.CHECKOUT.code()
                        ? new Message.Denied(e.code().code(), 0, "", e.getMessage())
                        : new Message.Error(e.code(), e.getMessage()));
                continue;
            }
            dispatch(env.correlationId(), env.message());
        }
    }

    private void dispatch(int corr, Message m) throws ProtocolException {
        if (!m.type().sentByClient()) {
            throw new ProtocolException(ErrorCode.UNEXPECTED_MESSAGE, corr,
                    m.type() + " is sent by servers only (PROTOCOL.md section 6.1)");
        }
        if (state == State.HELLO && m.type() != MessageType.HELLO) {
            throw new ProtocolException(ErrorCode.UNEXPECTED_MESSAGE, corr,
                    "the first frame must be HELLO, got " + m.type() + " (PROTOCOL.md section 5.1)");
        }
        switch (m.type()) {
            case HELLO -> onHello(corr, (Message.Hello) m);
            case CHECKOUT -> onCheckout(corr, (Message.Checkout) m);
            case HEARTBEAT -> onHeartbeat(corr, (Message.Heartbeat) m);
            case CHECKIN -> onCheckin(corr, (Message.Checkin) m);
            case GOODBYE -> onGoodbye(corr);
            default -> throw new ProtocolException(ErrorCode.UNEXPECTED_MESSAGE, corr, "unexpected " + m.type());
        }
    }

    // ------------------------------------------------------------------ messages

    private void onHello(int corr, Message.Hello h) throws ProtocolException {
        if (state != State.HELLO) {
            throw new ProtocolException(ErrorCode.UNEXPECTED_MESSAGE, corr,
                    "HELLO was already received on this connection (PROTOCOL.md section 5.1)");
        }
        // limits: an address that failed too often waits; its HELLOs are refused without looking at the token
        long backoff = services.clientPolicy().requiresToken() && slot != null ? limits().authWaitMs(slot, services.nowMs()) : 0;
        if (backoff > 0) {
            limits().authBackoffRefused();
            LOG.debug("session {} from {}: HELLO refused unchecked, the address is in authentication back-off for {} ms",
                    id, remoteAddress, backoff);
            closeReason = "authentication back-off";
            closeTold(new Message.Goodbye(ErrorCode.SERVER_BUSY.code(),
                    "too many failed HELLOs from this address; retry in " + backoff + " ms"));
            return;
        }
        if (services.clientPolicy().requiresToken() && !services.clientPolicy().tokenMatches(h.authToken())) {
            long wait = slot == null ? 0 : limits().authFailed(slot, services.nowMs());
            if (wait > 0) {
                LOG.warn("authentication back-off: HELLOs from {} are refused for {} ms after repeated failures",
                        slot.address(), wait);
            }
            refuseHello(corr, h, ErrorCode.AUTHENTICATION_FAILED, "auth_token missing or wrong");
            return;
        }
        if (h.clientVersion().isEmpty()) {
            refuseHello(corr, h, ErrorCode.CLIENT_VERSION_MISSING, "HELLO carries no client_version");
            return;
        }
        if (!services.clientPolicy().versionAllowed(h.clientVersion())) {
            refuseHello(corr, h, ErrorCode.CLIENT_VERSION_NOT_ALLOWED,
                    "client_version " + h.clientVersion() + " is not allowed by this server");
            return;
        }
        client = new ClientRef(id, h.clientId(), h.hwId(), remoteAddress);
        clientVersion = h.clientVersion();
        state = State.READY;
        services.registry().ready(this);
        send(corr, services.welcome());
        LOG.info("session {} opened: client={} hw={} version={} from {}", id, h.clientId(), h.hwId(),
                h.clientVersion(), remoteAddress);
    }

    private void refuseHello(int corr, Message.Hello h, ErrorCode code, String why) {
        LOG.info("session {} refused: client={} hw={} version={} from {}: {} ({})", id, h.clientId(), h.hwId(),
                h.clientVersion(), remoteAddress, code, why);
        closeReason = code.wireName();
        send(corr, new Message.Error(code, why));
        closeNow();
    }

    private void onCheckout(int corr, Message.Checkout c) {
        if (services.draining()) {
            denyBeforeLedger(corr, c, ErrorCode.DRAINING, "server is draining; connect to another server");
            return;
        }
        ErrorCode refusal = services.checkoutRefusal();
        if (refusal != null) {
            denyBeforeLedger(corr, c, refusal, services.checkoutRefusalMessage());
            return;
        }
        UUID newId = new UUID(ThreadLocalRandom.current().nextLong(), ThreadLocalRandom.current().nextLong());
        // secret: protocol 1.1 draws this checkout's secret now; the ledger gets only hashes (PROTOCOL.md 10.6)
        CheckoutSecrets secrets = CheckoutSecrets.of(version, corr, c);
        CheckoutCommand cmd = new CheckoutCommand(client, corr, c.product(), c.licenseKey(), c.quantity(),
                c.enforcement(), c.waitForSeat(), c.waitTimeoutMs(), c.reclaim() ? c.reclaimLeaseId() : null, newId,
                services.nowMs(), secrets.presentedHash(), secrets.freshHash());
        if (c.waitForSeat()) {
            // secret: kept before the decision, so a GRANTED of this queued checkout can never come before it
            keepForQueuedGrant(newId, secrets);
        }
        inTurn(services.authority().checkout(cmd), r -> {
            CheckoutOutcome out = r.outcome();
            if (out instanceof CheckoutOutcome.Granted g) {
                queuedSecrets.remove(newId);
                send(corr, granted(g.lease(), g.reclaimed(), secrets.forGrant(g.lease()), r.term(), r.logIndex()));
                if (g.reclaimed()) {
                    LOG.info("session {}: lease {} reclaimed by client={} hw={}{}", id, g.lease().leaseId(),
                            client.clientId(), client.hwId(), r.term() == 0 ? "" : " (term " + r.term() + ")");
                }
            } else if (out instanceof CheckoutOutcome.Queued q) {
                send(corr, new Message.Queued(q.position(), q.waitTimeoutMs()));
            } else {
                queuedSecrets.remove(newId);
                deny(corr, c, (CheckoutOutcome.Denied) out, "");
            }
        }, refused -> {
            queuedSecrets.remove(newId);
            deny(corr, c, new CheckoutOutcome.Denied(refused.code(), refused.getMessage()), refused.leader());
        });
    }

    /**
     * A refusal decided here, before the ledger (draining, licenseExpired): journaled like the ledger's
     * own denials so the usage journal and the denial metrics count it too. Answered in its turn.
     */
    private void denyBeforeLedger(int corr, Message.Checkout c, ErrorCode code, String message) {
        services.journal(new LedgerEvent(LedgerEvent.Kind.DENIAL, services.nowMs(), null, "", c.product(),
                id, client.clientId(), client.hwId(), c.quantity(), code, 0, 0));
        CheckoutOutcome.Denied d = new CheckoutOutcome.Denied(code, message);
        inTurn(Future.succeededFuture(d), denied -> deny(corr, c, denied, ""), refused -> { });
    }

    private void deny(int corr, Message.Checkout c, CheckoutOutcome.Denied d, String leader) {
        LOG.info("checkout denied: session={} client={} hw={} product={} quantity={} code={} ({})", id,
                client.clientId(), client.hwId(), c.product(), c.quantity(), d.code(), d.message());
        send(corr, new Message.Denied(d.code().code(), 0, leader, d.message()));
    }

    Message.Granted granted(LeaseView l, boolean reclaimed, byte[] secret, long term, long logIndex) {
        return new Message.Granted(l.leaseId(), l.entitlementId(), l.productId(), l.quantity(),
                services.leaseTimeoutMs(), term, logIndex, reclaimed ? Message.Granted.FLAG_RECLAIMED : 0, secret);
    }

    // secret: a QUEUED checkout's secret waits here for its GRANTED (or is dropped with its DENIED)
    private void keepForQueuedGrant(UUID newLeaseId, CheckoutSecrets secrets) {
        if (secrets.fresh() != null) {
            queuedSecrets.put(newLeaseId, new QueuedSecret(secrets.corr(), secrets.fresh()));
        }
    }

    private void onHeartbeat(int corr, Message.Heartbeat h) {
        if (LOG.isDebugEnabled()) {
            LOG.debug("session {}: heartbeat for {} leases", id, h.leaseIds().size());
        }
        if (h.leaseIds().isEmpty()) {
            inTurn(Future.succeededFuture(List.<Message.LeaseStatus>of()),
                    results -> send(corr, new Message.HeartbeatResult(results)), refused -> { });
            return;
        }
        // pipeline: a heartbeat reads the ledger, so it is decided after the requests before it (a CHECKIN in
        // flight decides whether the lease is still held)
        afterEarlier(() -> services.authority().heartbeat(client, h.leaseIds(), services.nowMs()),
                results -> send(corr, new Message.HeartbeatResult(results)),
                refused -> send(corr, new Message.Error(refused.code(), refused.getMessage())));
    }

    private void onCheckin(int corr, Message.Checkin c) {
        // secret: the proof for an ORPHANED lease of another connection (PROTOCOL.md 10.5)
        byte[] presented = c.presentedSecret();
        SecretHash proof = presented == null ? null : SecretHash.of(presented);
        inTurn(services.authority().checkin(client, c.leaseId(), proof, services.nowMs()), d -> {
            if (d.ok()) {
                send(corr, new Message.CheckedIn(c.leaseId()));
            } else {
                send(corr, new Message.Error(d.code(), "lease " + c.leaseId() + ": " + d.code().wireName()));
            }
        }, refused -> send(corr, new Message.Error(refused.code(), "lease " + c.leaseId() + ": " + refused.getMessage())));
    }

    private void onGoodbye(int corr) {
        goodbyeReceived = true; // nothing after GOODBYE is read
        Future<Integer> released = client == null ? Future.succeededFuture(0)
                : services.authority().releaseAll(client, services.nowMs());
        inTurn(released, n -> {
            closeReason = "client said goodbye (" + n + " leases checked in)";
            send(corr, new Message.Goodbye(0, "goodbye"));
            closeNow();
        }, refused -> {
            closeReason = "client said goodbye (checkin not committed: " + refused.code().wireName() + ")";
            send(corr, new Message.Goodbye(0, "goodbye"));
            closeNow();
        });
    }

    // ------------------------------------------------------------------ pipeline: answers in the order of requests

    /** One request's answer: written when its decision is known and every earlier answer is written. */
    private static final class Answer {
        Runnable write;
        Runnable deferred;
    }

    /**
     * Answers a request whose decision is {@code decision}, in its turn (PROTOCOL.md 5.3): at once when it is
     * decided and nothing is in flight before it (every request on a single appliance), else once it is
     * decided and the answers before it are written. Runs on this session's context; the authority completes
     * its futures there.
     */
    private <T> void inTurn(Future<T> decision, Consumer<T> decided, Consumer<AuthorityRefusal> refused) {
        if (answers.isEmpty() && decision.isComplete()) {
            answer(decision, decided, refused).run();
            return;
        }
        Answer a = new Answer();
        enqueue(a);
        decision.onComplete(ar -> {
            a.write = answer(ar, decided, refused);
            flush();
        });
    }

    /** A request decided only after the requests before it are answered (it reads what they change). */
    private <T> void afterEarlier(Supplier<Future<T>> decide, Consumer<T> decided, Consumer<AuthorityRefusal> refused) {
        if (answers.isEmpty()) {
            inTurn(decide.get(), decided, refused);
            return;
        }
        Answer a = new Answer();
        a.deferred = () -> decide.get().onComplete(ar -> {
            a.write = answer(ar, decided, refused);
            flush();
        });
        enqueue(a);
    }

    private void enqueue(Answer a) {
        answers.add(a);
        awaiting = true;
    }

    private <T> Runnable answer(AsyncResult<T> ar, Consumer<T> decided, Consumer<AuthorityRefusal> refused) {
        return () -> {
            if (state == State.CLOSED) {
                return;
            }
            if (ar.succeeded()) {
                decided.accept(ar.result());
                return;
            }
            AuthorityRefusal r = AuthorityRefusal.of(ar.cause());
            if (r == null) {
                LOG.warn("session {}: a seat decision failed", id, ar.cause());
                r = new AuthorityRefusal(ErrorCode.INTERNAL_ERROR, "", "internal error");
            }
            refused.accept(r);
        };
    }

    /** Writes the answers that are due, in order; then reads on if the pipeline had stopped reading. */
    private void flush() {
        while (!answers.isEmpty()) {
            Answer head = answers.peek();
            if (head.write == null) {
                if (head.deferred == null) {
                    break; // in flight
                }
                Runnable start = head.deferred;
                head.deferred = null;
                start.run(); // may complete at once, and flush (re-entrantly) what it can
                continue;
            }
            answers.poll();
            head.write.run();
        }
        awaiting = !answers.isEmpty();
        if (pipelineFull && answers.size() < maxInFlight && state != State.CLOSED) {
            pipelineFull = false;
            if (pausedSinceMs == 0) {
                socket.resume();
            }
            try {
                drain();
                partialSinceMs = readPos < pending.length() ? services.nowMs() : 0;
                bufferedChanged();
            } catch (ProtocolException e) {
                violation(e);
            } catch (RuntimeException e) {
                LOG.error("session {}: internal error, closing", id, e);
                fail(ErrorCode.INTERNAL_ERROR, "internal error");
            }
        }
    }

    /** A push that answers an earlier request (a queued checkout's final answer): after that request's answer. */
    private void sendInTurn(int corr, Message m) {
        if (answers.isEmpty()) {
            send(corr, m);
            return;
        }
        Answer a = new Answer();
        a.write = () -> send(corr, m);
        enqueue(a);
    }

    // ------------------------------------------------------------------ pushes from other threads

    /** A queued checkout got its seat (called on this session's context). */
    void deliverQueuedGrant(int corr, LeaseView lease) {
        QueuedSecret kept = queuedSecrets.remove(lease.leaseId()); // secret: drawn when it was queued
        byte[] secret = kept == null ? null : kept.secret();
        if (version >= Preamble.VERSION_1_1 && secret == null) {
            // Not expected: every 1.1 QUEUED keeps its secret. A fresh one keeps GRANTED well-formed (never zero),
            // but it does not match the ledger's hash, so this lease cannot be reclaimed: say so.
            LOG.warn("session {}: queued grant of lease {} found no kept reclaim secret; it will not be reclaimable",
                    id, lease.leaseId());
            secret = Secrets.fresh();
        }
        if (state == State.READY) {
            sendInTurn(corr, granted(lease, false, secret, services.authority().term(), services.authority().logIndex()));
        }
    }

    void deliverQueuedDenial(int corr, ErrorCode code, String message) {
        // secret: the denied waiter's secret is no longer needed (the ledger names the waiter by its request id)
        queuedSecrets.values().removeIf(q -> q.corr() == corr);
        if (state == State.READY) {
            LOG.info("checkout denied: session={} client={} hw={} queued request {} code={} ({})", id,
                    client.clientId(), client.hwId(), corr, code, message);
            sendInTurn(corr, new Message.Denied(code.code(), 0, "", message));
        }
    }

    void deliverLeaseEnded(LeaseView lease, ErrorCode reason) {
        if (state == State.READY) {
            LOG.info("session {}: lease {} of client={} ended: {}", id, lease.leaseId(), client.clientId(), reason);
            send(0, new Message.Notice(NoticeKind.LEASE_REVOKED.code(), lease.leaseId(), reason.code(),
                    lease.productId(), 0, "lease " + reason.wireName()));
        }
    }

    public void notice(Message.Notice n) {
        if (state == State.READY) {
            send(0, n);
        }
    }

    /** Server-initiated goodbye (draining finished): say why, then close. */
    public void goodbye(ErrorCode code, String message) {
        if (state == State.CLOSED) {
            return;
        }
        closeReason = message;
        if (state == State.READY) {
            send(0, new Message.Goodbye(code.code(), message));
        }
        closeNow();
    }

    // ------------------------------------------------------------------ writing and closing

    void send(int corr, Message m) {
        if (state == State.CLOSED) {
            return;
        }
        socket.write(Buffer.buffer(Codec.encode(corr, m, version)));
        if (socket.writeQueueFull() && pausedSinceMs == 0) {
            // The client is not reading its replies: stop reading its requests until it does.
            pausedSinceMs = services.nowMs();
            socket.pause();
            socket.drainHandler(v -> {
                pausedSinceMs = 0;
                if (!pipelineFull) {
                    socket.resume();
                }
            });
        }
    }

    private void violation(ProtocolException e) {
        LOG.info("session {} from {} (client={}): protocol violation, closing: {}", id, remoteAddress,
                client == null ? "-" : client.clientId(), e.getMessage());
        closeReason = e.code().wireName();
        if (state != State.PREAMBLE) {
            send(e.correlationId(), new Message.Error(e.code(), e.getMessage()));
        }
        closeNow();
    }

    /** Called once a second by the event loop's sweeper; enforces the timeouts without a timer per session. */
    void sweep(long nowMs) {
        if (state == State.CLOSED) {
            // A graceful close waits for queued bytes to be written; a peer that never reads
            // would hold it open forever, so after a short grace the channel is cut.
            if (closeDeadlineMs != 0 && nowMs >= closeDeadlineMs) {
                hardClose();
            }
            return;
        }
        long helloTimeout = services.helloTimeoutMs();
        if (state != State.READY && nowMs - openedAtMs > helloTimeout) {
            fail(ErrorCode.HELLO_TIMEOUT, "no preamble and HELLO within " + helloTimeout + " ms");
        } else if (partialSinceMs != 0 && pausedSinceMs == 0 && !pipelineFull && nowMs - partialSinceMs > helloTimeout) {
            fail(ErrorCode.MALFORMED_FRAME, "a frame stayed incomplete for more than " + helloTimeout + " ms");
        } else if (pausedSinceMs != 0 && nowMs - pausedSinceMs > services.slowConsumerTimeoutMs()) {
            fail(ErrorCode.SLOW_CONSUMER, "the client has not read its replies for "
                    + services.slowConsumerTimeoutMs() + " ms");
        }
    }

    private void fail(ErrorCode code, String why) {
        LOG.info("session {} from {} (client={}): {}: {}, closing", id, remoteAddress,
                client == null ? "-" : client.clientId(), code, why);
        closeReason = code.wireName();
        if (code == ErrorCode.SLOW_CONSUMER) {
            // PROTOCOL.md 5.5: the ERROR queues behind the unread replies; the client gets it if it reads
            // within server.slow_consumer_close_wait.
            closeGracefully(0, new Message.Error(code, why));
            return;
        }
        if (state != State.PREAMBLE) {
            socket.write(Buffer.buffer(Codec.encode(0, new Message.Error(code, why), version)));
        }
        closeNow();
    }

    private void closeNow() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        closingSinceMs = services.nowMs();
        closeDeadlineMs = closingSinceMs + HARD_CLOSE_AFTER_MS;
        socket.close();
    }

    /**
     * Ends the connection so that its last frame reaches a client that reads late (PROTOCOL.md 5.5):
     * nothing more is acted on; input is read and discarded (unread input would make the kernel answer
     * our close with a reset, which destroys what the client has not read yet); {@code last} is queued
     * behind every reply not yet written; once it is written the output is shut (FIN); the client's close
     * ends it, or server.slow_consumer_close_wait passes and the sweep cuts it.
     */
    private void closeGracefully(int corr, Message last) {
        if (state == State.CLOSED) {
            return;
        }
        boolean preambleSent = state != State.PREAMBLE;
        state = State.CLOSED;
        closingSinceMs = services.nowMs();
        closeDeadlineMs = closingSinceMs + limits().config().slowConsumerCloseWaitMs();
        pending = Buffer.buffer(0);
        readPos = 0;
        limits().partialBytes(slot, 0);
        socket.handler(discarded -> { });
        socket.drainHandler(null);
        socket.resume();
        if (!preambleSent) {
            socket.close(); // no version agreed: nothing can be said
            return;
        }
        socket.write(Buffer.buffer(Codec.encode(corr, last))).onSuccess(v -> shutdownOutput());
    }

    private void shutdownOutput() {
        io.netty.channel.Channel ch = ((NetSocketInternal) socket).channelHandlerContext().channel();
        if (!ch.isActive()) {
            return;
        }
        io.netty.handler.ssl.SslHandler tls = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        Runnable fin = () -> {
            if (ch instanceof io.netty.channel.socket.DuplexChannel d) {
                d.shutdownOutput();
            } else {
                ch.close();
            }
        };
        if (tls != null) {
            tls.closeOutbound().addListener(f -> fin.run()); // close_notify first, then FIN
        } else {
            fin.run();
        }
    }

    /**
     * limits: chosen to make room for a new connection ({@code why}), judged idle at {@code activityMs}.
     * Runs on this session's loop, where it checks again: a session that sent something since, or now
     * holds a lease or a queued checkout, stays.
     */
    void evict(SessionLimits.Eviction why, long activityMs) {
        if (state == State.CLOSED) {
            return;
        }
        if (lastActivityMs != activityMs || awaiting
                || (why == SessionLimits.Eviction.IDLE_WITHOUT_LEASE && (state != State.READY || holdsAnything()))) {
            limits().evictionCancelled(slot);
            return;
        }
        limits().evicted(why);
        LOG.info("session {} from {} (client={}): evicted ({}): the server is full and it was idle for {} ms, closing",
                id, remoteAddress, client == null ? "-" : client.clientId(), why.label, services.nowMs() - activityMs);
        closeReason = "evicted: " + why.label;
        closeTold(new Message.Goodbye(ErrorCode.SERVER_BUSY.code(),
                "the server is full and this connection was idle; reconnect when needed"));
    }

    /**
     * limits: says why (GOODBYE, once the preamble is sent) and closes at once. An evicted or shed
     * session gives its descriptor back now, not after a close wait: the kernel delivers the GOODBYE
     * and the FIN on its own.
     */
    private void closeTold(Message goodbye) {
        pending = Buffer.buffer(0);
        readPos = 0;
        limits().partialBytes(slot, 0);
        if (state != State.PREAMBLE) {
            send(0, goodbye);
        }
        closeNow();
    }

    /** limits: this session's incomplete frame is among the largest while the budget is exceeded. */
    void shed(SessionLimits.Eviction why, long bytes) {
        if (state == State.CLOSED) {
            return;
        }
        LOG.info("session {} from {} (client={}): incomplete frames over budget ({}): {} bytes buffered, closing", id,
                remoteAddress, client == null ? "-" : client.clientId(), why.label, bytes);
        closeReason = why.label;
        closeTold(new Message.Goodbye(ErrorCode.SERVER_BUSY.code(), "incomplete frames exceed the server's memory budget"));
    }

    /** Closes the channel at once, dropping whatever the peer has not read. */
    private void hardClose() {
        closingSinceMs = 0;
        closeDeadlineMs = 0;
        // Through the channel's unsafe: Vert.x's own close waits for queued writes to drain,
        // which a peer that does not read never lets happen.
        io.netty.channel.Channel ch = ((NetSocketInternal) socket).channelHandlerContext().channel();
        ch.eventLoop().execute(() -> ch.unsafe().close(ch.voidPromise()));
    }

    private void onClosed() {
        State was = state;
        state = State.CLOSED;
        queuedSecrets.clear(); // secret:
        answers.clear(); // pipeline: answers still in flight have no one to go to
        awaiting = false;
        int held = client == null ? 0 : services.ledger().leasesOf(id).size();
        services.authority().sessionLost(id, services.nowMs());
        services.registry().remove(this);
        limits().release(slot);
        if (was == State.READY || client != null) {
            LOG.info("session {} closed: client={} hw={} leases={} ({})", id, client.clientId(), client.hwId(), held,
                    closeReason);
        } else {
            LOG.debug("session {} from {} closed before HELLO ({})", id, remoteAddress, closeReason);
        }
    }
}
