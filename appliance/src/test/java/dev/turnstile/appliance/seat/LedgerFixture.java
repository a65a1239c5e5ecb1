package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Builders and a recording listener shared by the seat tests. */
final class LedgerFixture {

    /** A time inside every default entitlement window. */
    static final long T0 = Instant.parse("2026-06-01T00:00:00Z").toEpochMilli();
    static final Instant WINDOW_START = Instant.parse("2026-01-01T00:00:00Z");
    static final Instant WINDOW_END = Instant.parse("2030-01-01T00:00:00Z");

    static final long LEASE_TIMEOUT = 3_000;
    static final int MAX_LEASES_PER_SESSION = 4;
    static final int MAX_QUEUE = 3;
    static final long DEFAULT_WAIT = 5_000;
    static final long MAX_WAIT = 20_000;
    static final long TOMBSTONE_AGE = 60_000;

    static final int SEATS = Enforcement.SEATS.code();
    static final int CHECKOUTS = Enforcement.CHECKOUTS.code();

    private LedgerFixture() {
    }

    /**
     * The 1.0 reclaim rules ({@link LegacyReclaim#IDENTITY}): the tests written for them (leases without a
     * secret) keep testing them; {@code ReclaimSecretTest} covers the secrets and the other modes.
     */
    static LedgerSettings settings(long reclaimGraceMs) {
        return settings(reclaimGraceMs, LegacyReclaim.IDENTITY);
    }

    static LedgerSettings settings(long reclaimGraceMs, LegacyReclaim legacy) {
        return new LedgerSettings(LEASE_TIMEOUT, reclaimGraceMs, MAX_LEASES_PER_SESSION, MAX_QUEUE, DEFAULT_WAIT,
                MAX_WAIT, TOMBSTONE_AGE, 1_000, legacy);
    }

    static Entitlement seats(String id, String product, int max) {
        return new Entitlement(id, "acme", product, Enforcement.SEATS, max, WINDOW_START, WINDOW_END);
    }

    static Entitlement checkouts(String id, String product, int max) {
        return new Entitlement(id, "acme", product, Enforcement.CHECKOUTS, max, WINDOW_START, WINDOW_END);
    }

    static ClientRef client(long session, String clientId, String hwId) {
        return new ClientRef(session, clientId, hwId, "10.0.0." + session + ":40000");
    }

    static UUID id(long n) {
        return new UUID(0x5EA7L, n);
    }

    static Co co(ClientRef client, String product) {
        return new Co(client, product);
    }

    /** A CHECKOUT builder; defaults: key "", quantity 1, seats, no wait, fresh id 1, at T0. */
    static final class Co {
        private final ClientRef client;
        private final String product;
        private int requestId = 1;
        private String key = "";
        private long quantity = 1;
        private int enforcement = SEATS;
        private boolean wait;
        private long waitMs;
        private UUID reclaim;
        private UUID newId = LedgerFixture.id(1);
        private long now = T0;
        private SecretHash presented;
        private SecretHash fresh;

        Co(ClientRef client, String product) {
            this.client = client;
            this.product = product;
        }

        Co req(int requestId) {
            this.requestId = requestId;
            return this;
        }

        Co key(String key) {
            this.key = key;
            return this;
        }

        Co qty(long quantity) {
            this.quantity = quantity;
            return this;
        }

        Co enforcement(int raw) {
            this.enforcement = raw;
            return this;
        }

        Co waiting(long waitMs) {
            this.wait = true;
            this.waitMs = waitMs;
            return this;
        }

        Co reclaim(UUID leaseId) {
            this.reclaim = leaseId;
            return this;
        }

        Co id(long n) {
            this.newId = LedgerFixture.id(n);
            return this;
        }

        /** Protocol 1.1: the RECLAIM presents this secret (its hash reaches the ledger). */
        Co presenting(byte[] secret) {
            this.presented = secret == null ? null : SecretHash.of(secret);
            return this;
        }

        /** Protocol 1.1: the session drew this secret for its GRANTED. */
        Co drawing(byte[] secret) {
            this.fresh = secret == null ? null : SecretHash.of(secret);
            return this;
        }

        Co at(long nowMs) {
            this.now = nowMs;
            return this;
        }

        CheckoutCommand build() {
            return new CheckoutCommand(client, requestId, product, key, quantity, enforcement, wait, waitMs, reclaim,
                    newId, now, presented, fresh);
        }
    }

    /** Records every listener call, in order. */
    static final class Recorder implements LedgerListener {
        record Call(String what, long sessionId, int requestId, UUID leaseId, ErrorCode code) {
        }

        final List<Call> calls = new ArrayList<>();
        final List<LedgerEvent> journal = new ArrayList<>();

        @Override
        public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
            calls.add(new Call("granted", sessionId, requestId, lease.leaseId(), ErrorCode.OK));
        }

        @Override
        public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
            calls.add(new Call("denied", sessionId, requestId, null, code));
        }

        @Override
        public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
            calls.add(new Call("ended", sessionId, 0, lease.leaseId(), reason));
        }

        @Override
        public void journal(LedgerEvent event) {
            journal.add(event);
        }

        List<LedgerEvent.Kind> kinds() {
            List<LedgerEvent.Kind> out = new ArrayList<>();
            for (LedgerEvent e : journal) {
                out.add(e.kind());
            }
            return out;
        }

        LedgerEvent last() {
            return journal.get(journal.size() - 1);
        }
    }
}
