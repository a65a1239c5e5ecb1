package dev.turnstile.appliance.triad;

import java.util.concurrent.TimeUnit;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.raft.RAFT;

/**
 * jgroups-raft's RAFT with one change: the leader re-sends to lagging members every {@code resend_interval}
 * even while requests keep arriving.
 *
 * <p>Why: in jgroups-raft 1.1.4 the leader re-sends missing entries to a member only when its processing queue
 * stays empty for a whole {@code resend_interval} ({@code RAFT.processQueue}: the commit table is flushed only when
 * the queue's poll times out). Under steady client load (a request every few ms) that never happens, so a member
 * that missed entries (restarted, paused with SIGSTOP, cut off for a moment) rejects every new AppendEntries
 * (FAIL_ENTRY_NOT_FOUND) and stays behind for as long as the load lasts: the triad then runs on two copies, and
 * losing the up-to-date follower stops all commits. Found by {@code TriadProcessesTest} /
 * {@code TriadChaos} (a follower restarted under 8 clients stayed at applied_index 31 while the leader passed
 * 1,100).
 *
 * <p>Second part: after a member answers FAIL_ENTRY_NOT_FOUND, jgroups-raft re-sends one entry per flush
 * (single-message mode, meant for probing a conflicting term), and the leader's ongoing multicasts, which that
 * member rejects, keep it in that mode: about 5 entries a second, slower than the load appends. The periodic
 * flush sends the whole missing range instead; a member whose previous entry conflicts rejects it
 * (FAIL_CONFLICTING_PREV_TERM) and the one-by-one probing continues from there, so correctness is Raft's own.
 *
 * <p>The flush runs on RAFT's own processing thread (after each batch), exactly as the idle flush does, so it
 * adds no concurrency; on a member that is not leader the commit table is null and nothing happens. The protocol
 * id stays RAFT's, so headers and the other protocols (ELECTION2, RaftHandle) see no difference.
 */
public class CatchUpRaft extends RAFT {
    private long lastFlushNanos = System.nanoTime();

    public CatchUpRaft() {
        this.id = ClassConfigurator.getProtocolId(RAFT.class);
    }

    @Override
    protected void processQueue() {
        super.processQueue();
        long now = System.nanoTime();
        if (now - lastFlushNanos >= TimeUnit.MILLISECONDS.toNanos(resend_interval)) {
            lastFlushNanos = now;
            org.jgroups.raft.util.CommitTable table = commitTable();
            if (isLeader() && table != null) {
                table.forEach((member, e) -> {
                    // After FAIL_ENTRY_NOT_FOUND the entry is in single-message mode: one entry per flush (5 a
                    // second) never catches up with a busy leader. Send the whole missing range; a follower whose
                    // previous entry conflicts rejects it and the usual one-by-one probing takes over.
                    e.sendSingleMessage(false);
                    sendAppendEntriesMessage(member, e);
                });
            }
        }
    }
}
