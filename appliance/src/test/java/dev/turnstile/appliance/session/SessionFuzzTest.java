package dev.turnstile.appliance.session;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.slf4j.LoggerFactory;

/**
 * Property-based fuzzing of the session state machine (issue 12, "fuzzing beyond the codec"):
 * scripts of frames in any order (valid and invalid, every message type, before and after HELLO),
 * written to a real appliance over a real loopback socket, cut into chunks at arbitrary bytes.
 * An oracle written from PROTOCOL.md (sections 3.5, 3.6, 5, 10; {@link Model}) says what each
 * frame must be answered with; the seat part of it is a small model of 10.2 to 10.6 for two pools.
 *
 * <p>For every script, twice (two different chunkings):
 * <ul>
 *   <li>every complete request gets exactly the answers the spec allows, in request order (a
 *       QUEUED checkout's final GRANTED may come any time later, 5.3), with the right correlation
 *       ids; after an answer that closes (a closing ERROR, GOODBYE) nothing more is sent and the
 *       server closes;</li>
 *   <li>the server never fails: no {@code internalError} and no ERROR-level log from Session;</li>
 *   <li>the chunking never changes the answers: both runs give the same answers, compared with
 *       lease ids renamed by first appearance and WELCOME's clock left out;</li>
 *   <li>once the session has ended the ledger is back where it was: only the bystander's lease,
 *       no waiter, and each pool's seats in use equal the seats of the leases it holds.</li>
 * </ul>
 *
 * <p>Chunks are separate writes on a TCP_NODELAY loopback socket; the server's reads see them
 * separately or coalesced, which is the point (a byte boundary must never matter). Where the
 * script names a lease granted earlier in the same script, the writer waits for that GRANTED
 * before writing on (the id is random), so such frames are never pipelined ahead of their grant.
 *
 * <p>Short run in the normal suite ({@code jqwik.tries.default} in junit-platform.properties);
 * a long run: {@code -Djqwik.tries.default=3000}. A failure prints jqwik's seed to rerun it.
 */
@Tag("slow") // a long property run (jqwik tries: 2000 on demand)
class SessionFuzzTest {
    static final String TOKEN = "fuzz-token";
    static final String CAD = "cad-pro";
    static final String SIM = "sim-suite";
    static final int CAD_SEATS = 3;
    static final int SIM_SEATS = 2;
    static final int MAX_LEASES_PER_SESSION = 4;
    static final int MAX_QUEUE = 2;
    static final long WAIT_MS = 600_000;
    static final long LEASE_TIMEOUT_MS = 60_000;
    static final int IO_TIMEOUT_MS = 10_000;

    private static Vertx vertx;
    private static Appliance appliance;
    private static Socket bystander;
    private static UUID bystanderLease;
    private static ListAppender<ILoggingEvent> sessionLog;

    // ------------------------------------------------------------------ the appliance

    @BeforeContainer
    static void start() throws Exception {
        vertx = Vertx.vertx();
        JsonObject cfg = TestAppliances.config("fuzz", CAD_SEATS);
        cfg.getJsonObject("server").put("lease_timeout", "60s").put("heartbeat_interval", "20s")
                .put("hello_timeout", "20s").put("max_leases_per_session", MAX_LEASES_PER_SESSION)
                .put("max_queue_per_pool", MAX_QUEUE).put("default_wait", "600s").put("max_wait", "600s")
                // the scripts' wrong tokens all come from 127.0.0.1: the authentication back-off (its own test is
                // SessionLimitsTest) would answer them before the spec's HELLO rules this model checks
                .put("auth_failures_before_backoff", 1_000_000);
        cfg.getJsonObject("clients").put("auth_token", TOKEN);
        appliance = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
        // A bystander on another machine holds one seat of cad-pro the whole time.
        bystander = new Socket();
        bystander.connect(new InetSocketAddress("127.0.0.1", appliance.tcpPort()), IO_TIMEOUT_MS);
        bystander.setSoTimeout(IO_TIMEOUT_MS);
        OutputStream out = bystander.getOutputStream();
        DataInputStream in = new DataInputStream(bystander.getInputStream());
        out.write(Preamble.client(1, 1));
        out.write(Codec.encode(1, new Message.Hello("bystander", "hw-bystander", "1.0.0", TOKEN)));
        out.write(Codec.encode(2, new Message.Checkout(CAD, "", 1, 1, 0, 0, Message.NO_LEASE)));
        out.flush();
        in.readNBytes(Preamble.LENGTH);
        readFrame(in); // WELCOME
        bystanderLease = ((Message.Granted) readFrame(in).message()).leaseId();

        sessionLog = new ListAppender<>();
        sessionLog.start();
        Logger logger = (Logger) LoggerFactory.getLogger(Session.class);
        logger.addAppender(sessionLog);
    }

    @AfterContainer
    static void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(Session.class)).detachAppender(sessionLog);
        bystander.close();
        appliance.shutdown().await(20, TimeUnit.SECONDS);
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------------ the property

    @Property
    void any_frames_in_any_order_split_anywhere_get_the_answers_the_spec_allows_and_leave_the_ledger_consistent(
            @ForAll("scripts") List<Step> script, @ForAll("chunkings") List<Integer> chunksA,
            @ForAll("chunkings") List<Integer> chunksB) throws Exception {
        List<Step> steps = new ArrayList<>(script);
        steps.add(new GoodbyeStep()); // the end of every script: the server answers and closes
        synchronized (sessionLog) {
            sessionLog.list.clear();
        }
        List<String> a = run(steps, chunksA);
        List<String> b = run(steps, chunksB);
        check(a.equals(b), "the chunking changed the answers:\n  " + chunksA + " -> " + a + "\n  " + chunksB
                + " -> " + b);
        synchronized (sessionLog) {
            for (ILoggingEvent e : sessionLog.list) {
                check(!e.getLevel().isGreaterOrEqual(Level.ERROR), "Session logged at ERROR: " + e.getFormattedMessage());
            }
        }
    }

    /** One connection: writes the script, checks every answer against the model, then the ledger. */
    private List<String> run(List<Step> steps, List<Integer> chunks) throws Exception {
        Model model = new Model();
        Conversation conv = new Conversation(chunks);
        try {
            // Offers 1..1 (and pipelines its frames) or 1..2 (and waits for the selected version, 4.1):
            // frames are then written in the version the server selected; the model differs only where
            // protocol 1.1 does (RECLAIM's proof of ownership).
            conv.write(Preamble.client(1, 1 + (steps.size() % 2)));
            int version = steps.size() % 2 == 0 ? 1 : conv.selectedVersion();
            model.version = version;
            conv.version = version;
            int corr = 0x10_0000 * (1 + steps.size());
            for (Step step : steps) {
                corr++;
                Map<Target, UUID> ids = new HashMap<>();
                for (Target t : step.targets()) {
                    ids.put(t, conv.resolve(t, model));
                }
                int id = step instanceof Fault f && f.kind() == FaultKind.ZERO_ID ? 0 : corr;
                model.apply(step, id, ids);
                conv.write(step.encode(id, ids, version, conv.secrets));
            }
            conv.flush();
            conv.awaitClose();
            return model.verify(conv.replies(), conv.closed());
        } finally {
            conv.close();
            awaitLedgerBack();
        }
    }

    /** After the session: only the bystander's lease, no waiter, seats in use = seats of the leases held. */
    private static void awaitLedgerBack() {
        try {
            Wait.await("the ledger back after the session ended", java.time.Duration.ofSeconds(10))
                    .pollInterval(java.time.Duration.ofMillis(5)).until(() -> ledgerProblem() == null);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("the ledger did not come back after the session ended: " + ledgerProblem(), e);
        }
    }

    private static String ledgerProblem() {
        List<LeaseView> leases = appliance.ledger().leases();
        if (leases.size() != 1 || !leases.get(0).leaseId().equals(bystanderLease)) {
            return "leases " + leases;
        }
        if (appliance.ledger().waiterCount() != 0) {
            return appliance.ledger().waiterCount() + " waiters";
        }
        for (PoolView p : appliance.ledger().pools()) {
            long held = leases.stream().filter(l -> l.entitlementId().equals(p.entitlementId()))
                    .mapToLong(LeaseView::quantity).sum();
            if (p.used() != held || p.waiting() != 0) {
                return "pool " + p.entitlementId() + " used " + p.used() + " waiting " + p.waiting() + ", leases hold " + held;
            }
        }
        return null;
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    // ------------------------------------------------------------------ the scripts

    /** A lease named by a frame: one granted earlier in the script, the bystander's, or one nobody has. */
    sealed interface Target permits Own, Bystander, Nobody {
    }

    /** The lease of the script's {@code k}-th CHECKOUT, if it was granted (else an id nobody has). */
    record Own(int k) implements Target {
    }

    record Bystander() implements Target {
    }

    record Nobody(int n) implements Target {
    }

    sealed interface Step permits HelloStep, CheckoutStep, HeartbeatStep, CheckinStep, GoodbyeStep, Fault {
        default List<Target> targets() {
            return List.of();
        }

        byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets);
    }

    enum HelloKind { OK, WRONG_TOKEN, NO_TOKEN, EMPTY_VERSION, OLD_VERSION, WRONG_TOKEN_AND_EMPTY_VERSION }

    record HelloStep(HelloKind kind) implements Step {
        Message.Hello hello() {
            return switch (kind) {
                case OK -> new Message.Hello("fuzz", "hw-fuzz", "1.2.0", TOKEN);
                case WRONG_TOKEN -> new Message.Hello("fuzz", "hw-fuzz", "1.2.0", "guess");
                case NO_TOKEN -> new Message.Hello("fuzz", "hw-fuzz", "1.2.0", "");
                case EMPTY_VERSION -> new Message.Hello("fuzz", "hw-fuzz", "", TOKEN);
                case OLD_VERSION -> new Message.Hello("fuzz", "hw-fuzz", "0.9.0", TOKEN);
                case WRONG_TOKEN_AND_EMPTY_VERSION -> new Message.Hello("fuzz", "hw-fuzz", "", "guess");
            };
        }

        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            return Codec.encode(corr, hello(), version);
        }
    }

    enum Key { NONE, RIGHT, OTHER_PRODUCTS, UNKNOWN }

    /** enforcement: 0 = the product's own, 1 = the other type, 2 = the undefined value 3. */
    record CheckoutStep(String product, Key key, int quantity, int enforcement, boolean waitForSeat, Target reclaim)
            implements Step {
        int enforcementByte() {
            int own = SIM.equals(product) ? 2 : 1;
            return enforcement == 0 ? own : enforcement == 1 ? 3 - own : 3;
        }

        String licenseKey() {
            String own = SIM.equals(product) ? "ent-sim" : "ent-cad";
            return switch (key) {
                case NONE -> "";
                case RIGHT -> own;
                case OTHER_PRODUCTS -> SIM.equals(product) ? "ent-cad" : "ent-sim";
                case UNKNOWN -> "ent-nope";
            };
        }

        @Override
        public List<Target> targets() {
            return reclaim == null ? List.of() : List.of(reclaim);
        }

        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            int flags = (waitForSeat ? Message.Checkout.FLAG_WAIT : 0) | (reclaim != null ? Message.Checkout.FLAG_RECLAIM : 0);
            UUID lease = reclaim == null ? Message.NO_LEASE : ids.get(reclaim);
            byte[] secret = version < Preamble.VERSION_1_1 ? null
                    : secrets.getOrDefault(lease, new byte[Limits.RECLAIM_SECRET]); // own lease: its secret
            return Codec.encode(corr, new Message.Checkout(product, licenseKey(), quantity, enforcementByte(), flags, 0,
                    lease, secret), version);
        }
    }

    record HeartbeatStep(List<Target> leases) implements Step {
        @Override
        public List<Target> targets() {
            return leases;
        }

        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            return Codec.encode(corr, new Message.Heartbeat(leases.stream().map(ids::get).toList()), version);
        }
    }

    record CheckinStep(Target lease) implements Step {
        @Override
        public List<Target> targets() {
            return List.of(lease);
        }

        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            return Codec.encode(corr, new Message.Checkin(ids.get(lease),
                    version < Preamble.VERSION_1_1 ? null : new byte[Limits.RECLAIM_SECRET]), version);
        }
    }

    record GoodbyeStep() implements Step {
        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            return Codec.encode(corr, new Message.Goodbye(0, ""), version);
        }
    }

    enum FaultKind {
        UNKNOWN_TYPE, SERVER_ONLY_TYPE, HEADER_FLAGS, ZERO_ID, TRUNCATED, STRING_TOO_LONG, BAD_UTF8, EMPTY_PRODUCT,
        EMPTY_CLIENT_ID, RECLAIM_ZERO, CHECKOUT_RESERVED_FLAGS, BAD_QUANTITY, TOO_MANY_LEASE_IDS, LENGTH_TOO_LARGE,
        LENGTH_TOO_SMALL, TRAILING_BYTES
    }

    /** A frame with one fault of PROTOCOL.md 3.5 (or, TRAILING_BYTES, none: a keepalive with bytes appended). */
    record Fault(FaultKind kind, int variant) implements Step {
        static final int[] UNDEFINED_TYPES = {0x00, 0x03, 0x14, 0x22, 0x41, 0x55, 0x7D, 0x80, 0xFF};
        static final MessageType[] SERVER_ONLY = {MessageType.WELCOME, MessageType.GRANTED, MessageType.QUEUED,
                MessageType.DENIED, MessageType.HEARTBEAT_RESULT, MessageType.CHECKED_IN, MessageType.NOTICE,
                MessageType.ERROR};

        ErrorCode code() {
            return switch (kind) {
                case UNKNOWN_TYPE -> ErrorCode.UNKNOWN_MESSAGE_TYPE;
                case SERVER_ONLY_TYPE -> ErrorCode.UNEXPECTED_MESSAGE;
                case HEADER_FLAGS, CHECKOUT_RESERVED_FLAGS -> ErrorCode.RESERVED_BITS_SET;
                case ZERO_ID, TRUNCATED, EMPTY_PRODUCT, EMPTY_CLIENT_ID, RECLAIM_ZERO, LENGTH_TOO_SMALL -> ErrorCode.MALFORMED_FRAME;
                case STRING_TOO_LONG, TOO_MANY_LEASE_IDS -> ErrorCode.FIELD_TOO_LONG;
                case BAD_UTF8 -> ErrorCode.INVALID_UTF8;
                case BAD_QUANTITY -> ErrorCode.INVALID_QUANTITY;
                case LENGTH_TOO_LARGE -> ErrorCode.FRAME_TOO_LARGE;
                case TRAILING_BYTES -> ErrorCode.OK;
            };
        }

        /** The id the answer carries: 0 when the header cannot be read or the id is the fault. */
        int answerId(int corr) {
            return kind == FaultKind.LENGTH_TOO_LARGE || kind == FaultKind.LENGTH_TOO_SMALL ? 0 : corr;
        }

        @Override
        public byte[] encode(int corr, Map<Target, UUID> ids, int version, Map<UUID, byte[]> secrets) {
            Message.Checkout good = new Message.Checkout(CAD, "", 1, 1, 0, 0, Message.NO_LEASE);
            boolean v2 = version >= Preamble.VERSION_1_1;
            return switch (kind) {
                case UNKNOWN_TYPE -> raw(UNDEFINED_TYPES[variant % UNDEFINED_TYPES.length], 0, corr, new byte[variant % 5]);
                case SERVER_ONLY_TYPE -> {
                    byte[] f = Codec.encode(corr, new Message.Checkin(Message.NO_LEASE), version);
                    f[4] = (byte) SERVER_ONLY[variant % SERVER_ONLY.length].code(); // decided from the type byte alone
                    yield f;
                }
                case HEADER_FLAGS -> {
                    byte[] f = Codec.encode(corr, variant % 2 == 0 ? good : new Message.Heartbeat(List.of()), version);
                    f[5] = (byte) (1 << (variant % 8));
                    yield f;
                }
                case ZERO_ID -> Codec.encode(0, switch (variant % 5) {
                    case 0 -> new HelloStep(HelloKind.OK).hello();
                    case 1 -> good;
                    case 2 -> new Message.Heartbeat(List.of());
                    case 3 -> new Message.Checkin(Message.NO_LEASE);
                    default -> new Message.Goodbye(0, "");
                }, version);
                case TRUNCATED -> {
                    byte[] f = Codec.encode(corr, switch (variant % 4) {
                        case 0 -> new HelloStep(HelloKind.OK).hello();
                        case 1 -> good;
                        case 2 -> new Message.Heartbeat(List.of(Message.NO_LEASE));
                        default -> new Message.Checkin(Message.NO_LEASE);
                    }, version);
                    int body = f.length - Limits.LENGTH_PREFIX - Limits.HEADER_AFTER_LENGTH;
                    int cut = 1 + (variant / 4) % body;
                    yield withLength(java.util.Arrays.copyOf(f, f.length - cut));
                }
                case STRING_TOO_LONG -> variant % 2 == 0
                        ? raw(MessageType.CHECKOUT.code(), 0, corr, checkoutBody("p".repeat(129), 1, 0, v2))
                        : raw(MessageType.HELLO.code(), 0, corr, concat(str("c".repeat(129)), str("hw"), str("1.0.0"), str("")));
                case BAD_UTF8 -> raw(MessageType.CHECKOUT.code(), 0, corr,
                        checkoutBody(new byte[] {'c', (byte) (0xC0 + variant % 2), (byte) 0xAF}, 1, 0, v2));
                case EMPTY_PRODUCT -> raw(MessageType.CHECKOUT.code(), 0, corr, checkoutBody("", 1, 0, v2));
                case EMPTY_CLIENT_ID -> Codec.encode(corr, new Message.Hello(variant % 2 == 0 ? "" : "fuzz",
                        variant % 2 == 0 ? "hw-fuzz" : "", "1.2.0", TOKEN), version);
                case RECLAIM_ZERO -> raw(MessageType.CHECKOUT.code(), 0, corr, checkoutBody(CAD, 1, Message.Checkout.FLAG_RECLAIM, v2));
                case CHECKOUT_RESERVED_FLAGS -> raw(MessageType.CHECKOUT.code(), 0, corr, checkoutBody(CAD, 1, 0x04 << (variant % 6), v2));
                case BAD_QUANTITY -> raw(MessageType.CHECKOUT.code(), 0, corr, checkoutBody(CAD,
                        variant % 3 == 0 ? 0 : variant % 3 == 1 ? Limits.MAX_QUANTITY + 1 : 0xFFFF_FFFFL, 0, v2));
                case TOO_MANY_LEASE_IDS -> {
                    ByteArrayOutputStream b = new ByteArrayOutputStream();
                    b.writeBytes(u16(Limits.MAX_HEARTBEAT_LEASES + 1));
                    b.writeBytes(new byte[16 * (variant % 2 == 0 ? Limits.MAX_HEARTBEAT_LEASES + 1 : 1)]);
                    yield raw(MessageType.HEARTBEAT.code(), 0, corr, b.toByteArray());
                }
                case LENGTH_TOO_LARGE -> concat(u32(Limits.MAX_FRAME_LENGTH + 1L + variant * 7919L), new byte[] {0x10, 0});
                case LENGTH_TOO_SMALL -> concat(u32(variant % Limits.HEADER_AFTER_LENGTH), new byte[] {0x20, 0, 0, 0, 0, 9});
                case TRAILING_BYTES -> {
                    byte[] f = Codec.encode(corr, new Message.Heartbeat(List.of()), version);
                    yield withLength(concat(f, new byte[1 + variant % 9]));
                }
            };
        }
    }

    // ------------------------------------------------------------------ the generators

    @Provide
    Arbitrary<List<Step>> scripts() {
        Arbitrary<Step> first = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, step(Arbitraries.just(new HelloStep(HelloKind.OK)))),
                net.jqwik.api.Tuple.of(2, anyStep()));
        return Combinators.combine(first, anyStep().list().ofMaxSize(14)).as((f, rest) -> {
            List<Step> all = new ArrayList<>();
            all.add(f);
            all.addAll(rest);
            return all;
        });
    }

    private Arbitrary<Step> anyStep() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(7, checkouts()),
                net.jqwik.api.Tuple.of(3, step(target().list().ofMaxSize(3).map(HeartbeatStep::new))),
                net.jqwik.api.Tuple.of(3, step(target().map(CheckinStep::new))),
                net.jqwik.api.Tuple.of(1, step(Arbitraries.of(HelloKind.class).map(HelloStep::new))),
                net.jqwik.api.Tuple.of(1, step(Arbitraries.just(new GoodbyeStep()))),
                net.jqwik.api.Tuple.of(4, step(Combinators.combine(Arbitraries.of(FaultKind.class),
                        Arbitraries.integers().between(0, 1_000)).as(Fault::new))));
    }

    private static Arbitrary<Step> step(Arbitrary<? extends Step> a) {
        return a.map(s -> (Step) s);
    }

    private Arbitrary<Step> checkouts() {
        Arbitrary<String> product = Arbitraries.frequency(
                net.jqwik.api.Tuple.of(6, CAD), net.jqwik.api.Tuple.of(3, SIM), net.jqwik.api.Tuple.of(1, "no-such-product"));
        Arbitrary<Key> key = Arbitraries.frequency(net.jqwik.api.Tuple.of(6, Key.NONE), net.jqwik.api.Tuple.of(2, Key.RIGHT),
                net.jqwik.api.Tuple.of(1, Key.OTHER_PRODUCTS), net.jqwik.api.Tuple.of(1, Key.UNKNOWN));
        Arbitrary<Integer> quantity = Arbitraries.frequency(net.jqwik.api.Tuple.of(6, 1), net.jqwik.api.Tuple.of(2, 2),
                net.jqwik.api.Tuple.of(1, 3), net.jqwik.api.Tuple.of(1, 4));
        Arbitrary<Integer> enforcement = Arbitraries.frequency(net.jqwik.api.Tuple.of(8, 0), net.jqwik.api.Tuple.of(1, 1),
                net.jqwik.api.Tuple.of(1, 2));
        Arbitrary<Target> reclaim = target().injectNull(0.8);
        return step(Combinators.combine(product, key, quantity, enforcement, Arbitraries.integers().between(0, 9), reclaim)
                .as((p, k, q, e, w, r) -> new CheckoutStep(p, k, q, e, w < 3, r)));
    }

    private Arbitrary<Target> target() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.integers().between(0, 4).map(k -> (Target) new Own(k))),
                net.jqwik.api.Tuple.of(2, Arbitraries.just((Target) new Bystander())),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 2).map(n -> (Target) new Nobody(n))));
    }

    /** Chunk sizes, used in turn and over again: byte by byte, small pieces, or everything at once. */
    @Provide
    Arbitrary<List<Integer>> chunkings() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(1, Arbitraries.just(List.of(1))),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(List.of(1 << 20))),
                net.jqwik.api.Tuple.of(6, Arbitraries.integers().between(1, 48).list().ofMinSize(1).ofMaxSize(8)));
    }

    // ------------------------------------------------------------------ the oracle

    /** What an answer must be (the next in request order). */
    record Expect(int corr, MessageType type, ErrorCode code, boolean closes, Object detail) {
    }

    /** GRANTED detail: the checkout's index, product, quantity, RECLAIMED, the lease id for a reclaim. */
    record GrantDetail(int k, String product, long quantity, boolean reclaimed, UUID leaseId) {
    }

    /** A lease of the script as the model sees it. */
    static final class Lease {
        final int k;
        final String product;
        final long quantity;
        final int corr;
        boolean held;

        Lease(int k, String product, long quantity, int corr) {
            this.k = k;
            this.product = product;
            this.quantity = quantity;
            this.corr = corr;
        }
    }

    /**
     * PROTOCOL.md as a state machine for one connection: frame checks (3.5 steps 1-7) first, the
     * session rules of 5.1, then the ledger's decisions (10.2 to 10.6) for the two pools, with the
     * bystander's seat counted.
     */
    static final class Model {
        enum State { HELLO, READY, CLOSED }

        State state = State.HELLO;
        int version = 1;
        final List<Expect> immediate = new ArrayList<>();
        /** corr of a queued checkout -> its lease, once the model has granted it from the queue. */
        final Map<Integer, Lease> deferred = new LinkedHashMap<>();
        final Map<Integer, Lease> byCheckout = new HashMap<>();
        final Map<String, Deque<Lease>> queues = Map.of(CAD, new ArrayDeque<>(), SIM, new ArrayDeque<>());
        final Map<String, Long> used = new HashMap<>(Map.of(CAD, 1L, SIM, 0L)); // the bystander holds 1 cad-pro
        int checkouts;
        int inSession; // leases held plus checkouts waiting

        static long max(String product) {
            return CAD.equals(product) ? CAD_SEATS : SIM_SEATS;
        }

        /** The lease a target names, if this connection holds it now. */
        Lease held(Target t) {
            if (t instanceof Own o) {
                Lease l = byCheckout.get(o.k());
                return l != null && l.held ? l : null;
            }
            return null;
        }

        /** Was the k-th checkout ever granted (so its id is on the wire)? */
        Lease granted(Own o) {
            return byCheckout.get(o.k());
        }

        void expect(int corr, MessageType type, ErrorCode code, boolean closes, Object detail) {
            immediate.add(new Expect(corr, type, code, closes, detail));
            if (closes) {
                state = State.CLOSED;
            }
        }

        void apply(Step step, int corr, Map<Target, UUID> ids) {
            if (state == State.CLOSED) {
                if (step instanceof CheckoutStep) {
                    checkouts++;
                }
                return; // 5.4: nothing after a close is read
            }
            // 3.5 steps 1-7: the frame alone, the same before and after HELLO
            if (step instanceof Fault f && f.kind() != FaultKind.TRAILING_BYTES) {
                switch (f.kind()) {
                    case UNKNOWN_TYPE -> expect(corr, MessageType.ERROR, f.code(), false, null);
                    case BAD_QUANTITY -> expect(corr, MessageType.DENIED, f.code(), false, null);
                    default -> expect(f.answerId(corr), MessageType.ERROR, f.code(), true, null);
                }
                return;
            }
            // 5.1: HELLO first, exactly once
            if (state == State.HELLO && !(step instanceof HelloStep)) {
                if (step instanceof CheckoutStep) {
                    checkouts++;
                }
                expect(corr, MessageType.ERROR, ErrorCode.UNEXPECTED_MESSAGE, true, null);
                return;
            }
            if (step instanceof HelloStep h) {
                hello(corr, h);
            } else if (step instanceof CheckoutStep c) {
                checkout(corr, c);
            } else if (step instanceof HeartbeatStep h) {
                heartbeat(corr, h.leases(), ids);
            } else if (step instanceof CheckinStep c) {
                checkin(corr, c);
            } else if (step instanceof GoodbyeStep) {
                expect(corr, MessageType.GOODBYE, ErrorCode.OK, true, null);
            } else {
                heartbeat(corr, List.of(), ids); // TRAILING_BYTES: a keepalive; the appended bytes are ignored (9.1)
            }
        }

        private void hello(int corr, HelloStep h) {
            if (state == State.READY) {
                expect(corr, MessageType.ERROR, ErrorCode.UNEXPECTED_MESSAGE, true, null);
                return;
            }
            ErrorCode refusal = switch (h.kind()) { // 5.1, in that order
                case OK -> null;
                case WRONG_TOKEN, NO_TOKEN, WRONG_TOKEN_AND_EMPTY_VERSION -> ErrorCode.AUTHENTICATION_FAILED;
                case EMPTY_VERSION -> ErrorCode.CLIENT_VERSION_MISSING;
                case OLD_VERSION -> ErrorCode.CLIENT_VERSION_NOT_ALLOWED;
            };
            if (refusal != null) {
                expect(corr, MessageType.ERROR, refusal, true, null);
            } else {
                expect(corr, MessageType.WELCOME, ErrorCode.OK, false, null);
                state = State.READY;
            }
        }

        private void deny(int corr, ErrorCode code) {
            expect(corr, MessageType.DENIED, code, false, null);
        }

        private void checkout(int corr, CheckoutStep c) {
            int k = checkouts++;
            String product = c.product();
            if (!CAD.equals(product) && !SIM.equals(product)) {
                deny(corr, ErrorCode.UNKNOWN_PRODUCT);
                return;
            }
            if (c.key() == Key.OTHER_PRODUCTS || c.key() == Key.UNKNOWN) {
                deny(corr, ErrorCode.UNKNOWN_LICENSE_KEY);
                return;
            }
            boolean enforcementMatches = c.enforcement() == 0;
            if (c.reclaim() != null) { // 10.6
                Target t = c.reclaim();
                if (t instanceof Bystander) {
                    // The proof of ownership is checked right after the lease is found (10.6), and this
                    // script never has the bystander's secret: refused before its hw_id is looked at.
                    deny(corr, ErrorCode.RECLAIM_SECRET_MISMATCH);
                    return;
                }
                Lease l = held(t);
                if (l == null) {
                    deny(corr, ErrorCode.LEASE_ID_NOT_FOUND);
                    return;
                }
                if (version < Preamble.VERSION_1_1) {
                    // A 1.0 RECLAIM presents no secret: refused under the default legacy_reclaim (refuse), even
                    // for this connection's own lease (10.6).
                    deny(corr, ErrorCode.RECLAIM_SECRET_MISMATCH);
                    return;
                }
                if (!l.product.equals(product)) {
                    deny(corr, ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH);
                    return;
                }
                if (!enforcementMatches) {
                    deny(corr, ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH);
                    return;
                }
                // held by this very connection: the same lease, its own quantity, no checkouts rule
                expect(corr, MessageType.GRANTED, ErrorCode.OK, false, new GrantDetail(l.k, product, l.quantity, true, null));
                return;
            }
            if (!enforcementMatches) {
                deny(corr, ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH);
                return;
            }
            if (SIM.equals(product) && c.quantity() != 1) {
                deny(corr, ErrorCode.INVALID_QUANTITY); // 10.1: decided from the pool
                return;
            }
            if (inSession >= MAX_LEASES_PER_SESSION) {
                deny(corr, ErrorCode.TOO_MANY_LEASES);
                return;
            }
            Deque<Lease> queue = queues.get(product);
            if (queue.isEmpty() && used.get(product) + c.quantity() <= max(product)) {
                Lease l = new Lease(k, product, c.quantity(), corr);
                l.held = true;
                byCheckout.put(k, l);
                used.merge(product, (long) c.quantity(), Long::sum);
                inSession++;
                expect(corr, MessageType.GRANTED, ErrorCode.OK, false, new GrantDetail(k, product, c.quantity(), false, null));
                return;
            }
            if (!c.waitForSeat() || c.quantity() > max(product)) {
                deny(corr, ErrorCode.NO_SEATS_AVAILABLE);
                return;
            }
            if (queue.size() >= MAX_QUEUE) {
                deny(corr, ErrorCode.QUEUE_FULL);
                return;
            }
            queue.add(new Lease(k, product, c.quantity(), corr));
            inSession++;
            expect(corr, MessageType.QUEUED, ErrorCode.OK, false, (long) queue.size());
        }

        private void heartbeat(int corr, List<Target> targets, Map<Target, UUID> ids) {
            List<ErrorCode> codes = new ArrayList<>();
            for (Target t : targets) {
                codes.add(held(t) != null ? ErrorCode.OK
                        : t instanceof Bystander ? ErrorCode.CLIENT_HW_ID_MISMATCH : ErrorCode.LEASE_ID_NOT_FOUND);
            }
            expect(corr, MessageType.HEARTBEAT_RESULT, ErrorCode.OK, false,
                    new Object[] {codes, targets.stream().map(ids::get).toList()});
        }

        private void checkin(int corr, CheckinStep c) {
            Lease l = held(c.lease());
            if (l == null) {
                expect(corr, MessageType.ERROR, c.lease() instanceof Bystander ? ErrorCode.CLIENT_HW_ID_MISMATCH
                        : ErrorCode.LEASE_ID_NOT_FOUND, false, null);
                return;
            }
            l.held = false;
            inSession--;
            used.merge(l.product, -l.quantity, Long::sum);
            expect(corr, MessageType.CHECKED_IN, ErrorCode.OK, false, c.lease());
            Deque<Lease> queue = queues.get(l.product); // 10.3: the head of the queue, as soon as it fits
            while (!queue.isEmpty() && used.get(l.product) + queue.peek().quantity <= max(l.product)) {
                Lease w = queue.poll();
                w.held = true;
                used.merge(w.product, w.quantity, Long::sum);
                byCheckout.put(w.k, w);
                deferred.put(w.corr, w);
            }
        }

        /**
         * Checks the answers received against the model; returns them in a form that does not
         * depend on random lease ids or the clock, for comparing two runs.
         */
        List<String> verify(List<Envelope> replies, boolean closed) {
            List<String> canonical = new ArrayList<>();
            Map<UUID, String> names = new HashMap<>();
            int next = 0;
            boolean ended = false;
            List<Integer> deferredSeen = new ArrayList<>();
            for (Envelope e : replies) {
                Message m = e.message();
                check(!ended, "an answer after the one that closed the session: " + e);
                check(!(m instanceof Message.Error err) || err.code() != ErrorCode.INTERNAL_ERROR.code(), "internalError: " + e);
                check(!(m instanceof Message.Denied d) || d.code() != ErrorCode.INTERNAL_ERROR.code(), "internalError: " + e);
                if (m instanceof Message.Granted g && deferred.containsKey(e.correlationId())
                        && !deferredSeen.contains(e.correlationId())
                        && (next >= immediate.size() || immediate.get(next).corr() != e.correlationId())) {
                    Lease w = deferred.get(e.correlationId());
                    check(g.product().equals(w.product) && g.quantity() == w.quantity && g.flags() == 0,
                            "queued checkout " + e.correlationId() + " granted as " + g);
                    deferredSeen.add(e.correlationId());
                    continue; // 5.3: a queued checkout's final answer may come between any two answers
                }
                check(next < immediate.size(), "an answer nothing asked for: " + e + "\nexpected " + immediate);
                Expect x = immediate.get(next++);
                String where = "answer " + (next - 1) + ": expected " + x + ", got " + e;
                check(e.correlationId() == x.corr() && m.type() == x.type(), where);
                if (m instanceof Message.Error err) {
                    check(err.code() == x.code().code(), where);
                } else if (m instanceof Message.Denied d) {
                    check((d.code() == x.code().code() || (x.detail() instanceof ErrorCode alt && d.code() == alt.code()))
                            && d.leader().isEmpty(), where);
                } else if (m instanceof Message.Granted g) {
                    GrantDetail gd = (GrantDetail) x.detail();
                    check(g.product().equals(gd.product()) && g.quantity() == gd.quantity()
                            && g.flags() == (gd.reclaimed() ? Message.Granted.FLAG_RECLAIMED : 0)
                            && g.leaseTimeoutMs() == LEASE_TIMEOUT_MS, where);
                    check((version >= Preamble.VERSION_1_1) == (g.reclaimSecret() != null), where + ": reclaim_secret"
                            + " present exactly in version 2");
                } else if (m instanceof Message.Queued q) {
                    check(q.position() == (Long) x.detail() && q.waitTimeoutMs() == WAIT_MS, where);
                } else if (m instanceof Message.HeartbeatResult r) {
                    Object[] d = (Object[]) x.detail();
                    @SuppressWarnings("unchecked")
                    List<ErrorCode> codes = (List<ErrorCode>) d[0];
                    @SuppressWarnings("unchecked")
                    List<UUID> sent = (List<UUID>) d[1];
                    check(r.results().size() == codes.size(), where);
                    for (int i = 0; i < codes.size(); i++) {
                        Message.LeaseStatus s = r.results().get(i);
                        check(s.leaseId().equals(sent.get(i)) && s.code() == codes.get(i).code()
                                && (s.code() == 0 ? s.remainingMs() == LEASE_TIMEOUT_MS : s.remainingMs() == 0),
                                where + " (result " + i + ")");
                    }
                } else if (m instanceof Message.Goodbye g) {
                    check(g.code() == 0, where);
                }
                ended = x.closes();
                canonical.add(canonical(e, names));
            }
            check(next == immediate.size(), "missing answers: got " + next + " of " + immediate + "\nreplies " + replies);
            check(closed, "the server did not close after " + immediate.get(immediate.size() - 1));
            return canonical;
        }

        private static final Pattern UUID_TEXT = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

        private static String canonical(Envelope e, Map<UUID, String> names) {
            Message m = e.message();
            String body;
            if (m instanceof Message.Welcome) {
                body = "WELCOME"; // its server_time_ms is the clock's
            } else if (m instanceof Message.Granted g) {
                body = "GRANTED " + name(g.leaseId(), names) + " " + g.entitlementId() + " " + g.quantity() + " " + g.flags();
            } else if (m instanceof Message.HeartbeatResult r) {
                body = "HEARTBEAT_RESULT " + r.results().stream()
                        .map(s -> name(s.leaseId(), names) + ":" + s.code() + ":" + s.remainingMs()).toList();
            } else if (m instanceof Message.CheckedIn c) {
                body = "CHECKED_IN " + name(c.leaseId(), names);
            } else if (m instanceof Message.Error err) {
                body = "ERROR " + err.code() + " " + text(err.message(), names);
            } else if (m instanceof Message.Denied d) {
                body = "DENIED " + d.code() + " " + text(d.message(), names);
            } else {
                body = m.toString();
            }
            return e.correlationId() + " " + body;
        }

        private static String name(UUID id, Map<UUID, String> names) {
            return names.computeIfAbsent(id, i -> "L" + names.size());
        }

        private static String text(String s, Map<UUID, String> names) {
            Matcher mm = UUID_TEXT.matcher(s);
            StringBuilder sb = new StringBuilder();
            while (mm.find()) {
                mm.appendReplacement(sb, name(UUID.fromString(mm.group()), names));
            }
            mm.appendTail(sb);
            return sb.toString();
        }
    }

    // ------------------------------------------------------------------ the connection

    /** The client side of one run: writes in chunks, reads every answer on its own thread. */
    static final class Conversation {
        private final Socket socket;
        private final OutputStream out;
        private final List<Integer> chunks;
        private int chunkIndex;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        private final List<Envelope> replies = new ArrayList<>();
        private volatile boolean closed;
        private volatile String readFailure;
        private boolean writeFailed;
        private final Thread reader;
        private volatile int selected = -1;
        volatile int version = 1;
        /** Each granted lease's reclaim secret (version 2), as GRANTED gave it. */
        final Map<UUID, byte[]> secrets = new java.util.concurrent.ConcurrentHashMap<>();

        Conversation(List<Integer> chunks) throws IOException {
            this.chunks = chunks;
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", appliance.tcpPort()), IO_TIMEOUT_MS);
            socket.setSoTimeout(IO_TIMEOUT_MS);
            socket.setTcpNoDelay(true);
            out = socket.getOutputStream();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            reader = new Thread(() -> {
                try {
                    byte[] pre = in.readNBytes(Preamble.LENGTH);
                    if (pre.length < Preamble.LENGTH || Preamble.selectedVersion(pre, 0) < 1) {
                        readFailure = "server preamble " + java.util.HexFormat.of().formatHex(pre);
                        return;
                    }
                    synchronized (replies) {
                        selected = Preamble.selectedVersion(pre, 0);
                        replies.notifyAll();
                    }
                    while (true) {
                        Envelope e = readFrame(in, selected);
                        if (e.message() instanceof Message.Granted g && g.reclaimSecret() != null) {
                            secrets.put(g.leaseId(), g.reclaimSecret());
                        }
                        synchronized (replies) {
                            replies.add(e);
                            replies.notifyAll();
                        }
                    }
                } catch (EOFException e) {
                    closed = true;
                } catch (java.net.SocketTimeoutException e) {
                    readFailure = "no answer and no close within " + IO_TIMEOUT_MS + " ms";
                } catch (IOException e) {
                    closed = true; // reset: also a close
                } catch (ProtocolException e) {
                    readFailure = "the server sent a frame the spec refuses: " + e.getMessage();
                } finally {
                    synchronized (replies) {
                        replies.notifyAll();
                    }
                }
            }, "fuzz-reader");
            reader.setDaemon(true);
            reader.start();
        }

        /** Sends the preamble and waits for the server's (a client offering a range must, 4.1). */
        int selectedVersion() throws InterruptedException {
            flush();
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IO_TIMEOUT_MS);
            synchronized (replies) {
                while (selected < 0) {
                    long left = until - System.nanoTime();
                    check(left > 0 && readFailure == null, "no server preamble: " + readFailure);
                    replies.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
                return selected;
            }
        }

        void write(byte[] bytes) {
            pending.writeBytes(bytes);
        }

        /** Writes what is pending, cut into the chunk sizes of this run. */
        void flush() {
            byte[] b = pending.toByteArray();
            pending.reset();
            int pos = 0;
            while (pos < b.length && !writeFailed) {
                int n = Math.min(b.length - pos, chunks.get(chunkIndex++ % chunks.size()));
                try {
                    out.write(b, pos, n);
                    out.flush();
                } catch (IOException e) {
                    writeFailed = true; // the server closed: it reads nothing more anyway (5.4)
                }
                pos += n;
            }
        }

        /** The lease id to write for {@code t}; waits for the GRANTED of an own lease the model granted. */
        UUID resolve(Target t, Model model) throws InterruptedException {
            if (t instanceof Bystander) {
                return bystanderLease;
            }
            if (t instanceof Nobody n) {
                return new UUID(0x0DDBA11L, n.n());
            }
            Own o = (Own) t;
            Lease l = model.state == Model.State.CLOSED ? null : model.granted(o);
            if (l == null) {
                return new UUID(0x0DDBA11L, 100 + o.k());
            }
            flush();
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IO_TIMEOUT_MS);
            synchronized (replies) {
                while (true) {
                    for (Envelope e : replies) {
                        if (e.correlationId() == l.corr && e.message() instanceof Message.Granted g) {
                            return g.leaseId();
                        }
                    }
                    long left = until - System.nanoTime();
                    check(left > 0 && readFailure == null && !closed, "no GRANTED for checkout id " + l.corr + " ("
                            + readFailure + ", closed " + closed + "): " + replies);
                    replies.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            }
        }

        void awaitClose() throws InterruptedException {
            reader.join(IO_TIMEOUT_MS + 2_000L);
            check(readFailure == null, readFailure + "; answers so far " + replies);
        }

        boolean closed() {
            return closed;
        }

        List<Envelope> replies() {
            synchronized (replies) {
                return new ArrayList<>(replies);
            }
        }

        void close() throws IOException {
            socket.close();
        }
    }

    // ------------------------------------------------------------------ bytes

    static Envelope readFrame(DataInputStream in) throws IOException, ProtocolException {
        return readFrame(in, 1);
    }

    static Envelope readFrame(DataInputStream in, int version) throws IOException, ProtocolException {
        int length = in.readInt();
        if (length < Limits.HEADER_AFTER_LENGTH || length > Limits.MAX_FRAME_LENGTH) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0, "bad length from the server: " + length);
        }
        byte[] frame = new byte[Limits.LENGTH_PREFIX + length];
        System.arraycopy(u32(length), 0, frame, 0, Limits.LENGTH_PREFIX);
        in.readFully(frame, Limits.LENGTH_PREFIX, length);
        return Codec.decode(frame, MessageType.Sender.SERVER, version);
    }

    static byte[] raw(int type, int flags, int corr, byte[] body) {
        byte[] header = concat(u32(Limits.HEADER_AFTER_LENGTH + body.length), new byte[] {(byte) type, (byte) flags},
                u32(Integer.toUnsignedLong(corr)));
        return concat(header, body);
    }

    static byte[] withLength(byte[] frame) {
        System.arraycopy(u32(frame.length - Limits.LENGTH_PREFIX), 0, frame, 0, Limits.LENGTH_PREFIX);
        return frame;
    }

    static byte[] checkoutBody(Object product, long quantity, int flags, boolean v2) {
        byte[] p = product instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : (byte[]) product;
        return concat(str(p), str(""), u32(quantity), new byte[] {1, (byte) flags}, u32(0), new byte[16],
                new byte[v2 ? Limits.RECLAIM_SECRET : 0]); // version 2: reclaim_secret, 32 zero bytes
    }

    static byte[] str(String s) {
        return str(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] str(byte[] b) {
        return concat(u16(b.length), b);
    }

    static byte[] u16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    static byte[] u32(long v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }
}
