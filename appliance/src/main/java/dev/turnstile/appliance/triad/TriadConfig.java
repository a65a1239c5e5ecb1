package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The {@code triad:} section. Absent or {@code enabled: false} (the default): a single server, nothing of
 * this package runs. Example:
 * <pre>
 * triad:
 *   enabled: true
 *   self: a                       # this member's id (one of members[].id)
 *   state_dir: /var/lib/turnstile/triad   # Raft log and snapshots (one file set per member id)
 *   members:
 *     - { id: a, raft: "10.0.0.1:7900", client: "10.0.0.1:7878" }
 *     - { id: b, raft: "10.0.0.2:7900", client: "10.0.0.2:7878" }
 *     - { id: c, raft: "10.0.0.3:7900", client: "10.0.0.3:7878" }
 *     # optional, per member: raft_advertise: "203.0.113.7:17900"   (see below)
 *   commit_timeout: 2s            # a command not committed by then is answered noQuorum
 *   failure_timeout: 4s           # FD_ALL3: a silent (hung) member is suspected after this
 *   failure_interval: 500ms       # FD_ALL3: heartbeat interval between members
 *   verify_suspect: 500ms         # VERIFY_SUSPECT2: a suspect gets this long to answer before it is removed
 *   max_log_bytes: 4194304        # log bytes kept before the ledger is snapshotted and the log truncated
 *                                 # (a checkout entry is about 150 bytes: about 28,000 entries)
 *   fsync: true                   # fsync every log append before acknowledging it (Raft's safety assumes a
 *                                 # durable log; false is faster and survives process kills, not power loss)
 *   quorum_loss: revoke           # (the default) or { keep_leases_for: 14d }: see {@link QuorumLoss}
 *   discovery_dir: ""             # only for members on one host with port 0: see below
 * </pre>
 * Failure detection (the reasons are in {@code package-info.java}): a killed member's TCP connections
 * close, FD_SOCK2 sees that at once and the view changes within about a second; a hung member (SIGSTOP,
 * long GC) is removed after failure_timeout + verify_suspect (about 4.5 s; 4 s because full GCs of a 1 GiB heap
 * paused members here for up to 2.9 s: bench/triad-gc.sh, figures in TRIAD.md).
 * <p>
 * {@code members[].raft_advertise} (optional, {@code host:port}; default: the member's {@code raft}): the address
 * the <em>other</em> members connect to, when it is not the one this member binds: behind NAT or a port
 * forward, or through a proxy (the partition tests put a proxy there). The member binds {@code raft} and
 * announces {@code raft_advertise} (JGroups TCP {@code external_addr} / {@code external_port}); every member
 * lists the others' advertised addresses for discovery. Failure detection (FD_SOCK2) follows the advertised
 * port: the member listens on its {@code raft} host at advertised port + 100 (the first free of + 100 .. + 119)
 * and the others connect to the advertised host at those ports, so a NAT must forward that range as well.
 * Outgoing connections to the other members are bound to the {@code raft} host.
 * <p>
 * {@code discovery_dir} (optional): a directory the three members share, for members on <em>one host</em> (tests, a
 * demo triad on one box). With it, a member's {@code raft} and {@code client} ports may be 0: the member binds what the
 * kernel gives and writes what it bound there, and {@link MemberDirectory} reads the others' (JGroups TCPPING's hosts,
 * WELCOME peers, leader hints).
 * Without it every port must be fixed: members on separate hosts cannot learn a port the kernel chose. Whoever may
 * write the directory can point clients elsewhere: give it the service user's permissions only.
 */
public record TriadConfig(boolean enabled, String self, List<Member> members, String stateDir, long commitTimeoutMs,
                          long failureTimeoutMs, long failureIntervalMs, long verifySuspectMs, long maxLogBytes, boolean fsync,
                          QuorumLoss quorumLoss, String discoveryDir) {

    public static final long DEFAULT_COMMIT_TIMEOUT_MS = 2_000;
    public static final long DEFAULT_FAILURE_TIMEOUT_MS = 4_000;
    public static final long DEFAULT_FAILURE_INTERVAL_MS = 500;
    public static final long DEFAULT_VERIFY_SUSPECT_MS = 500;
    public static final long DEFAULT_MAX_LOG_BYTES = 4L * 1024 * 1024;

    /**
     * One member: its Raft id, the host:port its JGroups transport binds ({@code raft}), the host:port the other
     * members connect to ({@code raft_advertise}: the same as {@code raft} unless set) and the host:port clients use.
     */
    public record Member(String id, String raftHost, int raftPort, String client, String advertiseHost,
                         int advertisePort) {
        public Member {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(raftHost, "raftHost");
            Objects.requireNonNull(client, "client");
            advertiseHost = advertiseHost == null || advertiseHost.isBlank() ? raftHost : advertiseHost;
            advertisePort = advertisePort <= 0 ? raftPort : advertisePort;
        }

        /** Without {@code raft_advertise}: the others connect to {@code raft}. */
        public Member(String id, String raftHost, int raftPort, String client) {
            this(id, raftHost, raftPort, client, raftHost, raftPort);
        }

        /** True when the kernel picks the raft port (0, only with {@code triad.discovery_dir}). */
        public boolean raftPortFromKernel() {
            return raftPort == 0;
        }

        /** The client port configured (0: the one the listener bound, published through {@code discovery_dir}). */
        public int clientPort() {
            return Integer.parseInt(client.substring(client.lastIndexOf(':') + 1));
        }

        /** The client host configured. */
        public String clientHost() {
            return client.substring(0, client.lastIndexOf(':'));
        }

        /** The bound address, JGroups style ({@code host[port]}). */
        public String raft() {
            return raftHost + "[" + raftPort + "]";
        }

        /** The address the other members connect to, JGroups style ({@code host[port]}). */
        public String advertised() {
            return advertiseHost + "[" + advertisePort + "]";
        }

        /** True when {@code raft_advertise} differs from {@code raft} (NAT, a proxy). */
        public boolean advertisesElsewhere() {
            return !advertiseHost.equals(raftHost) || advertisePort != raftPort;
        }
    }

    /**
     * What a member without a quorum (no leader it can reach, or not a majority in its view) does with the
     * leases clients already hold. It never grants a new one either way. {@code triad.quorum_loss}:
     * <ul>
     *   <li>{@code revoke} (the default): nobody renews. For the first lease timeout after quorum was lost,
     *       heartbeats are answered noQuorum (the client fails over and looks for a leader: a short election
     *       never costs a lease); after that, a member without quorum answers licenseCheckoutExpired for every
     *       lease it knows, and the client drops it. Never more than max_seats in use, at the price of
     *       stopping work during a long outage.</li>
     *   <li>{@code keep_leases_for: <duration>} (failsafe, e.g. {@code 14d}): for that long after it lost
     *       quorum, a member renews heartbeats of the leases in its replicated ledger (HELD or ORPHANED,
     *       identified by lease id, since the granting session was on the old leader), with at most the lease
     *       timeout and never past the end of the failsafe period; after it, as {@code revoke}. The price:
     *       if the triad is <b>partitioned</b> (one member cut off, the other two still a quorum), the
     *       majority's leader expires the cut-off clients' leases after the reclaim grace and may grant those
     *       seats again while the cut-off member keeps renewing them: up to max_seats plus the leases renewed
     *       on the minority side may be in use until the partition heals. Choose it when the plant must keep
     *       running through a long outage more than it must never exceed the count.</li>
     * </ul>
     */
    public record QuorumLoss(boolean revoke, long keepLeasesForMs) {
        public static final QuorumLoss REVOKE = new QuorumLoss(true, 0);
        public static final long MAX_KEEP_MS = 90L * 24 * 3600 * 1000;

        public static QuorumLoss keepLeasesFor(long ms) {
            return new QuorumLoss(false, ms);
        }

        /** For the status JSON and logs: "revoke" or "keep_leases_for 14d". */
        public String describe() {
            return revoke ? "revoke" : "keep_leases_for " + keepLeasesForMs + "ms";
        }
    }

    public static final TriadConfig DISABLED = new TriadConfig(false, "", List.of(), "", DEFAULT_COMMIT_TIMEOUT_MS,
            DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_FAILURE_INTERVAL_MS, DEFAULT_VERIFY_SUSPECT_MS, DEFAULT_MAX_LOG_BYTES, true);

    public TriadConfig {
        members = List.copyOf(members);
        quorumLoss = quorumLoss == null ? QuorumLoss.REVOKE : quorumLoss;
        discoveryDir = discoveryDir == null ? "" : discoveryDir;
    }

    /** Without {@code discovery_dir}: fixed ports, TCPPING. */
    public TriadConfig(boolean enabled, String self, List<Member> members, String stateDir, long commitTimeoutMs,
                       long failureTimeoutMs, long failureIntervalMs, long verifySuspectMs, long maxLogBytes, boolean fsync,
                       QuorumLoss quorumLoss) {
        this(enabled, self, members, stateDir, commitTimeoutMs, failureTimeoutMs, failureIntervalMs, verifySuspectMs,
                maxLogBytes, fsync, quorumLoss, "");
    }

    /** Whether members find each other through {@code discovery_dir} (members on one host, ports may be 0). */
    public boolean discovers() {
        return !discoveryDir.isBlank();
    }

    /** Without {@code quorum_loss}: the default rule, {@code revoke}. */
    public TriadConfig(boolean enabled, String self, List<Member> members, String stateDir, long commitTimeoutMs,
                       long failureTimeoutMs, long failureIntervalMs, long verifySuspectMs, long maxLogBytes, boolean fsync) {
        this(enabled, self, members, stateDir, commitTimeoutMs, failureTimeoutMs, failureIntervalMs, verifySuspectMs,
                maxLogBytes, fsync, QuorumLoss.REVOKE);
    }

    public Member selfMember() {
        for (Member m : members) {
            if (m.id().equals(self)) {
                return m;
            }
        }
        throw new ConfigException(List.of("triad.self: '" + self + "' is not one of triad.members[].id"));
    }

    /** 1-based position of this member in {@code members}; prefixes its session ids so they never collide. */
    public int selfIndex() {
        return members.indexOf(selfMember()) + 1;
    }

    /** The member with this id, or null. */
    public Member member(String raftId) {
        for (Member m : members) {
            if (m.id().equals(raftId)) {
                return m;
            }
        }
        return null;
    }

    /** Binds {@code triad:} of the configuration tree; absent means disabled. Throws every problem at once. */
    public static TriadConfig from(JsonObject root) {
        ConfigReader r = new ConfigReader();
        TriadConfig c = bind(root, r);
        r.throwIfAny();
        return c;
    }

    public static final ConfigKey TRIAD = ConfigKey.mapping("triad",
            "Three servers, of which any two keep the site licensed: the seat ledger replicated through Raft "
                    + "(appliance/TRIAD.md).");
    public static final ConfigKey ENABLED = ConfigKey.bool("triad.enabled", false,
            "Run as a member of a triad; off: a single server and nothing below applies");
    public static final ConfigKey SELF = ConfigKey.string("triad.self", "", "required when enabled",
            "This member's id, one of triad.members[].id");
    public static final ConfigKey STATE_DIR = ConfigKey.string("triad.state_dir", "", "required when enabled",
            "Directory of the Raft log and snapshots (one file set per member id)");
    public static final ConfigKey MEMBERS = ConfigKey.list("triad.members", "Exactly three members, the same list "
            + "on every member");
    public static final ConfigKey MEMBER_ID = ConfigKey.string("triad.members[].id", "", "required",
            "The member's Raft id, unique");
    public static final ConfigKey MEMBER_RAFT = ConfigKey.hostPortOrZero("triad.members[].raft", "required",
            "Address the member's Raft transport binds (port 0 only with triad.discovery_dir)");
    public static final ConfigKey MEMBER_CLIENT = ConfigKey.hostPortOrZero("triad.members[].client", "required",
            "Address clients connect to (announced in WELCOME and redirects; port 0 only with triad.discovery_dir: "
                    + "the port the member's client listener bound)");
    public static final ConfigKey MEMBER_RAFT_ADVERTISE = ConfigKey.hostPort("triad.members[].raft_advertise",
            "the member's raft", "Address the other members connect to when it is not the bound one (NAT, a proxy); "
                    + "failure detection then uses its port + 100 to + 119 as well");
    public static final ConfigKey COMMIT_TIMEOUT = ConfigKey.duration("triad.commit_timeout", DEFAULT_COMMIT_TIMEOUT_MS,
            100, 60_000, "A command not committed by then is answered noQuorum");
    public static final ConfigKey FAILURE_TIMEOUT = ConfigKey.duration("triad.failure_timeout",
            DEFAULT_FAILURE_TIMEOUT_MS, 200, 60_000, "A silent (hung) member is suspected after this (FD_ALL3)");
    public static final ConfigKey FAILURE_INTERVAL = ConfigKey.duration("triad.failure_interval",
            DEFAULT_FAILURE_INTERVAL_MS, 50, 10_000, "Heartbeat interval between members (FD_ALL3)");
    public static final ConfigKey VERIFY_SUSPECT = ConfigKey.duration("triad.verify_suspect", DEFAULT_VERIFY_SUSPECT_MS,
            50, 10_000, "A suspect gets this long to answer before it is removed (VERIFY_SUSPECT2)");
    public static final ConfigKey MAX_LOG_BYTES = ConfigKey.integer("triad.max_log_bytes", DEFAULT_MAX_LOG_BYTES, 1_024,
            1L << 40, "Log bytes kept before the ledger is snapshotted and the log truncated (a checkout entry is "
                    + "about 150 bytes)");
    public static final ConfigKey FSYNC = ConfigKey.bool("triad.fsync", true, "fsync every log append before "
            + "acknowledging it; false is faster and survives process kills, not power loss");
    public static final ConfigKey DISCOVERY_DIR = ConfigKey.string("triad.discovery_dir", "", "none: fixed ports",
            "Only for three members on one host: a directory they share, where each writes the raft and client "
                    + "address it bound and finds the others'; with it, members[].raft and members[].client may have "
                    + "port 0");
    public static final ConfigKey QUORUM_LOSS = ConfigKey.choiceOrMapping("triad.quorum_loss", "revoke",
            List.of("revoke", "{ keep_leases_for: <duration> }"), "What a member without quorum does with held leases: "
                    + "revoke (nobody renews; after one lease timeout they expire), or keep renewing them for the "
                    + "failsafe period (the price in a partition: TRIAD.md)");
    public static final ConfigKey QUORUM_LOSS_MODE = ConfigKey.choice("triad.quorum_loss.mode", "revoke",
            List.of("revoke", "keep_leases_for"), "The mapping form's rule; keep_leases_for when that key is given");
    public static final ConfigKey QUORUM_LOSS_KEEP = ConfigKey.duration("triad.quorum_loss.keep_leases_for", null,
            "none", 1_000, QuorumLoss.MAX_KEEP_MS, "How long after losing quorum a member keeps renewing held leases");

    public static ConfigSection section() {
        return ConfigSection.of(TRIAD, "Absent or enabled: false (the default): a single server. What is required "
                + "is required only when triad.enabled is true, so a disabled section may keep its members for later.",
                ENABLED, SELF, STATE_DIR, MEMBERS, MEMBER_ID, MEMBER_RAFT, MEMBER_CLIENT, MEMBER_RAFT_ADVERTISE,
                COMMIT_TIMEOUT, FAILURE_TIMEOUT, FAILURE_INTERVAL, VERIFY_SUSPECT, MAX_LOG_BYTES, FSYNC, QUORUM_LOSS,
                QUORUM_LOSS_MODE, QUORUM_LOSS_KEEP, DISCOVERY_DIR);
    }

    /**
     * Binds {@code triad:} into {@code r}: every key is read (so a disabled section may keep its members for later),
     * every problem is collected; what is required is required only when {@code triad.enabled} is true.
     * Returns {@link #DISABLED} when the section is off or has problems.
     */
    public static TriadConfig bind(JsonObject root, ConfigReader r) {
        int before = r.problems().size();
        JsonObject o = r.object(root, TRIAD);
        boolean enabled = r.bool(o, ENABLED);
        String self = r.string(o, SELF);
        JsonArray arr = r.array(o, MEMBERS);
        String discoveryDir = r.string(o, DISCOVERY_DIR);
        List<String> portZero = new ArrayList<>();
        List<Member> members = new ArrayList<>();
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < arr.size(); i++) {
            String key = "triad.members[" + i + "]";
            if (!(arr.getValue(i) instanceof JsonObject m)) {
                r.problem(key, "a mapping { id, raft, client }", arr.getValue(i));
                continue;
            }
            String id = r.string(m, MEMBER_ID, key);
            String raft = r.stringOr(m, MEMBER_RAFT, key, "");
            String client = r.stringOr(m, MEMBER_CLIENT, key, "");
            String advertise = r.stringOr(m, MEMBER_RAFT_ADVERTISE, key, raft);
            if (id.isBlank()) {
                if (enabled) {
                    r.problem(key + ".id: required (this member's name, e.g. a)");
                }
            } else if (!ids.add(id)) {
                r.problem(key + ".id", "an id no other member has", id);
            }
            int port = raft.isBlank() && !enabled ? 0 : hostPort(raft, key + ".raft", r, 0);
            int clientPort = -1;
            if (client.isBlank()) {
                if (enabled) {
                    r.problem(key + ".client: required (host:port clients connect to)");
                }
            } else {
                clientPort = hostPort(client, key + ".client", r, 0);
            }
            if (port == 0 && !raft.isBlank()) {
                portZero.add(key + ".raft");
            }
            if (clientPort == 0) {
                portZero.add(key + ".client");
            }
            int advertisePort = advertise.isBlank() || advertise.equals(raft) ? port
                    : hostPort(advertise, key + ".raft_advertise", r, 1);
            if (port >= 0 && advertisePort >= 0 && clientPort >= 0 && !id.isBlank()) {
                members.add(new Member(id, raft.substring(0, raft.lastIndexOf(':')), port, client,
                        advertise.substring(0, advertise.lastIndexOf(':')), advertisePort));
            }
        }
        String dir = r.string(o, STATE_DIR);
        long commit = r.durationMs(o, COMMIT_TIMEOUT);
        long failure = r.durationMs(o, FAILURE_TIMEOUT);
        long interval = r.durationMs(o, FAILURE_INTERVAL);
        long verify = r.durationMs(o, VERIFY_SUSPECT);
        long maxLog = r.integer(o, MAX_LOG_BYTES);
        boolean fsync = r.bool(o, FSYNC);
        QuorumLoss quorumLoss = quorumLoss(o, r);
        if (!enabled) {
            return DISABLED;
        }
        if (self.isBlank()) {
            r.problem("triad.self: required when triad.enabled is true (this member's id, one of triad.members[].id)");
        } else if (!ids.isEmpty() && !ids.contains(self)) {
            r.problem("triad.self: '" + self + "' is not one of triad.members[].id " + ids);
        }
        if (arr.size() != 3) {
            r.problem("triad.members: a triad has exactly 3 members, got " + arr.size());
        }
        if (dir.isBlank()) {
            r.problem("triad.state_dir: required (the Raft log and snapshots live there)");
        }
        if (!portZero.isEmpty() && discoveryDir.isBlank()) {
            r.problem(String.join(", ", portZero) + ": port 0 needs triad.discovery_dir (the others must learn the "
                    + "port the kernel picks; members on separate hosts need fixed ports)");
        }
        if (r.problems().size() > before) {
            return DISABLED;
        }
        return new TriadConfig(true, self, members, dir, commit, failure, interval, verify, maxLog, fsync, quorumLoss,
                discoveryDir);
    }

    /** The port (at least {@code min}) of a {@code host:port} setting, or -1 and a problem naming {@code key}. */
    static int hostPort(String value, String key, ConfigReader r, int min) {
        int colon = value.lastIndexOf(':');
        int port = -1;
        if (colon > 0) {
            try {
                port = Integer.parseInt(value.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
        }
        if (port < min || port > 65535) {
            r.problem(key, min == 0 ? "host:port (port 0: the kernel picks one)" : "host:port", value);
            return -1;
        }
        return port;
    }

    /** {@code quorum_loss: revoke}, {@code quorum_loss: {mode: revoke}} or {@code quorum_loss: {keep_leases_for: 14d}}. */
    static QuorumLoss quorumLoss(JsonObject o, ConfigReader r) {
        Object v = r.value(o, QUORUM_LOSS);
        if (v == null) {
            return QuorumLoss.REVOKE;
        }
        String expected = "'revoke' or { keep_leases_for: <duration, e.g. 14d> }";
        if (v instanceof String text) {
            if (!"revoke".equals(text.trim())) {
                r.problem("triad.quorum_loss", expected, text);
            }
            return QuorumLoss.REVOKE;
        }
        if (!(v instanceof JsonObject q)) {
            r.problem("triad.quorum_loss", expected, v);
            return QuorumLoss.REVOKE;
        }
        boolean keep = q.containsKey("keep_leases_for");
        String mode = r.stringOr(q, QUORUM_LOSS_MODE, null, keep ? "keep_leases_for" : "");
        long ms = r.durationMs(q, QUORUM_LOSS_KEEP);
        if ("revoke".equals(mode) && !keep) {
            return QuorumLoss.REVOKE;
        }
        if (!keep || !"keep_leases_for".equals(mode)) {
            r.problem("triad.quorum_loss", expected, q.encode());
            return QuorumLoss.REVOKE;
        }
        return QuorumLoss.keepLeasesFor(ms);
    }
}
