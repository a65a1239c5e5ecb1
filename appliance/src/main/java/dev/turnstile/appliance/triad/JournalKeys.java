package dev.turnstile.appliance.triad;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.UUID;

/**
 * Deterministic keys for the ledger events of a triad (issue 8, Postgres write-behind).
 *
 * <p>Every member applies the same Raft log in the same order, under the ledger lock, and the ledger calls its
 * listener synchronously while it applies. So the {@code k}-th journal event (from 0) produced while applying the
 * command with state-machine index {@code index} is the same event on every member, and gets the same key:
 * ({@link #journalId()}, {@code seq = index * 2^20 + k}) ({@link #seq}). Bounds: at most 2^20 (1,048,576) events
 * per command (a forced release of a pool with more held leases than that would overflow: the events beyond are
 * reported as {@link #OVERFLOW} and written, on the leader only, under the member's own run key instead, and
 * counted); index below 2^43 (8.8e12 commands: 280 years at 1,000 commands/s).
 *
 * <p>The triad journal id is a UUID chosen by the first leader and replicated as a {@link LedgerCommand.JournalMark}
 * log entry; the first mark applied fixes it (later marks with another id are ignored), it is kept in the ledger
 * snapshot, so it is the same on every member and changes only when the triad's log starts afresh (every state
 * directory wiped): then ON CONFLICT DO NOTHING cannot swallow the new log's events under old keys. Later marks
 * with the same id carry "journal written up to seq X" (the leader confirms what its store wrote), so every member
 * can drop the events it buffered up to X ({@link Listener#marked}).
 *
 * <p>Thread-safety: {@link #begin}, {@link #end}, {@link #apply} and the restore calls run under the ledger lock
 * (inside {@link LedgerStateMachine#apply} / {@code readContentFrom}); {@link #nextSeq} is called by the ledger's
 * listener on any thread and answers by thread identity whether the event belongs to the command being applied.
 */
public final class JournalKeys {
    /** k occupies the low 20 bits of seq. */
    public static final int EVENT_BITS = 20;
    public static final long EVENTS_PER_COMMAND = 1L << EVENT_BITS;
    /** The event was not produced by applying a log entry (a heartbeat, a refusal before the ledger, start-up). */
    public static final long LOCAL = -1;
    /** The event was produced while a snapshot is restored: it is not a change, never journal it. */
    public static final long SUPPRESSED = -2;
    /** More than {@link #EVENTS_PER_COMMAND} events in one command. */
    public static final long OVERFLOW = -3;

    /** What the store side of a member hears, under the ledger lock: only enqueue, never block. */
    public interface Listener {
        /** A journal mark was applied: the journal id is {@code journalId}, written up to {@code writtenUpTo}. */
        void marked(UUID journalId, long writtenUpTo);

        /** A snapshot was loaded at {@code index}: events of commands up to it were never seen here. */
        void restored(long index);
    }

    private volatile UUID journalId;
    private volatile long writtenUpTo = -1;
    private volatile Thread applying;
    private volatile Thread restoring;
    private long index;
    private long next;
    private volatile Listener listener;

    public void listener(Listener l) {
        this.listener = l;
    }

    /** The triad journal id, or null until the first mark is applied. */
    public UUID journalId() {
        return journalId;
    }

    /** The highest seq the leader confirmed written to Postgres (-1: none yet). */
    public long writtenUpTo() {
        return writtenUpTo;
    }

    public static long seq(long index, long k) {
        return (index << EVENT_BITS) | k;
    }

    public static long indexOf(long seq) {
        return seq >>> EVENT_BITS;
    }

    /** Before a command with state-machine index {@code index} is applied (under the ledger lock). */
    public void begin(long index) {
        this.index = index;
        this.next = 0;
        this.applying = Thread.currentThread();
    }

    /** After it. */
    public void end() {
        this.applying = null;
    }

    /**
     * The key of the event the calling thread is journaling now: a seq (>= 0) inside a command being applied, else
     * {@link #LOCAL}, {@link #SUPPRESSED} or {@link #OVERFLOW}.
     */
    public long nextSeq() {
        Thread t = Thread.currentThread();
        if (t == restoring) {
            return SUPPRESSED;
        }
        if (t != applying) {
            return LOCAL;
        }
        long k = next++;
        return k < EVENTS_PER_COMMAND ? seq(index, k) : OVERFLOW;
    }

    /** Applies a journal mark (under the ledger lock). */
    Object apply(LedgerCommand.JournalMark m) {
        UUID id = journalId;
        if (id == null) {
            journalId = id = m.journalId();
        }
        if (id.equals(m.journalId()) && m.writtenUpTo() > writtenUpTo) {
            writtenUpTo = m.writtenUpTo();
        }
        Listener l = listener;
        if (l != null) {
            l.marked(id, writtenUpTo);
        }
        return null;
    }

    void beginRestore() {
        restoring = Thread.currentThread();
    }

    void endRestore(long index) {
        restoring = null;
        Listener l = listener;
        if (l != null) {
            l.restored(index);
        }
    }

    /** Snapshot version 3: the journal id (if any) and the confirmed position. */
    void write(DataOutput out) throws IOException {
        UUID id = journalId;
        out.writeBoolean(id != null);
        if (id != null) {
            LedgerCommand.uuid(out, id);
        }
        out.writeLong(writtenUpTo);
    }

    /** Reads what {@link #write} wrote; {@code null} fields for a version 1 or 2 snapshot. */
    static Object[] read(DataInput in) throws IOException {
        UUID id = in.readBoolean() ? LedgerCommand.uuid(in) : null;
        return new Object[] {id, in.readLong()};
    }

    void restore(UUID id, long upTo) {
        journalId = id;
        writtenUpTo = upTo;
        Listener l = listener;
        if (l != null && id != null) {
            l.marked(id, upTo);
        }
    }
}
