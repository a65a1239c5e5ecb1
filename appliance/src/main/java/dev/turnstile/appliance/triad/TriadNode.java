package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SeatLedger;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jgroups.Address;
import org.jgroups.JChannel;
import org.jgroups.View;
import org.jgroups.protocols.raft.Role;
import org.jgroups.raft.RaftHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One triad member: a JGroups channel with jgroups-raft on top, the {@link LedgerStateMachine} over the
 * appliance's ledger, and the leader's duties (expiries from missed heartbeats, ticks, taking over the
 * leases of the previous leader's sessions).
 *
 * <h2>Fencing</h2>
 * A checkout is answered GRANTED only when (1) this member was leader when it proposed the command,
 * (2) a majority committed it (the future completes only after commit and apply), and (3) at completion
 * this member is still leader in the very term it proposed in. A paused leader that wakes up believing it
 * leads cannot get a majority to commit in its stale term: its proposal times out ({@code commit_timeout})
 * and the client gets noQuorum. {@code isLeader()} alone is never enough.
 */
public final class TriadNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TriadNode.class);
    /** Session ids are prefixed with the member's 1-based index above this bit, so they never collide. */
    public static final int SESSION_ID_SHIFT = 40;
    /** How often the leader checks heartbeat deadlines, due ticks and foreign sessions. */
    public static final long DUTY_INTERVAL_MS = 100;
    /** How often a member with {@code discovery_dir} reads the others' published client addresses. */
    static final long DIRECTORY_REFRESH_MS = 500;
    /** The replicated ledger's own lease timeout: too long to matter (heartbeats are not replicated). */
    public static final long REPLICATED_LEASE_TIMEOUT_MS = 100L * 365 * 24 * 3600 * 1000;

    private final TriadConfig config;
    /** Where the members' clients connect (configured, or published through discovery_dir for a port 0). */
    private final MemberDirectory directory;
    /** Records the Raft transport's server socket, so a port 0 can be reported. */
    private final BoundPortRecorder ports = new BoundPortRecorder();
    private final ConcurrentLedger ledger;
    private final LongSupplier clock;
    private final long leaseTimeoutMs;
    private final long reclaimGraceMs;
    private final LedgerStateMachine stateMachine;
    private final ScheduledExecutorService duties;
    private final ConcurrentHashMap<UUID, Long> heartbeatDeadlines = new ConcurrentHashMap<>();
    private final Set<Object> inFlight = ConcurrentHashMap.newKeySet();
    private final Batcher batcher = new Batcher();
    // A leader that sees a majority in its view but cannot commit (its entries rejected: seen once after a
    // partition healed, with two members each believing they led the same term) reports itself stuck (reportStuck).
    /** Consecutive commit timeouts, while leader with a majority in view, before the member counts as stuck... */
    static final int STUCK_TIMEOUTS = 2;
    /** ...and for at least this many commit timeouts (10 s by default). */
    static final int STUCK_COMMIT_TIMEOUTS = 5;
    private final java.util.concurrent.atomic.AtomicLong stuckSinceMs = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastCommitMs;
    /**
     * Fenced heartbeats (issue 14, a leader lease / check-quorum): the latest proposal time of an entry this leader
     * got committed, i.e. a moment by which a majority had heard from it (the election's time at first). A leader
     * whose last such moment is more than {@link #fenceBoundMs()} ago renews no lease: see {@link #fenced}.
     */
    private volatile long lastMajorityAckMs;
    private final java.util.concurrent.atomic.AtomicLong fencedHeartbeats = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong leadershipsWon = new java.util.concurrent.atomic.AtomicLong();
    private volatile long commitTimeoutMs;
    private final java.util.concurrent.atomic.AtomicInteger stuckTimeouts = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean stuckReported = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicLong stuckReports = new java.util.concurrent.atomic.AtomicLong();
    private final List<Consumer<String>> leadershipLost = new CopyOnWriteArrayList<>();
    private final List<Runnable> leadershipGained = new CopyOnWriteArrayList<>();
    private JChannel channel;
    private RaftHandle raft;
    private volatile long leaderSinceMs;
    private volatile boolean wasLeader;
    private volatile java.util.function.LongPredicate liveSession = id -> false;
    /**
     * A gap this long between two duty runs means this member did not run (SIGSTOP, a long GC pause, a stalled
     * VM): heartbeat deadlines move forward by the gap before anything is expired (see {@link #leaderDuties}).
     */
    static final long PAUSE_MS = 1_000;
    private long lastDutyMs = -1;
    /** The last time this member saw a quorum (or its start): the quorum-loss rule counts from here. */
    private volatile long lastQuorumMs;

    public TriadNode(TriadConfig config, ConcurrentLedger ledger, LongSupplier clock, long leaseTimeoutMs,
                     long reclaimGraceMs) {
        this.config = config;
        this.ledger = ledger;
        this.clock = clock;
        this.leaseTimeoutMs = leaseTimeoutMs;
        this.reclaimGraceMs = reclaimGraceMs;
        this.stateMachine = new LedgerStateMachine(ledger);
        this.directory = new MemberDirectory(config);
        this.commitTimeoutMs = config.commitTimeoutMs();
        this.lastQuorumMs = clock.getAsLong();
        this.duties = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "triad-duties-" + config.self());
            t.setDaemon(true);
            return t;
        });
    }

    /** The JGroups stack; every setting that differs from JGroups' defaults has its reason in package-info. */
    static String stack(TriadConfig c, String logDir) {
        TriadConfig.Member self = c.selfMember();
        StringBuilder hosts = new StringBuilder();
        StringBuilder ids = new StringBuilder();
        for (TriadConfig.Member m : c.members()) {
            if (!m.raftPortFromKernel() || m.advertisesElsewhere()) { // a port 0 comes from discovery_dir (start())
                hosts.append(hosts.length() == 0 ? "" : ",").append(m.advertised()); // where the others reach it
            }
            ids.append(ids.length() == 0 ? "" : ",").append(m.id());
        }
        return "<config xmlns=\"urn:org:jgroups\">\n"
                + "  <TCP bind_addr=\"" + self.raftHost() + "\" bind_port=\"" + self.raftPort() + "\" port_range=\"0\""
                + " client_bind_addr=\"" + self.raftHost() + "\""
                + (self.advertisesElsewhere() ? " external_addr=\"" + self.advertiseHost() + "\" external_port=\""
                        + self.advertisePort() + "\"" : "")
                + " diag.enabled=\"false\" thread_pool.min_threads=\"0\" thread_pool.max_threads=\"16\""
                + " sock_conn_timeout=\"500\" bundler.max_size=\"64K\"/>\n"
                // static hosts; with discovery_dir a port 0 is added from the members' published files (start(), and
                // every refresh: a restarted member binds another port). FILE_PING was tried and dropped: with
                // remove_all_data_on_view_change the leaving coordinator deleted everyone's addresses, without it the
                // files of dead incarnations named coordinators that never answered a JOIN (TRIAD.md)
                // (DirectoryPing: TCPPING's init warns once that port 0 makes no sense for static hosts; ours are not)
                + "  <" + (c.discovers() ? DirectoryPing.class.getName() : "TCPPING")
                + " initial_hosts=\"" + hosts + "\" port_range=\"0\" send_cache_on_join=\"true\"/>\n"
                + "  <MERGE3 min_interval=\"1000\" max_interval=\"3000\"/>\n"
                + "  <FD_SOCK2 bind_addr=\"" + self.raftHost() + "\" port_range=\"20\" connect_timeout=\"500\"/>\n"
                + "  <FD_ALL3 timeout=\"" + c.failureTimeoutMs() + "\" interval=\"" + c.failureIntervalMs() + "\"/>\n"
                + "  <VERIFY_SUSPECT2 timeout=\"" + c.verifySuspectMs() + "\"/>\n"
                + "  <pbcast.NAKACK2 xmit_interval=\"100\" use_mcast_xmit=\"false\" discard_delivered_msgs=\"true\"/>\n"
                + "  <UNICAST3 xmit_interval=\"100\" conn_expiry_timeout=\"0\"/>\n"
                + "  <pbcast.STABLE desired_avg_gossip=\"5000\" max_bytes=\"1M\"/>\n"
                + "  <raft.NO_DUPES/>\n"
                + "  <pbcast.GMS print_local_addr=\"false\" join_timeout=\"1000\" leave_timeout=\"500\""
                + " view_ack_collection_timeout=\"500\"/>\n"
                + "  <UFC max_credits=\"2M\" min_threshold=\"0.4\"/>\n"
                + "  <MFC max_credits=\"2M\" min_threshold=\"0.4\"/>\n"
                + "  <FRAG4 frag_size=\"60K\"/>\n"
                + "  <raft.ELECTION2 vote_timeout=\"300\"/>\n"
                + "  <dev.turnstile.appliance.triad.CatchUpRaft members=\"" + ids + "\" raft_id=\"" + c.self() + "\" log_dir=\"" + logDir + "\""
                + " log_prefix=\"turnstile-" + c.self() + "\" log_class=\"org.jgroups.protocols.raft.FileBasedLog\""
                + " max_log_size=\"" + c.maxLogBytes() + "\" resend_interval=\"200\" log_use_fsync=\"" + c.fsync() + "\""
                + "/>\n"
                + "</config>\n";
    }

    private List<java.net.InetSocketAddress> initialHosts = List.of();

    /**
     * discovery_dir: TCPPING's hosts are the members' raft addresses as configured or published, so a member that
     * joins (or merges after a partition) finds the others' ports; only when they changed.
     */
    private void updateInitialHosts() {
        try {
            List<java.net.InetSocketAddress> now = directory.raftAddresses();
            if (now.equals(initialHosts) || channel == null) {
                return;
            }
            org.jgroups.protocols.TCPPING ping = channel.getProtocolStack().findProtocol(org.jgroups.protocols.TCPPING.class);
            if (ping != null) {
                ping.setInitialHosts(now);
                initialHosts = now;
                LOG.debug("triad: {} discovers the members at {}", config.self(), now);
            }
        } catch (RuntimeException e) {
            LOG.warn("triad: {} could not update its discovery hosts: {}", config.self(), e.toString());
        }
    }

    /** Joins the triad. Blocking (JGroups connect): call from a worker thread, never an event loop. */
    public TriadNode start() throws Exception {
        Path dir = Path.of(config.stateDir());
        Files.createDirectories(dir);
        String xml = stack(config, dir.toAbsolutePath().toString());
        channel = new JChannel(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
        channel.name(config.self());
        channel.getProtocolStack().getTransport().setSocketFactory(ports);
        if (config.discovers()) {
            directory.refresh(); // the raft addresses the others published so far
            updateInitialHosts();
        }
        ports.onTransportBound(port -> {
            try {
                directory.publishRaft(port);
            } catch (java.io.IOException e) {
                LOG.warn("triad: member {} could not publish its raft port {}: {}", config.self(), port, e.toString());
            }
        });
        raft = new RaftHandle(channel, stateMachine).raftId(config.self());
        raft.addRoleListener(this::onRole);
        channel.connect("turnstile-triad");
        duties.scheduleWithFixedDelay(this::leaderDuties, DUTY_INTERVAL_MS, DUTY_INTERVAL_MS, TimeUnit.MILLISECONDS);
        if (config.discovers()) {
            directory.refresh(); // before this member's listener opens: the hints name members published so far
            duties.scheduleWithFixedDelay(() -> {
                directory.refresh();
                updateInitialHosts();
            }, DIRECTORY_REFRESH_MS, DIRECTORY_REFRESH_MS, TimeUnit.MILLISECONDS);
        }
        LOG.info("triad: member {} joined ({}[{}]{}), view {}", config.self(), config.selfMember().raftHost(),
                boundRaftPort(), config.selfMember().advertisesElsewhere() ? ", advertised as "
                        + config.selfMember().advertised() : "", channel.getView());
        joined = true;
        return this;
    }

    private volatile boolean joined;

    /** Whether {@link #start()} has joined the triad (before it, the member's ledger is its own start state). */
    public boolean joined() {
        return joined;
    }

    /** Leaves the triad (closes the channel; the others see the view change at once). */
    @Override
    public void close() {
        duties.shutdownNow();
        if (channel != null) {
            channel.close();
        }
    }

    /**
     * Which session ids still have a socket on this member (the registry). A HELD lease whose session is not
     * live here is taken to be lost (the previous leader's sockets, or this member's own from an earlier
     * term): the leader commits sessionLost for it, so it waits ORPHANED for the reclaim grace.
     */
    public void liveSessions(java.util.function.LongPredicate live) {
        this.liveSession = live;
    }

    /** {@code listener(newLeaderClientAddress)} when this member stops being leader. Called on a JGroups thread. */
    public void onLeadershipLost(Consumer<String> listener) {
        leadershipLost.add(listener);
    }

    public void onLeadershipGained(Runnable listener) {
        leadershipGained.add(listener);
    }

    /**
     * issue 12: whether this member's client listener accepts connections (the appliance sets it once its TCP
     * listener is bound; default: always). A leader commits sessionLost for the sessions it does not hold, which
     * starts their leases' reclaim grace, only while it leads with quorum <em>and</em> its clients can connect: the
     * grace counts from the moment the clients can reclaim here, not from an election won before the listener opened.
     */
    public void clientsCanConnect(java.util.function.BooleanSupplier accepting) {
        this.clientsCanConnect = accepting == null ? () -> true : accepting;
    }

    private volatile java.util.function.BooleanSupplier clientsCanConnect = () -> true;
    /** Whether the leader duties already said that the grace of foreign sessions waits for the listener. */
    private volatile boolean graceWaitLogged;

    // ------------------------------------------------------------------ state

    public boolean isLeader() {
        return raft != null && raft.isLeader();
    }

    public String role() {
        if (raft == null) {
            return "stopped";
        }
        return raft.isLeader() ? "leader" : raft.leader() == null ? (quorumVisible() ? "candidate" : "no-quorum") : "follower";
    }

    public long term() {
        return raft == null ? 0 : raft.currentTerm();
    }

    public long commitIndex() {
        return raft == null ? 0 : raft.commitIndex();
    }

    /** Ledger commands applied on this member (GRANTED's log_index for grants decided here). */
    public long appliedIndex() {
        return stateMachine.index();
    }

    public LedgerStateMachine stateMachine() {
        return stateMachine;
    }

    public String self() {
        return config.self();
    }

    /** True when this member sees a majority of the triad (itself included) in its view. */
    public boolean quorumVisible() {
        View v = channel == null ? null : channel.getView();
        return v != null && v.size() >= config.members().size() / 2 + 1;
    }

    /** The leader's raft id, or "" if none is known. */
    public String leaderId() {
        Address a = raft == null ? null : raft.leader();
        return a == null ? "" : a.toString();
    }

    /** The leader's client host:port, or "" if none is known. */
    public String leaderClientAddress() {
        String leader = leaderId();
        String address = directory.clientAddressOf(leader);
        if (address.isEmpty() && !leader.isEmpty() && config.discovers()) {
            refreshSoon(); // a leader that published after the last read: the next hint names it
        }
        return address;
    }

    private final java.util.concurrent.atomic.AtomicLong lastEagerRefreshMs = new java.util.concurrent.atomic.AtomicLong();

    /** An extra read of discovery_dir on the duty thread (never this one: it may be an event loop), at most every 100 ms. */
    private void refreshSoon() {
        long now = System.nanoTime() / 1_000_000;
        long last = lastEagerRefreshMs.get();
        if (now - last < 100 || !lastEagerRefreshMs.compareAndSet(last, now)) {
            return;
        }
        try {
            duties.execute(directory::refresh);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closing
        }
    }

    /** The members' client addresses (configured, or published through {@code discovery_dir}). */
    public MemberDirectory directory() {
        return directory;
    }

    /**
     * The port the Raft transport bound (the configured one, or what the kernel gave for a port 0), once
     * {@link #start()} has joined; -1 before.
     */
    public int boundRaftPort() {
        int p = ports.port(BoundPortRecorder.TRANSPORT);
        return p > 0 ? p : (joined ? config.selfMember().raftPort() : -1);
    }

    /** The member that owns a session id (its 1-based index), from the id's prefix. */
    public static int ownerOf(long sessionId) {
        return (int) (sessionId >>> SESSION_ID_SHIFT);
    }

    public long sessionIdBase() {
        return ((long) config.selfIndex()) << SESSION_ID_SHIFT;
    }

    /** role, term, commit index, applied index, leader, quorum, members (for the status JSON). */
    public JsonObject statusJson() {
        JsonObject o = new JsonObject()
                .put("self", config.self())
                .put("role", role())
                .put("term", term())
                .put("commit_index", commitIndex())
                .put("applied_index", appliedIndex())
                .put("leader", leaderId())
                .put("leader_address", leaderClientAddress())
                .put("quorum", hasQuorum());
        long now = clock.getAsLong();
        boolean leading = isLeader();
        o.put("fencing", new JsonObject()
                .put("bound_ms", fenceBoundMs())
                .put("fenced", leading && fenced(now))
                .put("last_majority_ack_ms_ago", leading ? Math.max(0, now - lastMajorityAckMs) : null)
                .put("fenced_heartbeats", fencedHeartbeats.get()));
        o.put("leaderships_won", leadershipsWon.get());
        TriadConfig.QuorumLoss rule = config.quorumLoss();
        long without = withoutQuorumMs(now);
        o.put("quorum_loss", new JsonObject()
                .put("rule", rule.revoke() ? "revoke" : "keep_leases_for")
                .put("keep_leases_for_ms", rule.revoke() ? null : rule.keepLeasesForMs())
                .put("without_quorum_ms", without)
                .put("renewing_held_leases", without > 0 && !rule.revoke() && without < rule.keepLeasesForMs())
                .put("revoking_held_leases", without >= (rule.revoke() ? leaseTimeoutMs : rule.keepLeasesForMs())));
        View v = channel == null ? null : channel.getView();
        io.vertx.core.json.JsonArray members = new io.vertx.core.json.JsonArray();
        for (TriadConfig.Member m : config.members()) {
            boolean up = false;
            if (v != null) {
                for (Address a : v.getMembers()) {
                    up |= m.id().equals(String.valueOf(a));
                }
            }
            JsonObject mo = new JsonObject().put("id", m.id()).put("client", directory.clientAddressOf(m.id())).put("in_view", up);
            mo.mergeIn(lag(m.id()));
            members.add(mo);
        }
        o.put("members", members);
        if (raft != null) {
            o.put("log_size", raft.logSize());
        }
        o.put("group_commit", batcher.statusJson());
        o.put("stuck", stuckReports.get());
        return o;
    }

    /**
     * One member's replication lag, for the status JSON. On the leader (which alone knows the others'
     * progress, from jgroups-raft's commit table): {@code match_index} (the member's last log entry known to
     * match the leader's), {@code lag} = the leader's last appended index minus it (0 for the leader itself),
     * {@code lag_source: "leader"}. On a follower, only its own row has figures: {@code lag} = its last
     * appended index minus its applied commit index (entries received, not yet committed / applied),
     * {@code lag_source: "self"}; the other rows have {@code lag: null} (ask the leader's status).
     */
    JsonObject lag(String memberId) {
        JsonObject o = new JsonObject();
        org.jgroups.protocols.raft.RAFT r = raft == null ? null : raft.raft();
        if (r == null) {
            return o.put("lag", null);
        }
        long last = r.lastAppended();
        if (r.isLeader()) {
            if (memberId.equals(config.self())) {
                return o.put("match_index", last).put("lag", 0L).put("lag_source", "leader");
            }
            org.jgroups.raft.util.CommitTable table = r.commitTable();
            if (table != null) {
                for (Address a : table.keys()) {
                    if (memberId.equals(String.valueOf(a))) {
                        org.jgroups.raft.util.CommitTable.Entry e = table.get(a);
                        if (e != null) {
                            long match = e.matchIndex();
                            return o.put("match_index", match).put("lag", Math.max(0, last - match))
                                    .put("lag_source", "leader");
                        }
                    }
                }
            }
            return o.put("match_index", null).put("lag", null).put("lag_source", "leader"); // not in view
        }
        if (memberId.equals(config.self())) {
            return o.put("match_index", last).put("lag", Math.max(0, last - r.commitIndex())).put("lag_source", "self");
        }
        return o.put("lag", null);
    }

    // ------------------------------------------------------------------ commands

    /**
     * Proposes a checkout (or RECLAIM). Completes, on a JGroups or duty thread, with the ledger's outcome
     * once committed; exceptionally with a {@link TriadRefusal} (notMaster / noQuorum) when this member may
     * not grant. A GRANTED outcome is fenced (see the class comment).
     */
    public CompletableFuture<LedgerStateMachine.Applied<CheckoutOutcome>> checkout(CheckoutCommand c) {
        if (c.reclaimLeaseId() != null && raft != null && !hasQuorum()) {
            return reclaimWithoutQuorum(c); // the quorum-loss rule, as for heartbeats (SDKs RECLAIM after reconnecting)
        }
        return propose(new LedgerCommand.Checkout(c), true, CheckoutOutcome.class).thenApply(a -> {
            if (a.value() instanceof CheckoutOutcome.Granted g) {
                heartbeatDeadlines.put(g.lease().leaseId(), clock.getAsLong() + leaseTimeoutMs);
            }
            return a;
        });
    }

    public CompletableFuture<LedgerStateMachine.Applied<ErrorCode>> checkin(ClientRef client, UUID leaseId, long nowMs) {
        return checkin(client, leaseId, null, nowMs);
    }

    /** CHECKIN presenting the hash of a reclaim secret ({@code null}: none). */
    public CompletableFuture<LedgerStateMachine.Applied<ErrorCode>> checkin(ClientRef client, UUID leaseId,
                                                                 dev.turnstile.appliance.seat.SecretHash presented,
                                                                 long nowMs) {
        return propose(new LedgerCommand.Checkin(client, leaseId, nowMs, presented), false, ErrorCode.class);
    }

    public CompletableFuture<LedgerStateMachine.Applied<Integer>> releaseAll(ClientRef client, long nowMs) {
        return propose(new LedgerCommand.ReleaseAll(client, nowMs), false, Integer.class);
    }

    public CompletableFuture<LedgerStateMachine.Applied<Void>> sessionLost(long sessionId, long nowMs) {
        return propose(new LedgerCommand.SessionLost(sessionId, nowMs), false, Void.class);
    }

    public CompletableFuture<LedgerStateMachine.Applied<ErrorCode>> forceRelease(UUID leaseId, long nowMs) {
        return propose(new LedgerCommand.ForceRelease(leaseId, nowMs), false, ErrorCode.class);
    }

    public CompletableFuture<LedgerStateMachine.Applied<Void>> upsertEntitlement(dev.turnstile.appliance.seat.Entitlement e,
                                                                          long nowMs) {
        return propose(new LedgerCommand.UpsertEntitlement(e, nowMs), false, Void.class);
    }

    public CompletableFuture<LedgerStateMachine.Applied<Void>> removeEntitlement(String entitlementId, long nowMs) {
        return propose(new LedgerCommand.RemoveEntitlement(entitlementId, nowMs), false, Void.class);
    }

    /**
     * store: proposes a journal mark: fixes the triad journal id (the first applied wins) and confirms the journal
     * written up to {@code writtenUpTo} ({@link JournalKeys}). Leader only; completes once committed and applied.
     */
    public CompletableFuture<LedgerStateMachine.Applied<Void>> journalMark(UUID journalId, long writtenUpTo) {
        return propose(new LedgerCommand.JournalMark(journalId, writtenUpTo, clock.getAsLong()), false, Void.class);
    }

    /**
     * HEARTBEAT: not a log entry. On the leader, the local ledger checks ownership and the leader notes the new
     * deadline and commits an expiry if it passes without another heartbeat.
     */
    public List<Message.LeaseStatus> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
        if (!isLeader() || !quorumVisible()) {
            if (hasQuorum()) {
                lastQuorumMs = Math.max(lastQuorumMs, nowMs);
            } else {
                return heartbeatWithoutQuorum(leaseIds, nowMs);
            }
            // A non-leader does not know the heartbeats; leaseIdNotFound would make the client drop its token.
            // notMaster / noQuorum per lease: the client fails over and reclaims on the leader.
            int code = refusal().code().code();
            List<Message.LeaseStatus> out = new ArrayList<>(leaseIds.size());
            for (UUID id : leaseIds) {
                out.add(new Message.LeaseStatus(id, code, 0));
            }
            return out;
        }
        if (fenced(nowMs)) {
            // a leader the majority may have replaced: renew nothing, answer as a member without quorum
            fencedHeartbeats.incrementAndGet();
            return heartbeatWithoutQuorum(leaseIds, nowMs);
        }
        List<Message.LeaseStatus> raw = ledger.heartbeat(client, leaseIds, nowMs);
        List<Message.LeaseStatus> out = new ArrayList<>(raw.size());
        for (Message.LeaseStatus s : raw) {
            if (s.code() == 0) {
                heartbeatDeadlines.put(s.leaseId(), nowMs + leaseTimeoutMs);
                out.add(new Message.LeaseStatus(s.leaseId(), 0, leaseTimeoutMs));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * How long a leader may go without a majority's acknowledgement and still renew leases: the failure detector's
     * {@code failure_timeout}. The others cannot suspect this member sooner than that after its last message reached
     * them (FD_ALL3), then VERIFY_SUSPECT2 and an election follow; so a leader that stops renewing once its latest
     * committed proposal is older than this never renews after another leader could exist. (A closed connection is
     * seen at once by FD_SOCK2, but on both ends: this member's view loses its majority too, and a member without a
     * majority in view renews nothing anyway.) The leader keeps the proof fresh by committing a probe every third of
     * it when idle ({@link #leaderDuties}).
     */
    public long fenceBoundMs() {
        return config.failureTimeoutMs();
    }

    /** Whether this leader renews no lease now: no majority acknowledged it within {@link #fenceBoundMs()}. */
    public boolean fenced(long nowMs) {
        return nowMs - lastMajorityAckMs > fenceBoundMs();
    }

    /** Elections this member won since it started (status JSON, metrics). */
    public long leadershipsWon() {
        return leadershipsWon.get();
    }

    /** The member's clock (the one its lease decisions use). */
    public long nowMs() {
        return clock.getAsLong();
    }

    /** Heartbeats this member answered as fenced (for the status JSON and metrics). */
    public long fencedHeartbeats() {
        return fencedHeartbeats.get();
    }

    /**
     * The quorum-loss rule ({@link TriadConfig.QuorumLoss}): a member without quorum renews the leases of its
     * replicated ledger during the failsafe period ({@code keep_leases_for}), answers noQuorum before the rule
     * revokes (the first lease timeout under {@code revoke}), and licenseCheckoutExpired after. A lease id this
     * member does not know is answered noQuorum (its ledger may lag: the client keeps looking for a leader).
     */
    List<Message.LeaseStatus> heartbeatWithoutQuorum(List<UUID> leaseIds, long nowMs) {
        TriadConfig.QuorumLoss rule = config.quorumLoss();
        long without = Math.max(0, nowMs - lastQuorumMs);
        long revokeAfter = rule.revoke() ? leaseTimeoutMs : rule.keepLeasesForMs();
        boolean failsafe = !rule.revoke() && without < rule.keepLeasesForMs();
        List<Message.LeaseStatus> out = new ArrayList<>(leaseIds.size());
        for (UUID id : leaseIds) {
            boolean known = ledger.lease(id).map(l -> l.state() == LeaseState.HELD || l.state() == LeaseState.ORPHANED)
                    .orElse(false);
            if (known && failsafe) {
                out.add(new Message.LeaseStatus(id, 0, Math.max(1, Math.min(leaseTimeoutMs, rule.keepLeasesForMs() - without))));
            } else if (known && without >= revokeAfter) {
                out.add(new Message.LeaseStatus(id, ErrorCode.LICENSE_CHECKOUT_EXPIRED.code(), 0));
            } else {
                out.add(new Message.LeaseStatus(id, ErrorCode.NO_QUORUM.code(), 0));
            }
        }
        return out;
    }

    /**
     * RECLAIM on a member without quorum: the quorum-loss rule decides, as for a heartbeat of the same lease
     * ({@link #heartbeatWithoutQuorum}). A client whose session ended (the member stepped down when it lost the
     * majority and closed its sessions) reconnects and RECLAIMs before it heartbeats again, so without this the
     * rule would never reach it: it would get noQuorum forever, under either rule. Under the failsafe the lease
     * (HELD or ORPHANED in this member's replicated ledger, same client id and hardware id) is answered as
     * reclaimed without a log entry (nothing can commit; no seat is added: it is the same lease, renewed as its
     * heartbeats are); after the rule's period, licenseCheckoutExpired (the client drops it); otherwise noQuorum.
     */
    CompletableFuture<LedgerStateMachine.Applied<CheckoutOutcome>> reclaimWithoutQuorum(CheckoutCommand c) {
        UUID id = c.reclaimLeaseId();
        LeaseView l = ledger.lease(id).orElse(null);
        boolean known = l != null && (l.state() == LeaseState.HELD || l.state() == LeaseState.ORPHANED)
                && l.clientId().equals(c.client().clientId()) && l.hwId().equals(c.client().hwId())
                && l.productId().equals(c.product());
        if (known && !SeatLedger.provesOwnership(l, c.presentedSecret(), c.client(), ledger.settings().legacyReclaim())) {
            // protocol 1.1: without a log entry too, identifiers alone never take a lease (PROTOCOL.md 10.6)
            return CompletableFuture.completedFuture(new LedgerStateMachine.Applied<>(stateMachine.index(), term(),
                    (CheckoutOutcome) new CheckoutOutcome.Denied(ErrorCode.RECLAIM_SECRET_MISMATCH, SeatLedger.notProven(id))));
        }
        Message.LeaseStatus rule = known ? heartbeatWithoutQuorum(List.of(id), c.nowMs()).get(0) : null;
        if (rule != null && rule.code() == 0) {
            LOG.info("triad: {} without quorum renews lease {} on reclaim ({})", config.self(), id,
                    config.quorumLoss().describe());
            return CompletableFuture.completedFuture(new LedgerStateMachine.Applied<>(stateMachine.index(), term(),
                    (CheckoutOutcome) new CheckoutOutcome.Granted(l, true)));
        }
        if (rule != null && rule.code() == ErrorCode.LICENSE_CHECKOUT_EXPIRED.code()) {
            return CompletableFuture.failedFuture(new TriadRefusal(ErrorCode.LICENSE_CHECKOUT_EXPIRED, "",
                    "triad member " + config.self() + " has had no quorum for " + withoutQuorumMs(c.nowMs())
                            + " ms; quorum_loss " + config.quorumLoss().describe() + " ended lease " + id));
        }
        return CompletableFuture.failedFuture(refusal());
    }

    /** A leader is known and a majority is in this member's view. */
    public boolean hasQuorum() {
        return quorumVisible() && !leaderId().isEmpty();
    }

    /** How long this member has been without quorum (0 while it has one). */
    public long withoutQuorumMs(long nowMs) {
        return hasQuorum() ? 0 : Math.max(0, nowMs - lastQuorumMs);
    }

    /** The refusal a non-leader gives now. */
    public TriadRefusal refusal() {
        if (!quorumVisible() || leaderId().isEmpty()) {
            return new TriadRefusal(ErrorCode.NO_QUORUM, "", "triad member " + config.self()
                    + " cannot reach a majority of the triad; try another member");
        }
        return new TriadRefusal(ErrorCode.NOT_MASTER, leaderClientAddress(), "triad member " + config.self()
                + " is not the leader; the leader is " + leaderId() + " at " + leaderClientAddress());
    }

    private <T> CompletableFuture<LedgerStateMachine.Applied<T>> propose(LedgerCommand c, boolean fenced, Class<T> type) {
        if (raft == null || !raft.isLeader() || !quorumVisible()) {
            return CompletableFuture.failedFuture(refusal());
        }
        final long term = raft.currentTerm();
        takeOver(term);
        final long proposedAtMs = clock.getAsLong();
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        batcher.submit(new Proposal(c, term, f));
        return f.orTimeout(commitTimeoutMs, TimeUnit.MILLISECONDS).handle((result, err) -> {
            if (err != null) {
                Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                if (cause instanceof TimeoutException) {
                    if (raft.isLeader() && quorumVisible()) {
                        long nowMs = clock.getAsLong();
                        stuckSinceMs.compareAndSet(0, nowMs);
                        long stuckFor = nowMs - stuckSinceMs.get();
                        // a paused leader that resumes also times out for a moment, until the merged view or a
                        // higher term reaches it (1 to 3 s): only a leader stuck for much longer is reported
                        if (stuckTimeouts.incrementAndGet() >= STUCK_TIMEOUTS && stuckFor >= STUCK_COMMIT_TIMEOUTS * commitTimeoutMs) {
                            reportStuck(stuckTimeouts.get() + " proposals in a row over " + stuckFor + " ms not committed within "
                                    + commitTimeoutMs + " ms although a majority is in view (term " + term + ")");
                        }
                    }
                    throw new TriadRefusal(ErrorCode.NO_QUORUM, "", "the triad did not commit within "
                            + commitTimeoutMs + " ms (no majority reachable from " + config.self() + ")");
                }
                if (cause instanceof TriadRefusal r) {
                    throw r;
                }
                LOG.debug("triad: proposal failed on {}: {}", config.self(), cause.toString());
                throw refusal();
            }
            LedgerStateMachine.Applied<T> a = LedgerStateMachine.decodeResult(result).as(type);
            lastCommitMs = clock.getAsLong();
            if (raft.isLeader() && raft.currentTerm() == term) { // a majority acknowledged this term's leader by then
                lastMajorityAckMs = Math.max(lastMajorityAckMs, proposedAtMs);
            }
            stuckTimeouts.set(0);
            stuckSinceMs.set(0);
            if (fenced && (!raft.isLeader() || raft.currentTerm() != term)) {
                // Committed, but this member is no longer the leader of the term it proposed in: never
                // answer a grant from here. The new leader treats the lease's session as lost (reclaim grace).
                LOG.info("triad: {} lost leadership (term {} -> {}) while committing; answering notMaster",
                        config.self(), term, raft.currentTerm());
                throw refusal().code() == ErrorCode.NO_QUORUM ? refusal()
                        : new TriadRefusal(ErrorCode.NOT_MASTER, leaderClientAddress(), "leadership changed");
            }
            return a;
        });
    }

    /**
     * A member that leads with a majority in view but whose entries are not committed (the others follow another
     * leader: seen once after a partition healed, jgroups-raft keeping two members that each believed they led the
     * same term) cannot repair that from inside: jgroups-raft's RAFT closes its log on disconnect and cannot be
     * started again on the same channel, and a fresh channel would replay the log into a ledger that already
     * holds it. So the member reports itself stuck, once: {@link #onStuck} decides. The appliance process exits
     * with status {@link #EXIT_STUCK} (systemd's Restart=on-failure starts it again, and a restarted member
     * rejoins as a follower from its state directory: the tested path); without a handler it only logs.
     */
    public void reportStuck(String why) {
        if (!stuckReported.compareAndSet(false, true)) {
            return;
        }
        stuckReports.incrementAndGet();
        LOG.error("triad: {} is stuck and must rejoin the triad: {}", config.self(), why);
        Consumer<String> h = stuckHandler;
        if (h != null) {
            try {
                h.accept(why);
            } catch (RuntimeException e) {
                LOG.error("triad: the stuck handler failed", e);
            }
        }
    }

    /** Tests only: a commit timeout no commit can meet, to provoke the stuck-leader check. */
    void commitTimeoutForTests(long ms) {
        this.commitTimeoutMs = ms;
    }

    /** The exit status of an appliance process that leaves because its triad member is stuck (EX_TEMPFAIL). */
    public static final int EXIT_STUCK = 75;

    private volatile Consumer<String> stuckHandler;

    /** What to do when this member is stuck (see {@link #reportStuck}); called once, on a JGroups or duty thread. */
    public void onStuck(Consumer<String> handler) {
        this.stuckHandler = handler;
    }

    /** How often this member found itself stuck (leading with a majority in view, unable to commit). */
    public long stuckReports() {
        return stuckReports.get();
    }

    /** One command on its way into the log: the term it was proposed in, and the raw result it waits for. */
    record Proposal(LedgerCommand command, long term, CompletableFuture<byte[]> result) {
    }

    /**
     * Group commit. Every command is a log entry, and each entry costs the leader and both followers an append
     * (an fsync with {@code triad.fsync}), a replication round and an apply call: the cost that kept a triad
     * leader at 4 to 13 % of a single appliance's checkout rate. So at most {@link #MAX_IN_FLIGHT} entries are
     * in flight; what sessions propose meanwhile queues here and goes into the next entry as one
     * {@link LedgerCommand.Batch} (up to {@link LedgerCommand#MAX_BATCH} commands), applied in queue order with
     * one index and one result per command. Alone, a command goes at once as its own entry: under light load
     * nothing waits. Never blocks: submit only enqueues; the next entry is proposed by whoever completes one.
     */
    final class Batcher {
        static final int MAX_IN_FLIGHT = 2;
        private final java.util.ArrayDeque<Proposal> queue = new java.util.ArrayDeque<>();
        private int inFlight;
        private long entries;
        private long commands;

        void submit(Proposal p) {
            synchronized (this) {
                queue.add(p);
            }
            drain();
        }

        /** Proposes queued commands while fewer than MAX_IN_FLIGHT entries are in flight. */
        void drain() {
            while (true) {
                List<Proposal> batch;
                synchronized (this) {
                    if (inFlight >= MAX_IN_FLIGHT || queue.isEmpty()) {
                        return;
                    }
                    int n = Math.min(queue.size(), LedgerCommand.MAX_BATCH);
                    batch = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        batch.add(queue.poll());
                    }
                    inFlight++;
                    entries++;
                    commands += n;
                }
                send(batch);
            }
        }

        private void send(List<Proposal> batch) {
            CompletableFuture<byte[]> f;
            List<Proposal> sent = new ArrayList<>(batch.size());
            try {
                long term = raft.currentTerm();
                List<LedgerCommand> cs = new ArrayList<>(batch.size());
                for (Proposal p : batch) {
                    if (p.term() != term || !raft.isLeader()) {
                        // proposed in an earlier term (or leadership is gone): never into this term's log
                        p.result().completeExceptionally(refusal());
                    } else if (!p.result().isDone()) { // (not timed out while queued)
                        cs.add(p.command());
                        sent.add(p);
                    }
                }
                if (cs.isEmpty()) {
                    f = CompletableFuture.completedFuture(null);
                } else {
                    byte[] bytes = cs.size() == 1 ? LedgerCommand.encode(term, cs.get(0))
                            : LedgerCommand.encode(term, new LedgerCommand.Batch(cs, clock.getAsLong()));
                    f = raft.setAsync(bytes, 0, bytes.length);
                }
            } catch (Exception e) {
                f = CompletableFuture.failedFuture(e);
            }
            // bounded: an entry that never completes must not hold its in-flight slot forever
            f.orTimeout(commitTimeoutMs, TimeUnit.MILLISECONDS).whenComplete((result, err) -> {
                synchronized (this) {
                    inFlight--;
                }
                try {
                    complete(sent, result, err);
                } finally {
                    drain();
                }
            });
        }

        /** {@code sent}: the proposals in the entry, in its order (one result each, even if one timed out meanwhile). */
        private void complete(List<Proposal> sent, byte[] result, Throwable err) {
            if (sent.isEmpty()) {
                return;
            }
            if (err != null || result == null) {
                Throwable e = err != null ? err : new IllegalStateException("no result");
                for (Proposal p : sent) {
                    p.result().completeExceptionally(e);
                }
            } else if (sent.size() == 1) {
                sent.get(0).result().complete(result);
            } else {
                byte[][] parts = LedgerStateMachine.splitBatchResult(result);
                for (int i = 0; i < sent.size(); i++) {
                    sent.get(i).result().complete(parts[i]);
                }
            }
        }

        synchronized JsonObject statusJson() {
            return new JsonObject().put("entries", entries).put("commands", commands).put("queued", queue.size())
                    .put("in_flight", inFlight);
        }
    }

    // ------------------------------------------------------------------ leadership

    private void onRole(Role role) {
        boolean leader = role == Role.Leader;
        if (leader && !wasLeader) {
            leaderSinceMs = clock.getAsLong();
            lastCommitMs = leaderSinceMs;
            lastMajorityAckMs = leaderSinceMs; // the votes of a majority, just now
            leadershipsWon.incrementAndGet();
            stuckTimeouts.set(0);
            stuckSinceMs.set(0);
            heartbeatDeadlines.clear();
            wasLeader = true;
            LOG.info("triad: {} is leader (term {}); holding replicated leases for {} ms before expiring any",
                    config.self(), term(), Math.max(leaseTimeoutMs, reclaimGraceMs));
            for (Runnable r : leadershipGained) {
                r.run();
            }
            // At once, not at the next duty run (up to 100 ms): the previous leader's sessions are lost, and their
            // waiters must leave the queues before a seat frees up, or a seat goes to a waiter nobody can hear
            // (found by a_seat_checked_in_during_a_failover_reaches_the_waiting_checkout_promptly).
            try {
                duties.execute(this::leaderDuties);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // closing
            }
        } else if (!leader && wasLeader) {
            wasLeader = false;
            String next = leaderClientAddress();
            LOG.info("triad: {} is no longer leader (term {}, new leader {})", config.self(), term(),
                    next.isEmpty() ? "unknown" : next);
            for (Consumer<String> l : leadershipLost) {
                try {
                    l.accept(next);
                } catch (RuntimeException e) {
                    LOG.warn("triad: leadership-lost listener failed", e);
                }
            }
        }
    }

    /** The term whose takeover entries are in the batcher (-1: none yet); see {@link #takeOver}. */
    private volatile long takenOverTerm = -1;
    /** Whether that takeover ran with the client listener accepting (before it, foreign sessions wait). */
    private volatile boolean takenOverWithClients;
    private final Object takeoverLock = new Object();

    /**
     * The first proposal of a term, from any thread, first submits a {@link LedgerCommand.Takeover}: applied, it ends
     * every session this member holds no socket for (the previous leader's: their sockets are gone), and it precedes
     * every client command of the term in the log. It is decided when applied, after every entry of earlier terms,
     * which this member may not have applied yet now (a new leader learns what is committed only once an entry of its
     * own term commits): a SessionLost per session found in the ledger now missed a waiter the old leader queued just
     * before it died, and a seat given back in the new leader's first moments (the holder reclaims, then checks in,
     * about 60 ms after the election) went to that waiter, whom nobody could hear, and stayed parked as an orphan for
     * the reclaim grace while the waiter, sent here again, waited
     * ({@code TriadAppliancesTest.a_seat_checked_in_during_a_failover_reaches_the_waiting_checkout_promptly}).
     * Other proposers wait on the lock until the takeover is submitted; the proposal the takeover itself makes passes
     * through (the lock is reentrant and the term is marked first). Before the client listener accepts, foreign
     * sessions keep their leases (issue 12: the grace starts when clients can connect), so the takeover is submitted
     * once it does.
     */
    private void takeOver(long term) {
        boolean clients = clientsCanConnect.getAsBoolean();
        if (takenOverTerm == term && (takenOverWithClients || !clients)) {
            return;
        }
        synchronized (takeoverLock) {
            if (takenOverTerm == term && (takenOverWithClients || !clients)) {
                return; // done by another thread meanwhile, or this thread's own takeover proposing
            }
            long previous = takenOverTerm;
            boolean previousWithClients = takenOverWithClients;
            takenOverTerm = term;
            takenOverWithClients = clients;
            try {
                if (clients) {
                    int self = config.selfIndex();
                    List<Long> lostOwn = new ArrayList<>(); // this member's own, from an earlier term of its own
                    for (Long sid : foreignSessions()) {
                        if (ownerOf(sid) == self) {
                            lostOwn.add(sid);
                        }
                    }
                    submitDuty("takeover-" + term, new LedgerCommand.Takeover(self, lostOwn, clock.getAsLong()));
                }
            } catch (RuntimeException e) {
                takenOverTerm = previous;
                takenOverWithClients = previousWithClients;
                throw e;
            }
        }
    }

    /**
     * Sessions this member holds no socket for, with a HELD lease or a waiting checkout in the ledger: the previous
     * leader's (and this member's own from an earlier term, closed when it stepped down).
     */
    private Set<Long> foreignSessions() {
        int self = config.selfIndex();
        java.util.function.LongPredicate liveHere = liveSession;
        Set<Long> foreign = new HashSet<>();
        for (LeaseView l : ledger.leases()) {
            if (l.state() == LeaseState.HELD && (ownerOf(l.sessionId()) != self || !liveHere.test(l.sessionId()))) {
                foreign.add(l.sessionId());
            }
        }
        if (ledger.waiterCount() > 0) {
            for (dev.turnstile.appliance.seat.SeatLedger.SnapshotWaiter w : ledger.locked(l -> l.snapshotWaiters())) {
                long sid = w.client().sessionId();
                if (ownerOf(sid) != self || !liveHere.test(sid)) {
                    foreign.add(sid);
                }
            }
        }
        return foreign;
    }

    /** Runs every {@link #DUTY_INTERVAL_MS} on the duty thread; does anything only on the leader. */
    private void leaderDuties() {
        try {
            // A paused leader (found by TriadChaos: SIGSTOP for 2.9 s with a 3 s lease timeout) must not expire,
            // the moment it resumes, leases whose heartbeats arrived on time and wait unread in its socket buffers:
            // it would revoke leases of clients that did nothing wrong. Time it did not run does not count.
            long ranAt = clock.getAsLong();
            long gap = lastDutyMs < 0 ? 0 : ranAt - lastDutyMs;
            lastDutyMs = ranAt;
            if (gap > PAUSE_MS) {
                // nor does it count as time without quorum (the quorum-loss rule's clock)
                lastQuorumMs += gap - DUTY_INTERVAL_MS;
            }
            if (gap > PAUSE_MS && !heartbeatDeadlines.isEmpty()) {
                long shift = gap - DUTY_INTERVAL_MS;
                heartbeatDeadlines.replaceAll((id, d) -> d + shift);
                LOG.warn("triad: {} did not run for {} ms; heartbeat deadlines moved {} ms later", config.self(), gap,
                        shift);
            }
            if (raft != null && hasQuorum()) {
                lastQuorumMs = Math.max(lastQuorumMs, clock.getAsLong());
            }
            if (raft == null || !raft.isLeader() || !quorumVisible() || stuckReported.get()) {
                return;
            }
            takeOver(raft.currentTerm()); // usually here, run at once on election, before any client proposes
            long now = clock.getAsLong();
            if (now - lastCommitMs > commitTimeoutMs || now - lastMajorityAckMs > fenceBoundMs() / 3) {
                // idle leader: one tick entry proves it can still commit (the stuck-leader check needs one) and
                // renews the majority's acknowledgement that fenced heartbeats require
                submitDuty("probe", new LedgerCommand.Tick(now));
            }
            long hold = leaderSinceMs + Math.max(leaseTimeoutMs, reclaimGraceMs);
            // Sessions with no socket here (HELD leases, waiting checkouts): nobody could receive their answers
            Set<Long> foreign = foreignSessions();
            Set<UUID> live = new HashSet<>();
            for (LeaseView l : ledger.leases()) {
                live.add(l.leaseId());
                if (l.state() != LeaseState.HELD || foreign.contains(l.sessionId())) {
                    continue;
                }
                long deadline = heartbeatDeadlines.computeIfAbsent(l.leaseId(), k -> Math.max(hold, now + leaseTimeoutMs));
                if (now >= deadline) {
                    submitDuty(l.leaseId(), new LedgerCommand.Expire(l.leaseId(), now));
                }
            }
            // Leases of the previous leader's sessions: those sockets are gone; the sessions are lost, so the
            // leases wait ORPHANED for the reclaim grace (clients reclaim them by id here), and their waiters leave.
            // issue 12: the grace starts (the command's time) once this member leads with quorum (checked above) and
            // its clients can connect; until then those leases stay HELD and keep their seats.
            if (!foreign.isEmpty() && !clientsCanConnect.getAsBoolean()) {
                if (!graceWaitLogged) {
                    graceWaitLogged = true;
                    LOG.info("triad: {} leads with quorum; the reclaim grace of {} session(s) it does not hold starts "
                            + "when its client listener accepts", config.self(), foreign.size());
                }
                foreign.clear();
            }
            for (Long sid : foreign) {
                submitDuty("session-" + sid, new LedgerCommand.SessionLost(sid, now));
            }
            heartbeatDeadlines.keySet().retainAll(live);
            if (ledger.nextDeadlineMs() <= now) {
                submitDuty("tick", new LedgerCommand.Tick(now));
            }
        } catch (RuntimeException e) {
            LOG.warn("triad: leader duties failed", e);
        }
    }

    private void submitDuty(Object key, LedgerCommand c) {
        if (!inFlight.add(key)) {
            return;
        }
        propose(c, false, Object.class).whenComplete((a, e) -> inFlight.remove(key));
    }
}
