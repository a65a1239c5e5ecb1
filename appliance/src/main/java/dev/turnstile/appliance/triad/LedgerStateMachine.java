package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SeatLedger;
import dev.turnstile.protocol.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.jgroups.raft.StateMachine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft state machine: applies committed {@link LedgerCommand}s to the appliance's ledger, on every member,
 * in log order. Deterministic: the only inputs are the log entries (each with its time) and the snapshot.
 *
 * <ul>
 *   <li>Time never runs backwards inside the ledger: a command's time is raised to the latest time applied
 *       so far (a new leader's clock may lag the old one's by a few ms).</li>
 *   <li>{@code index}: the number of ledger commands applied since the log began (kept in snapshots). It is
 *       the same on every member and grows with the log, so it orders grants like the Raft index does; it is
 *       what GRANTED carries as {@code log_index}.</li>
 *   <li>Snapshot ({@link #writeContentTo}): format version, index, latest time, entitlements, live leases
 *       (HELD and ORPHANED, with their deadlines), and (version 2) the waiting checkouts, pool by pool in
 *       FIFO order with their deadlines, so a member restored from a snapshot has the same queues as the
 *       others (a queued client's final answer is still delivered only by the member whose session queued
 *       it).</li>
 * </ul>
 */
public final class LedgerStateMachine implements StateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(LedgerStateMachine.class);
    /**
     * 2: waiting checkouts included (version 1, without them, is still read). 3: the triad journal id and its
     * confirmed position ({@link JournalKeys}) at the end (versions 1 and 2 are still read: no journal id yet).
     * 4 (protocol 1.1): each lease ends with its reclaim secret hash and each waiter with the hash of the secret
     * its GRANTED will carry (older versions are still read: their leases and waiters have none).
     */
    static final int SNAPSHOT_VERSION = 4;

    static final byte R_GRANTED = 1;
    static final byte R_QUEUED = 2;
    static final byte R_DENIED = 3;
    static final byte R_CODE = 4;
    static final byte R_COUNT = 5;
    static final byte R_NONE = 6;

    private final ConcurrentLedger ledger;
    private volatile long index;
    private volatile long latestMs;
    // store: the deterministic keys of the journal events produced while applying (issue 8)
    private final JournalKeys journal = new JournalKeys();

    public LedgerStateMachine(ConcurrentLedger ledger) {
        this.ledger = ledger;
    }

    /** Ledger commands applied so far (the {@code log_index} of the latest). */
    public long index() {
        return index;
    }

    /** store: the triad journal id, its confirmed position, and the keys of events produced while applying. */
    public JournalKeys journal() {
        return journal;
    }

    /** The latest command time applied (Unix ms). */
    public long latestMs() {
        return latestMs;
    }

    @Override
    public byte[] apply(byte[] data, int offset, int length, boolean serializeResponse) throws Exception {
        LedgerCommand.Entry e = LedgerCommand.decode(data, offset, length);
        if (e.command() instanceof LedgerCommand.Batch b) {
            return ledger.locked(l -> {
                List<LedgerCommand> cs = b.commands();
                byte[][] results = serializeResponse ? new byte[cs.size()][] : null;
                for (int i = 0; i < cs.size(); i++) {
                    LedgerCommand c = cs.get(i);
                    long now = Math.max(c.nowMs(), latestMs);
                    latestMs = now;
                    long idx = ++index;
                    Object result = applyOne(l, c, now, idx);
                    if (results != null) {
                        results[i] = encodeResult(idx, e.term(), result);
                    }
                }
                return results == null ? null : encodeBatchResult(results);
            });
        }
        return ledger.locked(l -> {
            long now = Math.max(e.command().nowMs(), latestMs);
            latestMs = now;
            long idx = ++index;
            Object result = applyOne(l, e.command(), now, idx);
            return serializeResponse ? encodeResult(idx, e.term(), result) : null;
        });
    }

    /** A batch's results: the count, then each command's {@link #encodeResult} bytes, length-prefixed. */
    static byte[] encodeBatchResult(byte[][] results) {
        int size = 4;
        for (byte[] r : results) {
            size += 4 + r.length;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(size).putInt(results.length);
        for (byte[] r : results) {
            b.putInt(r.length).put(r);
        }
        return b.array();
    }

    /** The inverse of {@link #encodeBatchResult}: one {@link #decodeResult}-able array per command. */
    static byte[][] splitBatchResult(byte[] bytes) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
        byte[][] out = new byte[b.getInt()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new byte[b.getInt()];
            b.get(out[i]);
        }
        return out;
    }

    /**
     * Applies one command whose index is {@code idx} (already counted), under the ledger lock. The journal events
     * the ledger produces meanwhile are keyed (journal id, idx * 2^20 + k) on every member ({@link JournalKeys}).
     */
    Object applyOne(SeatLedger l, LedgerCommand c, long now, long idx) {
        journal.begin(idx); // store:
        try {
            if (c instanceof LedgerCommand.JournalMark m) {
                return journal.apply(m);
            }
            return applyTo(l, c, now);
        } finally {
            journal.end();
        }
    }

    private static Object applyTo(SeatLedger l, LedgerCommand c, long now) {
        if (c instanceof LedgerCommand.Checkout k) {
            return l.checkout(k.command().at(now));
        } else if (c instanceof LedgerCommand.Checkin k) {
            return l.checkin(k.client(), k.leaseId(), k.presentedSecret(), now);
        } else if (c instanceof LedgerCommand.Expire k) {
            return l.expireNow(k.leaseId(), now);
        } else if (c instanceof LedgerCommand.Tick) {
            l.tick(now);
            return null;
        } else if (c instanceof LedgerCommand.SessionLost k) {
            l.sessionLost(k.sessionId(), now);
            return null;
        } else if (c instanceof LedgerCommand.Takeover k) {
            java.util.Set<Long> lost = new java.util.TreeSet<>(k.lostOwn()); // sorted: the same order on every member
            for (dev.turnstile.appliance.seat.LeaseView v : l.leases()) {
                if (v.state() == dev.turnstile.appliance.seat.LeaseState.HELD && TriadNode.ownerOf(v.sessionId()) != k.leaderIndex()) {
                    lost.add(v.sessionId());
                }
            }
            for (dev.turnstile.appliance.seat.SeatLedger.SnapshotWaiter w : l.snapshotWaiters()) {
                if (TriadNode.ownerOf(w.client().sessionId()) != k.leaderIndex()) {
                    lost.add(w.client().sessionId());
                }
            }
            for (long sid : lost) {
                l.sessionLost(sid, now);
            }
            return null;
        } else if (c instanceof LedgerCommand.ReleaseAll k) {
            return l.releaseAllOf(k.client(), now);
        } else if (c instanceof LedgerCommand.ForceRelease k) {
            return l.forceRelease(k.leaseId(), now);
        } else if (c instanceof LedgerCommand.UpsertEntitlement k) {
            l.upsertEntitlement(k.entitlement(), now);
            return null;
        } else if (c instanceof LedgerCommand.RemoveEntitlement k) {
            l.removeEntitlement(k.entitlementId(), now);
            return null;
        }
        throw new IllegalArgumentException("unknown command " + c);
    }

    // ------------------------------------------------------------------ results

    /**
     * A committed command's result: the ledger's answer (a {@link CheckoutOutcome} for a checkout, an
     * {@link ErrorCode} for a checkin or release, an {@link Integer} for a goodbye, null otherwise), stamped
     * with the proposing term and the log index. {@link TriadNode} types it once, where it is decoded.
     */
    public record Applied<T>(long index, long term, T value) {
        /** The same result, its value checked to be a {@code type} (a command's result type never varies). */
        <R> Applied<R> as(Class<R> type) {
            return new Applied<>(index, term, value == null ? null : type.cast(value));
        }
    }

    static byte[] encodeResult(long index, long term, Object r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(96);
        DataOutputStream out = new DataOutputStream(bytes);
        try {
            out.writeLong(index);
            out.writeLong(term);
            if (r instanceof CheckoutOutcome.Granted g) {
                out.writeByte(R_GRANTED);
                out.writeBoolean(g.reclaimed());
                LedgerCommand.lease(out, g.lease());
            } else if (r instanceof CheckoutOutcome.Queued q) {
                out.writeByte(R_QUEUED);
                out.writeInt(q.position());
                out.writeLong(q.waitTimeoutMs());
            } else if (r instanceof CheckoutOutcome.Denied d) {
                out.writeByte(R_DENIED);
                out.writeInt(d.code().code());
                out.writeUTF(d.message());
            } else if (r instanceof ErrorCode code) {
                out.writeByte(R_CODE);
                out.writeInt(code.code());
            } else if (r instanceof Integer n) {
                out.writeByte(R_COUNT);
                out.writeInt(n);
            } else {
                out.writeByte(R_NONE);
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Applied<Object> decodeResult(byte[] b) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
            long index = in.readLong();
            long term = in.readLong();
            byte tag = in.readByte();
            Object v;
            switch (tag) {
                case R_GRANTED: {
                    boolean reclaimed = in.readBoolean();
                    v = new CheckoutOutcome.Granted(LedgerCommand.lease(in), reclaimed);
                    break;
                }
                case R_QUEUED:
                    v = new CheckoutOutcome.Queued(in.readInt(), in.readLong());
                    break;
                case R_DENIED:
                    v = new CheckoutOutcome.Denied(ErrorCode.ofCode(in.readInt()), in.readUTF());
                    break;
                case R_CODE:
                    v = ErrorCode.ofCode(in.readInt());
                    break;
                case R_COUNT:
                    v = in.readInt();
                    break;
                default:
                    v = null;
            }
            return new Applied<>(index, term, v);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ snapshots

    @Override
    public void writeContentTo(DataOutput out) throws Exception {
        ledger.locked(l -> {
            try {
                out.writeInt(SNAPSHOT_VERSION);
                out.writeLong(index);
                out.writeLong(latestMs);
                List<Entitlement> ents = l.snapshotEntitlements();
                out.writeInt(ents.size());
                for (Entitlement e : ents) {
                    LedgerCommand.entitlement(out, e);
                }
                List<LeaseView> leases = l.leases();
                out.writeInt(leases.size());
                for (LeaseView v : leases) {
                    LedgerCommand.lease(out, v);
                }
                List<SeatLedger.SnapshotWaiter> waiters = l.snapshotWaiters();
                out.writeInt(waiters.size());
                for (SeatLedger.SnapshotWaiter w : waiters) {
                    waiter(out, w);
                }
                journal.write(out); // store: version 3
                LOG.info("triad: ledger snapshot at index {}: {} entitlements, {} leases, {} waiting", index, ents.size(),
                        leases.size(), waiters.size());
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Override
    public void readContentFrom(DataInput in) throws Exception {
        int version = in.readInt();
        if (version < 1 || version > SNAPSHOT_VERSION) {
            throw new IOException("triad: unknown ledger snapshot version " + version);
        }
        long idx = in.readLong();
        long latest = in.readLong();
        List<Entitlement> ents = new ArrayList<>();
        for (int n = in.readInt(); n > 0; n--) {
            ents.add(LedgerCommand.entitlement(in));
        }
        List<LeaseView> leases = new ArrayList<>();
        for (int n = in.readInt(); n > 0; n--) {
            leases.add(LedgerCommand.lease(in, version >= 4));
        }
        List<SeatLedger.SnapshotWaiter> waiters = new ArrayList<>();
        if (version >= 2) {
            for (int n = in.readInt(); n > 0; n--) {
                waiters.add(waiter(in, version >= 4));
            }
        }
        Object[] keys = version >= 3 ? JournalKeys.read(in) : new Object[] {null, -1L}; // store:
        ledger.locked(l -> {
            journal.beginRestore(); // store: what the ledger journals while restoring is not a change
            try {
                l.resetSilently();
                for (Entitlement e : ents) {
                    l.upsertEntitlement(e, latest);
                }
                for (LeaseView v : leases) {
                    if (v.state() == LeaseState.HELD) {
                        l.restoreHeldSilently(v);
                    } else {
                        l.restoreLease(v, v.deadlineMs());
                    }
                }
                for (SeatLedger.SnapshotWaiter w : waiters) {
                    l.restoreWaiterSilently(w);
                }
                index = idx;
                latestMs = latest;
            } finally {
                journal.endRestore(idx);
            }
            journal.restore((java.util.UUID) keys[0], (Long) keys[1]);
            return null;
        });
        LOG.info("triad: ledger restored from snapshot at index {}: {} entitlements, {} leases, {} waiting", idx,
                ents.size(), leases.size(), waiters.size());
    }

    static void waiter(DataOutput out, SeatLedger.SnapshotWaiter w) throws IOException {
        out.writeUTF(w.entitlementId());
        LedgerCommand.client(out, w.client());
        out.writeInt(w.requestId());
        out.writeUTF(w.licenseKey());
        out.writeLong(w.quantity());
        out.writeInt(w.enforcement().code());
        LedgerCommand.uuid(out, w.newLeaseId());
        out.writeLong(w.deadlineMs());
        LedgerCommand.secretHash(out, w.newSecret()); // version 4
    }

    static SeatLedger.SnapshotWaiter waiter(DataInput in, boolean withSecretHash) throws IOException {
        return new SeatLedger.SnapshotWaiter(in.readUTF(), LedgerCommand.client(in), in.readInt(), in.readUTF(),
                in.readLong(), dev.turnstile.protocol.Enforcement.of(in.readInt()), LedgerCommand.uuid(in), in.readLong(),
                withSecretHash ? LedgerCommand.secretHash(in) : null);
    }
}
