package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Enforcement;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.UUID;

/**
 * A ledger command as a Raft log entry: one type byte, the proposing leader's term, the command's time, then
 * the command's fields. Every command that changes seat state is one of these; heartbeats are not (the
 * leader tracks them and commits {@link Expire} when a lease misses its deadline).
 *
 * <p>Protocol 1.1 (issue 12): CHECKOUT and CHECKIN end with the hashes of the reclaim secrets they carry
 * ({@link SecretHash}, never a secret), so every member decides a RECLAIM alike. They are appended after the
 * older fields, and an entry that ends before them (written before the upgrade) decodes with none.
 */
public sealed interface LedgerCommand {

    byte CHECKOUT = 1;
    byte CHECKIN = 2;
    byte EXPIRE = 3;
    byte TICK = 4;
    byte SESSION_LOST = 5;
    byte RELEASE_ALL = 6;
    byte FORCE_RELEASE = 7;
    byte UPSERT_ENTITLEMENT = 8;
    byte REMOVE_ENTITLEMENT = 9;
    /** Several commands in one log entry (group commit: {@link TriadNode} batches what queues while a commit runs). */
    byte BATCH = 10;
    /** store: the triad journal id and "journal written up to seq X" ({@link JournalKeys}). */
    byte JOURNAL_MARK = 11;
    /** issue 14: a new leader's first entry of its term ({@link Takeover}). */
    byte TAKEOVER = 12;
    /** The most sessions one {@link Takeover} names. */
    int MAX_TAKEOVER_SESSIONS = 1 << 16;

    /** The most commands one {@link Batch} entry carries. */
    int MAX_BATCH = 512;

    /** The command's time (Unix ms), as the leader read it when proposing. */
    long nowMs();

    record Checkout(CheckoutCommand command) implements LedgerCommand {
        public long nowMs() {
            return command.nowMs();
        }
    }

    /** @param presentedSecret the hash of the secret the CHECKIN carried, {@code null} for none */
    record Checkin(ClientRef client, UUID leaseId, long nowMs, SecretHash presentedSecret) implements LedgerCommand {
        public Checkin(ClientRef client, UUID leaseId, long nowMs) {
            this(client, leaseId, nowMs, null);
        }
    }

    record Expire(UUID leaseId, long nowMs) implements LedgerCommand {
    }

    record Tick(long nowMs) implements LedgerCommand {
    }

    record SessionLost(long sessionId, long nowMs) implements LedgerCommand {
    }

    record ReleaseAll(ClientRef client, long nowMs) implements LedgerCommand {
    }

    record ForceRelease(UUID leaseId, long nowMs) implements LedgerCommand {
    }

    record UpsertEntitlement(Entitlement entitlement, long nowMs) implements LedgerCommand {
    }

    record RemoveEntitlement(String entitlementId, long nowMs) implements LedgerCommand {
    }

    /**
     * store: fixes the triad journal id (the first mark applied wins) and confirms that the leader's store wrote every
     * journal event up to {@code writtenUpTo} (-1: nothing yet). See {@link JournalKeys}.
     */
    record JournalMark(UUID journalId, long writtenUpTo, long nowMs) implements LedgerCommand {
    }

    /**
     * A new leader's first entry of its term (issue 14): every session with a HELD lease or a waiting checkout in the
     * ledger <em>when this entry is applied</em> that member {@code leaderIndex} does not own is lost (its sockets
     * were on another member), and so are the leader's own sessions named in {@code lostOwn} (from an earlier term
     * of its own: closed when it stepped down). Decided at apply time, after every entry of earlier terms, which a
     * new leader may not have applied yet when it proposes this: so a waiter queued by the old leader just before it
     * died leaves the queue before any command of the new term can free a seat for it.
     */
    record Takeover(int leaderIndex, java.util.List<Long> lostOwn, long nowMs) implements LedgerCommand {
        public Takeover {
            lostOwn = java.util.List.copyOf(lostOwn);
        }
    }

    /**
     * Commands proposed together as one log entry, applied one after the other in this order, each with its own
     * index and result (a batch is never nested). Encoded as the count, then each command's own encoding,
     * length-prefixed.
     */
    record Batch(java.util.List<LedgerCommand> commands, long nowMs) implements LedgerCommand {
    }

    /** A decoded log entry: the command and the term of the leader that proposed it. */
    record Entry(long term, LedgerCommand command) {
    }

    // ------------------------------------------------------------------ encoding

    static byte[] encode(long term, LedgerCommand c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        DataOutputStream out = new DataOutputStream(bytes);
        try {
            if (c instanceof Checkout k) {
                CheckoutCommand x = k.command();
                head(out, CHECKOUT, term, x.nowMs());
                client(out, x.client());
                out.writeInt(x.requestId());
                out.writeUTF(x.product());
                out.writeUTF(x.licenseKey());
                out.writeLong(x.quantity());
                out.writeInt(x.enforcement());
                out.writeBoolean(x.waitForSeat());
                out.writeLong(x.waitTimeoutMs());
                out.writeBoolean(x.reclaimLeaseId() != null);
                if (x.reclaimLeaseId() != null) {
                    uuid(out, x.reclaimLeaseId());
                }
                uuid(out, x.newLeaseId());
                secretHash(out, x.presentedSecret()); // protocol 1.1
                secretHash(out, x.newSecret());
            } else if (c instanceof Checkin k) {
                head(out, CHECKIN, term, k.nowMs());
                client(out, k.client());
                uuid(out, k.leaseId());
                secretHash(out, k.presentedSecret()); // protocol 1.1
            } else if (c instanceof Expire k) {
                head(out, EXPIRE, term, k.nowMs());
                uuid(out, k.leaseId());
            } else if (c instanceof Tick k) {
                head(out, TICK, term, k.nowMs());
            } else if (c instanceof SessionLost k) {
                head(out, SESSION_LOST, term, k.nowMs());
                out.writeLong(k.sessionId());
            } else if (c instanceof ReleaseAll k) {
                head(out, RELEASE_ALL, term, k.nowMs());
                client(out, k.client());
            } else if (c instanceof ForceRelease k) {
                head(out, FORCE_RELEASE, term, k.nowMs());
                uuid(out, k.leaseId());
            } else if (c instanceof UpsertEntitlement k) {
                head(out, UPSERT_ENTITLEMENT, term, k.nowMs());
                entitlement(out, k.entitlement());
            } else if (c instanceof RemoveEntitlement k) {
                head(out, REMOVE_ENTITLEMENT, term, k.nowMs());
                out.writeUTF(k.entitlementId());
            } else if (c instanceof Batch k) {
                head(out, BATCH, term, k.nowMs());
                out.writeInt(k.commands().size());
                for (LedgerCommand one : k.commands()) {
                    if (one instanceof Batch) {
                        throw new IllegalArgumentException("a batch inside a batch");
                    }
                    byte[] b = encode(term, one);
                    out.writeInt(b.length);
                    out.write(b);
                }
            } else if (c instanceof Takeover k) {
                head(out, TAKEOVER, term, k.nowMs());
                out.writeInt(k.leaderIndex());
                out.writeInt(k.lostOwn().size());
                for (long sid : k.lostOwn()) {
                    out.writeLong(sid);
                }
            } else if (c instanceof JournalMark k) { // store:
                head(out, JOURNAL_MARK, term, k.nowMs());
                uuid(out, k.journalId());
                out.writeLong(k.writtenUpTo());
            } else {
                throw new IllegalArgumentException("unknown command " + c);
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Entry decode(byte[] buf, int offset, int length) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(buf, offset, length));
        byte type = in.readByte();
        long term = in.readLong();
        long now = in.readLong();
        LedgerCommand c;
        switch (type) {
            case CHECKOUT: {
                ClientRef cl = client(in);
                int req = in.readInt();
                String product = in.readUTF();
                String key = in.readUTF();
                long q = in.readLong();
                int enf = in.readInt();
                boolean wait = in.readBoolean();
                long waitMs = in.readLong();
                UUID reclaim = in.readBoolean() ? uuid(in) : null;
                UUID newId = uuid(in);
                SecretHash presented = in.available() > 0 ? secretHash(in) : null; // absent before protocol 1.1
                SecretHash fresh = in.available() > 0 ? secretHash(in) : null;
                c = new Checkout(new CheckoutCommand(cl, req, product, key, q, enf, wait, waitMs, reclaim, newId, now,
                        presented, fresh));
                break;
            }
            case CHECKIN: {
                ClientRef cl = client(in);
                UUID id = uuid(in);
                c = new Checkin(cl, id, now, in.available() > 0 ? secretHash(in) : null);
                break;
            }
            case EXPIRE:
                c = new Expire(uuid(in), now);
                break;
            case TICK:
                c = new Tick(now);
                break;
            case SESSION_LOST:
                c = new SessionLost(in.readLong(), now);
                break;
            case RELEASE_ALL:
                c = new ReleaseAll(client(in), now);
                break;
            case FORCE_RELEASE:
                c = new ForceRelease(uuid(in), now);
                break;
            case UPSERT_ENTITLEMENT:
                c = new UpsertEntitlement(entitlement(in), now);
                break;
            case REMOVE_ENTITLEMENT:
                c = new RemoveEntitlement(in.readUTF(), now);
                break;
            case BATCH: {
                int n = in.readInt();
                if (n < 1 || n > MAX_BATCH) {
                    throw new IOException("ledger batch of " + n + " commands (1.." + MAX_BATCH + ")");
                }
                java.util.List<LedgerCommand> cs = new java.util.ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    int len = in.readInt();
                    if (len < 1 || len > length) {
                        throw new IOException("ledger batch entry of " + len + " bytes in a " + length + "-byte entry");
                    }
                    byte[] b = new byte[len];
                    in.readFully(b);
                    if (b[0] == BATCH) {
                        throw new IOException("a ledger batch inside a batch");
                    }
                    cs.add(decode(b, 0, len).command());
                }
                c = new Batch(java.util.List.copyOf(cs), now);
                break;
            }
            case TAKEOVER: {
                int leader = in.readInt();
                int n = in.readInt();
                if (n < 0 || n > MAX_TAKEOVER_SESSIONS || n > in.available() / Long.BYTES) {
                    throw new IOException("takeover naming " + n + " sessions (0.." + MAX_TAKEOVER_SESSIONS + ") in a "
                            + length + "-byte entry");
                }
                java.util.List<Long> lost = new java.util.ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    lost.add(in.readLong());
                }
                c = new Takeover(leader, lost, now);
                break;
            }
            case JOURNAL_MARK: // store:
                c = new JournalMark(uuid(in), in.readLong(), now);
                break;
            default:
                throw new IOException("unknown ledger command type " + type);
        }
        return new Entry(term, c);
    }

    private static void head(DataOutput out, byte type, long term, long now) throws IOException {
        out.writeByte(type);
        out.writeLong(term);
        out.writeLong(now);
    }

    static void client(DataOutput out, ClientRef c) throws IOException {
        out.writeLong(c.sessionId());
        out.writeUTF(c.clientId());
        out.writeUTF(c.hwId());
        out.writeUTF(c.remoteAddress());
    }

    static ClientRef client(DataInput in) throws IOException {
        return new ClientRef(in.readLong(), in.readUTF(), in.readUTF(), in.readUTF());
    }

    static void uuid(DataOutput out, UUID id) throws IOException {
        out.writeLong(id.getMostSignificantBits());
        out.writeLong(id.getLeastSignificantBits());
    }

    static UUID uuid(DataInput in) throws IOException {
        return new UUID(in.readLong(), in.readLong());
    }

    /** A presence byte, then the 32 bytes of the hash when present. */
    static void secretHash(DataOutput out, SecretHash h) throws IOException {
        out.writeBoolean(h != null);
        if (h != null) {
            out.write(h.bytes());
        }
    }

    static SecretHash secretHash(DataInput in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        byte[] b = new byte[SecretHash.LENGTH];
        in.readFully(b);
        return SecretHash.fromBytes(b);
    }

    static void entitlement(DataOutput out, Entitlement e) throws IOException {
        out.writeUTF(e.entitlementId());
        out.writeUTF(e.tenantId());
        out.writeUTF(e.productId());
        out.writeInt(e.enforcement().code());
        out.writeInt(e.maxSeats());
        instant(out, e.startsAt());
        instant(out, e.endsAt());
    }

    static Entitlement entitlement(DataInput in) throws IOException {
        return new Entitlement(in.readUTF(), in.readUTF(), in.readUTF(), Enforcement.of(in.readInt()), in.readInt(),
                instant(in), instant(in));
    }

    private static void instant(DataOutput out, Instant i) throws IOException {
        out.writeBoolean(i != null);
        if (i != null) {
            out.writeLong(i.getEpochSecond());
            out.writeInt(i.getNano());
        }
    }

    private static Instant instant(DataInput in) throws IOException {
        return in.readBoolean() ? Instant.ofEpochSecond(in.readLong(), in.readInt()) : null;
    }

    static void lease(DataOutput out, LeaseView l) throws IOException {
        uuid(out, l.leaseId());
        out.writeUTF(l.entitlementId());
        out.writeUTF(l.productId());
        out.writeLong(l.sessionId());
        out.writeUTF(l.clientId());
        out.writeUTF(l.hwId());
        out.writeUTF(l.remoteAddress());
        out.writeLong(l.quantity());
        out.writeLong(l.checkedOutAtMs());
        out.writeLong(l.lastHeartbeatMs());
        out.writeLong(l.deadlineMs());
        out.writeByte(l.state().ordinal());
        secretHash(out, l.secretHash()); // snapshot version 4
    }

    static LeaseView lease(DataInput in) throws IOException {
        return lease(in, true);
    }

    /** @param withSecretHash false for a snapshot older than version 4 (its leases have no secret hash) */
    static LeaseView lease(DataInput in, boolean withSecretHash) throws IOException {
        return new LeaseView(uuid(in), in.readUTF(), in.readUTF(), in.readLong(), in.readUTF(), in.readUTF(),
                in.readUTF(), in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                LeaseState.values()[in.readByte()], withSecretHash ? secretHash(in) : null);
    }
}
