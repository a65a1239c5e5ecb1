/**
 * The redundant triad (PROTOCOL.md section 11, issue 8): three appliances, a quorum of two, one grantor.
 *
 * <h2>How it works</h2>
 * <ul>
 *   <li>{@link dev.turnstile.appliance.triad.TriadNode}: one member: a JGroups channel with jgroups-raft
 *       (RAFT + ELECTION2) and the leader's duties. Off unless {@code triad.enabled} (a single server does not
 *       load any of this).</li>
 *   <li>{@link dev.turnstile.appliance.triad.LedgerCommand}: every command that changes seat state (checkout
 *       and RECLAIM with the lease id the leader chose and its time, checkin, goodbye, expiry, tick, session
 *       lost, forced release, entitlement upsert / remove) is one Raft log entry.</li>
 *   <li>{@link dev.turnstile.appliance.triad.LedgerStateMachine}: applies committed entries to the
 *       appliance's ledger on every member, in log order; snapshots the ledger for the log.</li>
 *   <li>Heartbeats are not log entries. The replicated ledger runs with a lease timeout too long to matter
 *       ({@code TriadNode.REPLICATED_LEASE_TIMEOUT_MS}); the leader records each heartbeat's deadline and
 *       commits an {@code Expire} when one passes. A new leader knows no heartbeats yet, so it holds every
 *       replicated lease for max(lease timeout, reclaim grace) after taking over before expiring any.</li>
 *   <li>Sessions: session ids carry the member's index above bit 40, so two members' sessions never mix.
 *       The leader commits {@code SessionLost} for every HELD lease whose session has no socket on it (the
 *       previous leader's clients): those leases wait ORPHANED for the reclaim grace, and the client's
 *       RECLAIM on the new leader moves them, same id. A member that stops being leader sends NOTICE
 *       LEADER_CHANGED (text = the new leader's host:port, empty if not yet elected) to each session and
 *       closes it.</li>
 *   <li>Session path: {@code Session} hands the command to the node and stops reading its socket until the
 *       commit completes (answers stay in request order, PROTOCOL.md 5.3); the answer is written on the
 *       session's own context. The event loop never waits.</li>
 * </ul>
 *
 * <h2>Fencing</h2>
 * GRANTED is sent only for a checkout this member proposed as leader, that a majority committed, and while
 * this member is still leader in the same term at completion. Grants carry the term of the proposal and the
 * state machine's index (ledger commands applied since the log began; identical on every member).
 * A non-leader answers notMaster with the leader's client address, or noQuorum when it sees no majority or
 * no leader; a proposal not committed within {@code commit_timeout} is answered noQuorum. A paused leader
 * that resumes believing it leads cannot commit in its stale term, so it cannot grant.
 *
 * <h2>Quorum lost, sync, lag</h2>
 * A member without quorum never grants; what it answers to heartbeats of held leases is
 * {@code triad.quorum_loss} ({@link dev.turnstile.appliance.triad.TriadConfig.QuorumLoss}: {@code revoke}, the
 * default, or a bounded failsafe {@code keep_leases_for: 14d}; the trade-off is in TRIAD.md). Only the leader
 * calls the cloud ({@code Appliance.triadMaySync()} gates every sync; a new leader syncs at once). The status
 * JSON carries each member's match index and lag as the leader sees them ({@code TriadNode.lag}).
 *
 * <h2>Failure detection (defaults, and why)</h2>
 * <ul>
 *   <li>{@code FD_SOCK2}: a killed process's TCP connections are closed by its kernel; the neighbour sees
 *       it at once. Then {@code VERIFY_SUSPECT2} (500 ms) confirms, GMS installs the new view and ELECTION2
 *       (vote_timeout 300 ms) elects: a killed leader is replaced in well under the 3 s target (about 0.6 to
 *       1 s expected; measured in-JVM with a graceful leave: 78 to 117 ms, see TRIAD.md).</li>
 *   <li>{@code FD_ALL3} timeout 4 s, interval 500 ms: a hung member (SIGSTOP, a stuck disk, a long pause)
 *       is suspected after 4 s of silence and removed after another 500 ms of VERIFY_SUSPECT2: replaced in
 *       about 4.5 to 5 s. Why 4 s and not less: {@code bench/triad-gc.sh} forces full GCs (G1, the unit's
 *       settings) of a 1 GiB heap holding 700 MiB of live objects on each member of a triad sharing 2 cores:
 *       the pauses measured 0.6 to 2.9 s, and with the earlier 2 s timeout a 2.5 s and a 2.9 s pause each got
 *       the paused member suspected and dropped from the view (TRIAD.md has the runs). A false suspicion costs
 *       availability (a new election, clients fail over and reclaim), never safety. Raise
 *       {@code triad.failure_timeout} for bigger heaps or slower machines; lower it only where full GCs are
 *       measured shorter.</li>
 *   <li>A leader that keeps failing to commit with a majority in its view (for five commit timeouts) reports
 *       itself stuck and the process exits with status 75 for systemd to restart it
 *       ({@link dev.turnstile.appliance.triad.TriadNode#reportStuck}).</li>
 *   <li>{@link dev.turnstile.appliance.triad.CatchUpRaft}: a lagging follower is sent the entries it misses
 *       even while clients keep the leader busy.</li>
 *   <li>Group commit: commands proposed while an entry commits share the next entry
 *       ({@code TriadNode.Batcher}, {@link dev.turnstile.appliance.triad.LedgerCommand.Batch}).</li>
 *   <li>ELECTION2 uses pre-voting, so a member that comes back from a pause with a stale term does not
 *       depose a healthy leader.</li>
 *   <li>{@code MERGE3} 1 to 3 s: partitions heal quickly once the network returns.</li>
 *   <li>GMS join_timeout 1 s: the first member to start waits 1 s for others before forming the cluster.</li>
 * </ul>
 * Ports between members: the {@code raft} host:port (JGroups TCP) and, for FD_SOCK2, the first free port
 * of raft port + 100 .. + 120 on the same address; a firewall between members must allow both.
 * Everything binds to the member's {@code raft} host only. With {@code triad.discovery_dir} (members on one host)
 * the raft port may be 0: TCPPING's hosts come from the members' published files and
 * {@link dev.turnstile.appliance.triad.MemberDirectory}
 * carries the client addresses (TRIAD.md, "Port 0 in a triad").
 *
 * <h2>Durability</h2>
 * The Raft log lives in {@code triad.state_dir} (FileBasedLog, one set of files per member id), with
 * {@code fsync} on by default (Raft's safety assumes a durable log). After {@code max_log_bytes} of log (4 MiB by default) the
 * ledger is snapshotted and the log truncated; a restarted member loads the snapshot and replays the tail.
 */
package dev.turnstile.appliance.triad;
