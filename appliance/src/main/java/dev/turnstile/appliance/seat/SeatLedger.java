package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The seat ledger: pools (one per entitlement), leases, FIFO waiters and every deadline, as a
 * deterministic state machine (PROTOCOL.md section 8).
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Time comes only from the commands ({@code nowMs}); nothing reads a clock.</li>
 *   <li>Every command first applies the deadlines due at its time, in deadline order and each at
 *       its own deadline (a lease that expired at t frees its seat at t, and the waiter it serves
 *       gets a lease checked out at t). So the results never depend on how often {@link #tick}
 *       runs, and the same commands in the same order give the same state, events and journal on
 *       any machine (iteration orders are insertion or id orders, never hash orders).</li>
 *   <li>Seats: for every pool, a grant happens only when {@code used + quantity <= maxSeats}; a
 *       pool shrunk below its use keeps its leases and grants nothing until there is room.</li>
 *   <li>Waiters are FIFO per pool. A keyless waiter may also get a seat of another active pool of
 *       the same product when it is at the head of its queue and its own queues are empty there.</li>
 *   <li>Deadlines live in {@link DeadlineQueue} buckets: no timer per lease, a sweep costs
 *       O(nodes due).</li>
 *   <li>The {@link LedgerListener} is called synchronously, after each state change is complete.</li>
 * </ul>
 * NOT thread-safe: use {@link ConcurrentLedger} from several threads.
 */
public final class SeatLedger {

    private final LedgerSettings settings;
    private final LedgerListener listener;

    private final TreeMap<String, Pool> pools = new TreeMap<>();
    private final HashMap<String, TreeMap<String, Pool>> poolsByProduct = new HashMap<>();
    private final LinkedHashMap<UUID, Lease> leases = new LinkedHashMap<>();
    private final HashMap<Long, Session> sessions = new HashMap<>();
    /** Expired lease ids, oldest first, with the time they expired. */
    private final LinkedHashMap<UUID, Long> tombstones;
    private final DeadlineQueue deadlines = new DeadlineQueue();
    private int waiterCount;

    public SeatLedger(LedgerSettings settings, LedgerListener listener) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.listener = Objects.requireNonNull(listener, "listener");
        final int maxTombstones = settings.maxTombstones();
        this.tombstones = new LinkedHashMap<>() {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<UUID, Long> eldest) {
                return size() > maxTombstones;
            }
        };
    }

    public LedgerSettings settings() {
        return settings;
    }

    // ------------------------------------------------------------------------------------------
    // Commands
    // ------------------------------------------------------------------------------------------

    /**
     * CHECKOUT. Refusals are checked in this order: unknownProduct, unknownLicenseKey, then for a
     * RECLAIM the reclaim rules (see {@link #reclaim}); else
     * licenseConsumptionQtyEnforcementTypeMismatch, invalidQuantity, entitlementNotActive,
     * tooManyLeases (leases and waiters of the session count), then noSeatsAvailable / queueFull.
     * Without a key, the first active pool (by entitlement id) with room and an empty queue grants;
     * a waiting checkout queues on the first active pool that can ever hold the quantity and whose
     * queue is not full.
     */
    public CheckoutOutcome checkout(CheckoutCommand c) {
        Objects.requireNonNull(c, "command");
        final long now = c.nowMs();
        advance(now);
        TreeMap<String, Pool> ofProduct = poolsByProduct.get(c.product());
        if (ofProduct == null || ofProduct.isEmpty()) {
            return deny(c, null, ErrorCode.UNKNOWN_PRODUCT, "no entitlement for product '" + c.product() + "'");
        }
        Pool keyed = null;
        if (!c.licenseKey().isEmpty()) {
            keyed = ofProduct.get(c.licenseKey());
            if (keyed == null) {
                return deny(c, null, ErrorCode.UNKNOWN_LICENSE_KEY,
                        "license key '" + c.licenseKey() + "' is not an entitlement of product '" + c.product() + "'");
            }
        }
        if (c.reclaimLeaseId() != null) {
            return reclaim(c, keyed);
        }
        Collection<Pool> candidates = keyed != null ? List.of(keyed) : ofProduct.values();
        Enforcement enforcement = Enforcement.of(c.enforcement());
        Pool first = null;
        for (Pool p : candidates) {
            if (p.ent.enforcement() == enforcement) {
                first = p;
                break;
            }
        }
        if (first == null) {
            Pool p = candidates.iterator().next();
            return deny(c, keyed, ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                    "product '" + c.product() + "' is licensed by " + p.ent.enforcement().configName()
                            + ", the checkout asked for " + enforcementName(c.enforcement()));
        }
        // from here on, refusals are journaled against the pool the checkout would have used
        final Pool target = keyed != null ? keyed : first;
        long q = c.quantity();
        if (q < 1 || q > Limits.MAX_QUANTITY) {
            return deny(c, target, ErrorCode.INVALID_QUANTITY, "quantity " + q + " is outside 1.." + Limits.MAX_QUANTITY);
        }
        if (enforcement == Enforcement.CHECKOUTS && q != 1) {
            return deny(c, target, ErrorCode.INVALID_QUANTITY, "a checkouts-enforced product takes quantity 1, not " + q);
        }
        boolean anyActive = false;
        for (Pool p : candidates) {
            if (p.ent.enforcement() == enforcement && p.ent.activeAt(now)) {
                anyActive = true;
                break;
            }
        }
        if (!anyActive) {
            return deny(c, target, ErrorCode.ENTITLEMENT_NOT_ACTIVE,
                    (keyed != null ? "entitlement '" + keyed.id() + "'" : "no entitlement of product '" + c.product() + "'")
                            + " is active now");
        }
        Session s = sessions.get(c.client().sessionId());
        if (s != null && s.leaseCount + s.waiters.size() >= settings.maxLeasesPerSession()) {
            return deny(c, target, ErrorCode.TOO_MANY_LEASES,
                    "a session holds at most " + settings.maxLeasesPerSession() + " leases and waiting checkouts");
        }
        if (leases.containsKey(c.newLeaseId())) {
            return deny(c, target, ErrorCode.INTERNAL_ERROR, "lease id " + c.newLeaseId() + " is already in use");
        }
        for (Pool p : candidates) {
            if (p.ent.enforcement() == enforcement && p.ent.activeAt(now) && p.queue.isEmpty()
                    && p.used + q <= p.ent.maxSeats()) {
                Lease l = grant(p, c.client(), q, c.newLeaseId(), c.newSecret(), now);
                return new CheckoutOutcome.Granted(view(l), false);
            }
        }
        if (!c.waitForSeat()) {
            return deny(c, target, ErrorCode.NO_SEATS_AVAILABLE, "no seat of product '" + c.product() + "' is free");
        }
        boolean fitsSomewhere = false;
        for (Pool p : candidates) {
            if (p.ent.enforcement() == enforcement && p.ent.activeAt(now) && q <= p.ent.maxSeats()) {
                fitsSomewhere = true;
                if (p.queue.size() < settings.maxQueuePerPool()) {
                    long timeout = c.waitTimeoutMs() <= 0 ? settings.defaultWaitMs()
                            : Math.min(c.waitTimeoutMs(), settings.maxWaitMs());
                    Waiter w = new Waiter(p, c, enforcement);
                    p.queue.add(w);
                    session(c.client().sessionId()).waiters.add(w);
                    waiterCount++;
                    deadlines.schedule(w, now + timeout);
                    journal(LedgerEvent.Kind.QUEUE, now, null, p, c.client(), q, ErrorCode.OK);
                    return new CheckoutOutcome.Queued(p.queue.size(), timeout);
                }
            }
        }
        if (!fitsSomewhere) {
            return deny(c, target, ErrorCode.NO_SEATS_AVAILABLE,
                    "quantity " + q + " is larger than any pool of product '" + c.product() + "'");
        }
        return deny(c, target, ErrorCode.QUEUE_FULL,
                "the queue of product '" + c.product() + "' is full (" + settings.maxQueuePerPool() + ")");
    }

    /**
     * RECLAIM (PROTOCOL.md 10.6): unknown id -> leaseIdNotFound; expired -> licenseCheckoutExpired; no proof of
     * ownership ({@link #provesOwnership}) -> reclaimSecretMismatch; hw_id differs -> clientHwIdMismatch; product
     * or key differs -> licenseKeyVsLeaseIdMismatch; enforcement differs ->
     * licenseConsumptionQtyEnforcementTypeMismatch; a HELD lease of another session with another client_id ->
     * clientHwIdMismatch; session full -> tooManyLeases. Otherwise the lease (same id, same seats) moves to the
     * caller's session with a fresh deadline; it keeps its secret hash, or gets the command's new one if it had
     * none.
     */
    private CheckoutOutcome reclaim(CheckoutCommand c, Pool keyed) {
        final long now = c.nowMs();
        final ClientRef client = c.client();
        UUID id = c.reclaimLeaseId();
        Lease l = leases.get(id);
        if (l == null) {
            if (tombstoned(id, now)) {
                return deny(c, keyed, ErrorCode.LICENSE_CHECKOUT_EXPIRED, "lease " + id + " has expired");
            }
            return deny(c, keyed, ErrorCode.LEASE_ID_NOT_FOUND, "lease " + id + " is not known");
        }
        // right after the lease is found: who does not prove ownership learns nothing more about it (10.6)
        if (!provesOwnership(l, c.presentedSecret(), client)) {
            return deny(c, keyed, ErrorCode.RECLAIM_SECRET_MISMATCH, notProven(id));
        }
        if (!l.hwId.equals(client.hwId())) {
            return deny(c, l.pool, ErrorCode.CLIENT_HW_ID_MISMATCH, "lease " + id + " belongs to another machine");
        }
        if (!l.pool.ent.productId().equals(c.product()) || (keyed != null && keyed != l.pool)) {
            return deny(c, l.pool, ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH,
                    "lease " + id + " is a lease of " + l.pool.ent.productId() + " / " + l.pool.id());
        }
        if (Enforcement.of(c.enforcement()) != l.pool.ent.enforcement()) {
            return deny(c, l.pool, ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                    "lease " + id + " is enforced by " + l.pool.ent.enforcement().configName());
        }
        boolean sameSession = l.state == LeaseState.HELD && l.sessionId == client.sessionId();
        if (l.state == LeaseState.HELD && !sameSession && !l.clientId.equals(client.clientId())) {
            return deny(c, l.pool, ErrorCode.CLIENT_HW_ID_MISMATCH, "lease " + id + " is held by another client");
        }
        if (!sameSession) {
            Session s = sessions.get(client.sessionId());
            if (s != null && s.leaseCount + s.waiters.size() >= settings.maxLeasesPerSession()) {
                return deny(c, l.pool, ErrorCode.TOO_MANY_LEASES,
                        "a session holds at most " + settings.maxLeasesPerSession() + " leases and waiting checkouts");
            }
            if (l.session != null) {
                detachFromSession(l);
            }
            l.state = LeaseState.HELD;
            l.sessionId = client.sessionId();
            l.clientId = client.clientId();
            l.remoteAddress = client.remoteAddress();
            session(client.sessionId()).link(l);
        }
        if (l.secretHash == null) {
            l.secretHash = c.newSecret(); // a 1.1 session's reclaim of a 1.0 lease: from now on it has a secret
        }
        l.lastHeartbeatMs = now;
        deadlines.schedule(l, now + settings.leaseTimeoutMs());
        journal(LedgerEvent.Kind.RECLAIM, now, l, ErrorCode.OK);
        return new CheckoutOutcome.Granted(view(l), true);
    }

    /**
     * Proof of ownership for a RECLAIM or an orphan CHECKIN (PROTOCOL.md 10.6). A lease with a secret hash: the
     * presented secret's hash must match it (constant time), whatever {@code legacy_reclaim} says. A lease
     * without one (granted on a 1.0 connection): {@link LegacyReclaim} decides.
     */
    private boolean provesOwnership(Lease l, SecretHash presented, ClientRef client) {
        return provesOwnership(l.secretHash, l.state, l.clientId, l.hwId, presented, client, settings.legacyReclaim());
    }

    /**
     * The same proof for a lease seen from outside the ledger (triad: a RECLAIM on a member without quorum,
     * answered by the quorum-loss rule without a log entry).
     */
    public static boolean provesOwnership(LeaseView l, SecretHash presented, ClientRef client, LegacyReclaim legacy) {
        return provesOwnership(l.secretHash(), l.state(), l.clientId(), l.hwId(), presented, client, legacy);
    }

    private static boolean provesOwnership(SecretHash leaseHash, LeaseState state, String clientId, String hwId,
                                           SecretHash presented, ClientRef client, LegacyReclaim legacy) {
        if (leaseHash != null) {
            return leaseHash.matches(presented);
        }
        switch (legacy) {
            case ORPHANED:
                return state == LeaseState.ORPHANED && clientId.equals(client.clientId()) && hwId.equals(client.hwId());
            case IDENTITY:
                return true;
            case REFUSE:
            default:
                return false;
        }
    }

    /** The one text for every failed proof, so it tells nothing about the lease (has it a secret or not). */
    public static String notProven(UUID id) {
        return "the reclaim secret does not prove ownership of lease " + id
                + " (a protocol 1.0 client's reclaim is governed by the server's legacy_reclaim setting)";
    }

    /** A CHECKIN presenting no reclaim secret (a protocol 1.0 session). */
    public ErrorCode checkin(ClientRef client, UUID leaseId, long nowMs) {
        return checkin(client, leaseId, null, nowMs);
    }

    /**
     * CHECKIN (PROTOCOL.md 10.5): OK for a lease of the caller's session, or an ORPHANED lease whose client_id
     * and hw_id are the caller's and whose ownership the caller proves ({@link #provesOwnership}: its secret, or
     * {@code legacy_reclaim} for a lease without one; else reclaimSecretMismatch); licenseCheckoutExpired for an
     * expired id; clientHwIdMismatch for a lease of another machine; leaseIdNotFound otherwise.
     *
     * @param presented the hash of the secret the CHECKIN carried, {@code null} for none
     */
    public ErrorCode checkin(ClientRef client, UUID leaseId, SecretHash presented, long nowMs) {
        advance(nowMs);
        Lease l = leases.get(leaseId);
        if (l == null) {
            return tombstoned(leaseId, nowMs) ? ErrorCode.LICENSE_CHECKOUT_EXPIRED : ErrorCode.LEASE_ID_NOT_FOUND;
        }
        if (l.state == LeaseState.ORPHANED && !provesOwnership(l, presented, client)) {
            return ErrorCode.RECLAIM_SECRET_MISMATCH;
        }
        boolean own = l.state == LeaseState.HELD
                ? l.sessionId == client.sessionId()
                : l.hwId.equals(client.hwId()) && l.clientId.equals(client.clientId());
        if (!own) {
            return l.hwId.equals(client.hwId()) ? ErrorCode.LEASE_ID_NOT_FOUND : ErrorCode.CLIENT_HW_ID_MISMATCH;
        }
        end(l, nowMs, LedgerEvent.Kind.CHECKIN, ErrorCode.OK, false, false);
        serve(l.pool.ent.productId(), nowMs);
        return ErrorCode.OK;
    }

    /**
     * HEARTBEAT: one status per id, in order. OK renews the lease until now + lease timeout
     * (remaining = lease timeout). A lease of another session: clientHwIdMismatch if its hw_id
     * differs, else leaseIdNotFound. ORPHANED leases: leaseIdNotFound (they must be reclaimed).
     * Expired: licenseCheckoutExpired. Unknown: leaseIdNotFound.
     */
    public List<Message.LeaseStatus> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
        advance(nowMs);
        List<Message.LeaseStatus> out = new ArrayList<>(leaseIds.size());
        for (UUID id : leaseIds) {
            Lease l = leases.get(id);
            ErrorCode code;
            if (l == null) {
                code = tombstoned(id, nowMs) ? ErrorCode.LICENSE_CHECKOUT_EXPIRED : ErrorCode.LEASE_ID_NOT_FOUND;
            } else if (l.state == LeaseState.ORPHANED) {
                code = ErrorCode.LEASE_ID_NOT_FOUND;
            } else if (l.sessionId != client.sessionId()) {
                code = l.hwId.equals(client.hwId()) ? ErrorCode.LEASE_ID_NOT_FOUND : ErrorCode.CLIENT_HW_ID_MISMATCH;
            } else {
                l.lastHeartbeatMs = nowMs;
                deadlines.schedule(l, nowMs + settings.leaseTimeoutMs());
                journal(LedgerEvent.Kind.HEARTBEAT, nowMs, l, ErrorCode.OK);
                out.add(new Message.LeaseStatus(id, 0, settings.leaseTimeoutMs()));
                continue;
            }
            out.add(new Message.LeaseStatus(id, code.code(), 0));
        }
        return out;
    }

    /**
     * The session's socket closed. Its waiters leave their queues (journal QUEUE_TIMEOUT with
     * reason sessionLost, no listener call). Its leases are released at once (reclaim grace 0,
     * RELEASE sessionLost) or become ORPHANED until now + grace, then released with sessionLost.
     */
    public void sessionLost(long sessionId, long nowMs) {
        advance(nowMs);
        Session s = sessions.remove(sessionId);
        if (s == null) {
            return;
        }
        LinkedHashSet<String> products = new LinkedHashSet<>();
        for (Waiter w : List.copyOf(s.waiters)) {
            dropWaiter(w, nowMs, ErrorCode.SESSION_LOST, false);
            products.add(w.pool.ent.productId());
        }
        for (Lease l : s.leaseList()) {
            if (settings.reclaimGraceMs() == 0) {
                end(l, nowMs, LedgerEvent.Kind.RELEASE, ErrorCode.SESSION_LOST, true, false);
                products.add(l.pool.ent.productId());
            } else {
                s.unlink(l);
                l.state = LeaseState.ORPHANED;
                l.endReason = ErrorCode.SESSION_LOST;
                deadlines.schedule(l, nowMs + settings.reclaimGraceMs());
            }
        }
        for (String product : products) {
            serve(product, nowMs);
        }
    }

    /**
     * Client GOODBYE: checks in every lease of the session (journal CHECKIN) and withdraws its
     * waiters (journal QUEUE_TIMEOUT, reason ok), so nothing is granted to a leaving client.
     *
     * @return how many leases were checked in
     */
    public int releaseAllOf(ClientRef client, long nowMs) {
        advance(nowMs);
        Session s = sessions.get(client.sessionId());
        if (s == null) {
            return 0;
        }
        LinkedHashSet<String> products = new LinkedHashSet<>();
        for (Waiter w : List.copyOf(s.waiters)) {
            dropWaiter(w, nowMs, ErrorCode.OK, false);
            products.add(w.pool.ent.productId());
        }
        int n = 0;
        for (Lease l : s.leaseList()) {
            end(l, nowMs, LedgerEvent.Kind.CHECKIN, ErrorCode.OK, false, false);
            products.add(l.pool.ent.productId());
            n++;
        }
        for (String product : products) {
            serve(product, nowMs);
        }
        return n;
    }

    /** Admin release of a live lease (HELD or ORPHANED), reason forcedRelease. */
    public ErrorCode forceRelease(UUID leaseId, long nowMs) {
        advance(nowMs);
        Lease l = leases.get(leaseId);
        if (l == null) {
            return tombstoned(leaseId, nowMs) ? ErrorCode.LICENSE_CHECKOUT_EXPIRED : ErrorCode.LEASE_ID_NOT_FOUND;
        }
        end(l, nowMs, LedgerEvent.Kind.RELEASE, ErrorCode.FORCED_RELEASE, true, false);
        serve(l.pool.ent.productId(), nowMs);
        return ErrorCode.OK;
    }

    /**
     * Applies every deadline due at {@code nowMs}: lease expiries, ends of reclaim grace, queue
     * timeouts, ends of entitlement windows; drops tombstones older than the tombstone age. Costs
     * O(deadlines due).
     */
    public void tick(long nowMs) {
        advance(nowMs);
        Iterator<Map.Entry<UUID, Long>> it = tombstones.entrySet().iterator();
        while (it.hasNext()) {
            if (it.next().getValue() + settings.expiredTombstoneMs() > nowMs) {
                break;
            }
            it.remove();
        }
    }

    /**
     * Creates or replaces an entitlement. Growing serves waiters; shrinking keeps leases and grants
     * nothing until use &lt; max. A changed product or enforcement revokes the pool's leases and
     * waiters (entitlementDeleted): their terms no longer exist. A window that has already ended ends
     * the pool's leases (entitlementEnded) at once. An entitlement equal to the current one is a
     * no-op (nothing journaled).
     */
    public void upsertEntitlement(Entitlement e, long nowMs) {
        Objects.requireNonNull(e, "entitlement");
        advance(nowMs);
        Pool p = pools.get(e.entitlementId());
        if (p != null && p.ent.equals(e)) {
            return; // a sync that re-sends an unchanged entitlement changes nothing and journals nothing
        }
        if (p == null) {
            p = new Pool(e);
            pools.put(p.id(), p);
            poolsByProduct.computeIfAbsent(e.productId(), k -> new TreeMap<>()).put(p.id(), p);
        } else {
            Entitlement old = p.ent;
            if (!old.productId().equals(e.productId()) || old.enforcement() != e.enforcement()) {
                revokeAll(p, nowMs, ErrorCode.ENTITLEMENT_DELETED);
                TreeMap<String, Pool> was = poolsByProduct.get(old.productId());
                was.remove(p.id());
                if (was.isEmpty()) {
                    poolsByProduct.remove(old.productId());
                }
                poolsByProduct.computeIfAbsent(e.productId(), k -> new TreeMap<>()).put(p.id(), p);
            }
            p.ent = e;
        }
        deadlines.cancel(p);
        if (e.endsAtMs() != Long.MAX_VALUE) {
            deadlines.schedule(p, Math.max(e.endsAtMs(), nowMs));
        }
        journalEntitlement(p, nowMs, e.maxSeats(), ErrorCode.OK);
        advance(nowMs); // a window that has already ended
        serve(e.productId(), nowMs);
    }

    /** Removes an entitlement: its leases are revoked and its waiters denied, both with entitlementDeleted. */
    public void removeEntitlement(String entitlementId, long nowMs) {
        advance(nowMs);
        Pool p = pools.remove(entitlementId);
        if (p == null) {
            return;
        }
        deadlines.cancel(p);
        revokeAll(p, nowMs, ErrorCode.ENTITLEMENT_DELETED);
        TreeMap<String, Pool> ofProduct = poolsByProduct.get(p.ent.productId());
        ofProduct.remove(p.id());
        if (ofProduct.isEmpty()) {
            poolsByProduct.remove(p.ent.productId());
        }
        journalEntitlement(p, nowMs, 0, ErrorCode.ENTITLEMENT_DELETED);
    }

    /**
     * Restart recovery: puts back a lease read from the store as ORPHANED until
     * {@code graceUntilMs}; unless reclaimed by then it is released with serverRestart. A lease whose
     * entitlement no longer exists is dropped (journal RELEASE entitlementDeleted at its last
     * heartbeat); an id already live is ignored. The lease keeps its reclaim secret hash, if it has one. Call after
     * the entitlements are loaded.
     */
    public void restoreLease(LeaseView lease, long graceUntilMs) {
        Objects.requireNonNull(lease, "lease");
        if (leases.containsKey(lease.leaseId())) {
            return;
        }
        Pool p = pools.get(lease.entitlementId());
        if (p == null) {
            listener.journal(new LedgerEvent(LedgerEvent.Kind.RELEASE, lease.lastHeartbeatMs(), lease.leaseId(),
                    lease.entitlementId(), lease.productId(), lease.sessionId(), lease.clientId(), lease.hwId(),
                    lease.quantity(), ErrorCode.ENTITLEMENT_DELETED, 0, 0));
            return;
        }
        Lease l = new Lease(lease.leaseId(), p, lease.sessionId(), lease.clientId(), lease.hwId(),
                lease.remoteAddress(), lease.quantity(), lease.checkedOutAtMs());
        l.secretHash = lease.secretHash();
        l.lastHeartbeatMs = lease.lastHeartbeatMs();
        l.state = LeaseState.ORPHANED;
        l.endReason = ErrorCode.SERVER_RESTART;
        leases.put(l.id, l);
        p.link(l);
        p.used += l.quantity;
        p.highWater = Math.max(p.highWater, p.used);
        deadlines.schedule(l, graceUntilMs);
    }

    /**
     * The deadline of a lease restored at start ({@link #restoreLease}) whose reclaim grace has not begun: its clients
     * cannot connect yet. {@link #startRestartGrace} replaces it once the TCP listener accepts.
     */
    public static final long GRACE_NOT_STARTED = Long.MAX_VALUE;

    /**
     * Restart recovery (issue 12): the clients can connect from now on, so the reclaim grace of every restored lease
     * still waiting for it ({@link #GRACE_NOT_STARTED}) begins: it ends at {@code graceUntilMs}. Leases reclaimed
     * meanwhile (none: nobody could connect) and other orphans are left alone. Returns how many leases it set.
     */
    public int startRestartGrace(long graceUntilMs) {
        int n = 0;
        for (Lease l : leases.values()) {
            if (l.state == LeaseState.ORPHANED && l.endReason == ErrorCode.SERVER_RESTART
                    && l.deadlineMs == GRACE_NOT_STARTED) {
                deadlines.schedule(l, graceUntilMs);
                n++;
            }
        }
        return n;
    }

    // Replication: what a replicated state machine (the triad's, dev.turnstile.appliance.triad) needs beyond the
    // commands above. There heartbeats are not log entries: the replicated ledger runs with a lease timeout too
    // long to matter and the leader commits an explicit expiry when a lease misses its heartbeats.

    /** Replication: ends a HELD lease as if its heartbeat deadline had passed at {@code nowMs} (licenseCheckoutExpired). */
    public ErrorCode expireNow(UUID leaseId, long nowMs) {
        advance(nowMs);
        Lease l = leases.get(leaseId);
        if (l == null || l.state != LeaseState.HELD) {
            return ErrorCode.LEASE_ID_NOT_FOUND;
        }
        end(l, nowMs, LedgerEvent.Kind.EXPIRY, ErrorCode.LICENSE_CHECKOUT_EXPIRED, true, true);
        serve(l.pool.ent.productId(), nowMs);
        return ErrorCode.OK;
    }

    /** Replication: a snapshot puts back a HELD lease as it was (same session, deadline), without journaling. */
    public void restoreHeldSilently(LeaseView lease) {
        Pool p = pools.get(lease.entitlementId());
        if (p == null || leases.containsKey(lease.leaseId())) {
            return;
        }
        Lease l = new Lease(lease.leaseId(), p, lease.sessionId(), lease.clientId(), lease.hwId(),
                lease.remoteAddress(), lease.quantity(), lease.checkedOutAtMs());
        l.secretHash = lease.secretHash();
        l.lastHeartbeatMs = lease.lastHeartbeatMs();
        l.state = LeaseState.HELD;
        leases.put(l.id, l);
        p.link(l);
        session(lease.sessionId()).link(l);
        p.used += l.quantity;
        p.highWater = Math.max(p.highWater, p.used);
        deadlines.schedule(l, lease.deadlineMs());
    }

    /** Replication: before a snapshot is installed: forgets every pool, lease, waiter and tombstone, silently. */
    public void resetSilently() {
        for (Lease l : List.copyOf(leases.values())) {
            deadlines.cancel(l);
        }
        for (Pool p : pools.values()) {
            deadlines.cancel(p);
            for (Waiter w : List.copyOf(p.queue)) {
                deadlines.cancel(w);
            }
        }
        pools.clear();
        poolsByProduct.clear();
        leases.clear();
        sessions.clear();
        tombstones.clear();
        waiterCount = 0;
    }

    /** Replication: a waiting checkout as a snapshot keeps it (its pool, its place in the FIFO, its deadline). */
    public record SnapshotWaiter(String entitlementId, ClientRef client, int requestId, String licenseKey, long quantity,
                              Enforcement enforcement, UUID newLeaseId, long deadlineMs, SecretHash newSecret) {
    }

    /** Replication: every waiting checkout, pool by pool in queue order (snapshots). */
    public List<SnapshotWaiter> snapshotWaiters() {
        List<SnapshotWaiter> out = new ArrayList<>(waiterCount);
        for (Pool p : pools.values()) {
            for (Waiter w : p.queue) {
                out.add(new SnapshotWaiter(p.ent.entitlementId(), w.client, w.requestId, w.licenseKey, w.quantity,
                        w.enforcement, w.newLeaseId, w.deadlineMs, w.newSecret));
            }
        }
        return out;
    }

    /** Replication: a snapshot puts back a waiting checkout at the end of its pool's queue, without journaling. */
    public void restoreWaiterSilently(SnapshotWaiter t) {
        Pool p = pools.get(t.entitlementId());
        if (p == null) {
            return;
        }
        Waiter w = new Waiter(p, new CheckoutCommand(t.client(), t.requestId(), p.ent.productId(), t.licenseKey(),
                t.quantity(), t.enforcement().code(), true, 0, null, t.newLeaseId(), t.deadlineMs(), null,
                t.newSecret()), t.enforcement());
        p.queue.add(w);
        session(t.client().sessionId()).waiters.add(w);
        waiterCount++;
        deadlines.schedule(w, t.deadlineMs());
    }

    /** Replication: entitlements as they are now (snapshots). */
    public List<Entitlement> snapshotEntitlements() {
        List<Entitlement> out = new ArrayList<>(pools.size());
        for (Pool p : pools.values()) {
            out.add(p.ent);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------
    // Queries (snapshots)
    // ------------------------------------------------------------------------------------------

    /** All pools, by entitlement id. */
    public List<PoolView> pools() {
        List<PoolView> out = new ArrayList<>(pools.size());
        for (Pool p : pools.values()) {
            out.add(view(p));
        }
        return out;
    }

    public Optional<LeaseView> lease(UUID id) {
        Lease l = leases.get(id);
        return l == null ? Optional.empty() : Optional.of(view(l));
    }

    /** All live leases (HELD and ORPHANED), in the order they were granted or restored. */
    public List<LeaseView> leases() {
        List<LeaseView> out = new ArrayList<>(leases.size());
        for (Lease l : leases.values()) {
            out.add(view(l));
        }
        return out;
    }

    /** The HELD leases of a live session. */
    /** Leases and queued checkouts of a session (0 for a session the ledger does not know): O(1). */
    public int holdingsOf(long sessionId) {
        Session s = sessions.get(sessionId);
        return s == null ? 0 : s.leaseCount + s.waiters.size();
    }

    public List<LeaseView> leasesOf(long sessionId) {
        Session s = sessions.get(sessionId);
        if (s == null) {
            return List.of();
        }
        List<LeaseView> out = new ArrayList<>(s.leaseCount);
        for (Lease l = s.head; l != null; l = l.sessNext) {
            out.add(view(l));
        }
        return out;
    }

    /** Pools, leases, waiter count and next deadline, taken together. */
    public LedgerSnapshot snapshot() {
        return new LedgerSnapshot(pools(), leases(), waiterCount, deadlines.earliestMs());
    }

    public int leaseCount() {
        return leases.size();
    }

    public int waiterCount() {
        return waiterCount;
    }

    /** The earliest pending deadline (expiry, grace end, queue timeout, window end), {@link Long#MAX_VALUE} if none. */
    public long nextDeadlineMs() {
        return deadlines.earliestMs();
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /** Applies every deadline {@code <= nowMs}, each at its own time, in deadline order. */
    private void advance(long nowMs) {
        DeadlineQueue.Node n;
        while ((n = deadlines.pollDue(nowMs)) != null) {
            final long at = n.deadlineMs;
            if (n instanceof Lease) {
                Lease l = (Lease) n;
                if (l.state == LeaseState.HELD) {
                    end(l, at, LedgerEvent.Kind.EXPIRY, ErrorCode.LICENSE_CHECKOUT_EXPIRED, true, true);
                } else {
                    end(l, at, LedgerEvent.Kind.RELEASE, l.endReason, true, true);
                }
                serve(l.pool.ent.productId(), at);
            } else if (n instanceof Waiter) {
                Waiter w = (Waiter) n;
                dropWaiter(w, at, ErrorCode.QUEUE_TIMEOUT, true);
                serve(w.pool.ent.productId(), at);
            } else {
                endWindow((Pool) n, at);
            }
        }
    }

    private void endWindow(Pool p, long at) {
        revokeAll(p, at, ErrorCode.ENTITLEMENT_ENDED);
    }

    private void revokeAll(Pool p, long at, ErrorCode reason) {
        for (Waiter w : List.copyOf(p.queue)) {
            dropWaiter(w, at, reason, true);
        }
        for (Lease l : p.leaseList()) {
            end(l, at, LedgerEvent.Kind.RELEASE, reason, true, false);
        }
    }

    private Lease grant(Pool p, ClientRef client, long quantity, UUID id, SecretHash secret, long at) {
        Lease l = new Lease(id, p, client.sessionId(), client.clientId(), client.hwId(), client.remoteAddress(),
                quantity, at);
        l.secretHash = secret;
        l.lastHeartbeatMs = at;
        l.state = LeaseState.HELD;
        leases.put(id, l);
        p.link(l);
        session(client.sessionId()).link(l);
        p.used += quantity;
        p.highWater = Math.max(p.highWater, p.used);
        deadlines.schedule(l, at + settings.leaseTimeoutMs());
        journal(LedgerEvent.Kind.CHECKOUT, at, l, ErrorCode.OK);
        return l;
    }

    /** Ends a live lease: seats return to the pool; no serving (the caller serves). */
    private void end(Lease l, long at, LedgerEvent.Kind kind, ErrorCode reason, boolean notify, boolean tombstone) {
        LeaseView before = notify ? view(l) : null;
        deadlines.cancel(l);
        leases.remove(l.id);
        l.pool.unlink(l);
        if (l.session != null) {
            detachFromSession(l);
        }
        l.pool.used -= l.quantity;
        if (tombstone && settings.maxTombstones() > 0) {
            tombstones.put(l.id, at);
        }
        journal(kind, at, l, reason);
        if (notify) {
            listener.leaseEnded(l.sessionId, before, reason);
        }
    }

    private void detachFromSession(Lease l) {
        Session s = l.session;
        s.unlink(l);
        if (s.isEmpty()) {
            sessions.remove(s.id, s);
        }
    }

    /** Takes a waiter out of its queue without a seat; journal QUEUE_TIMEOUT with {@code reason}. */
    private void dropWaiter(Waiter w, long at, ErrorCode reason, boolean notify) {
        unlinkWaiter(w);
        journal(LedgerEvent.Kind.QUEUE_TIMEOUT, at, null, w.pool, w.client, w.quantity, reason);
        if (notify) {
            listener.queuedDenied(w.client.sessionId(), w.requestId, reason, denialText(reason, w));
        }
    }

    private void unlinkWaiter(Waiter w) {
        deadlines.cancel(w);
        w.pool.queue.remove(w);
        waiterCount--;
        Session s = sessions.get(w.client.sessionId());
        if (s != null) {
            s.waiters.remove(w);
            if (s.isEmpty()) {
                sessions.remove(s.id, s);
            }
        }
    }

    /**
     * Serves the waiters of a product until nothing moves: each active pool serves its own queue
     * head while it fits; an active pool with an empty queue then serves keyless heads of the other
     * pools of the product (same enforcement) while they fit. Every grant removes a waiter, so this
     * ends.
     */
    private void serve(String product, long at) {
        if (waiterCount == 0) {
            return;
        }
        TreeMap<String, Pool> ofProduct = poolsByProduct.get(product);
        if (ofProduct == null) {
            return;
        }
        boolean progress = true;
        while (progress) {
            progress = false;
            for (Pool p : ofProduct.values()) {
                if (!p.ent.activeAt(at)) {
                    continue;
                }
                while (!p.queue.isEmpty()) {
                    Waiter w = p.queue.iterator().next();
                    if (p.used + w.quantity > p.ent.maxSeats()) {
                        break;
                    }
                    grantWaiter(p, w, at);
                    progress = true;
                }
            }
            if (ofProduct.size() < 2) {
                break;
            }
            for (Pool p : ofProduct.values()) {
                if (!p.ent.activeAt(at) || !p.queue.isEmpty()) {
                    continue;
                }
                for (Pool other : ofProduct.values()) {
                    while (other != p && !other.queue.isEmpty()) {
                        Waiter w = other.queue.iterator().next();
                        if (!w.licenseKey.isEmpty() || w.enforcement != p.ent.enforcement()
                                || p.used + w.quantity > p.ent.maxSeats()) {
                            break;
                        }
                        grantWaiter(p, w, at);
                        progress = true;
                    }
                }
            }
        }
    }

    private void grantWaiter(Pool p, Waiter w, long at) {
        unlinkWaiter(w);
        if (leases.containsKey(w.newLeaseId)) {
            journal(LedgerEvent.Kind.QUEUE_TIMEOUT, at, null, w.pool, w.client, w.quantity, ErrorCode.INTERNAL_ERROR);
            listener.queuedDenied(w.client.sessionId(), w.requestId, ErrorCode.INTERNAL_ERROR,
                    "lease id " + w.newLeaseId + " is already in use");
            return;
        }
        Lease l = grant(p, w.client, w.quantity, w.newLeaseId, w.newSecret, at);
        listener.queuedGranted(w.client.sessionId(), w.requestId, view(l));
    }

    private CheckoutOutcome.Denied deny(CheckoutCommand c, Pool pool, ErrorCode code, String message) {
        ClientRef cl = c.client();
        listener.journal(new LedgerEvent(LedgerEvent.Kind.DENIAL, c.nowMs(), null, pool == null ? "" : pool.id(),
                c.product(), cl.sessionId(), cl.clientId(), cl.hwId(), c.quantity(), code,
                pool == null ? 0 : pool.used, pool == null ? 0 : pool.highWater));
        return new CheckoutOutcome.Denied(code, message);
    }

    private boolean tombstoned(UUID id, long nowMs) {
        Long at = tombstones.get(id);
        return at != null && nowMs < at + settings.expiredTombstoneMs();
    }

    private Session session(long sessionId) {
        Session s = sessions.get(sessionId);
        if (s == null) {
            s = new Session(sessionId);
            sessions.put(sessionId, s);
        }
        return s;
    }

    private void journal(LedgerEvent.Kind kind, long at, Lease l, ErrorCode reason) {
        Pool p = l.pool;
        // the secret hash travels with the events that start a lease's row in the store, and no others
        SecretHash hash = kind == LedgerEvent.Kind.CHECKOUT || kind == LedgerEvent.Kind.RECLAIM ? l.secretHash : null;
        listener.journal(new LedgerEvent(kind, at, l.id, p.id(), p.ent.productId(), l.sessionId, l.clientId, l.hwId,
                l.quantity, reason, p.used, p.highWater, hash));
    }

    private void journal(LedgerEvent.Kind kind, long at, UUID leaseId, Pool p, ClientRef c, long quantity,
                         ErrorCode reason) {
        listener.journal(new LedgerEvent(kind, at, leaseId, p.id(), p.ent.productId(), c.sessionId(), c.clientId(),
                c.hwId(), quantity, reason, p.used, p.highWater));
    }

    private void journalEntitlement(Pool p, long at, long maxSeats, ErrorCode reason) {
        listener.journal(new LedgerEvent(LedgerEvent.Kind.ENTITLEMENT_CHANGED, at, null, p.id(), p.ent.productId(), 0,
                "", "", maxSeats, reason, p.used, p.highWater));
    }

    private static String denialText(ErrorCode reason, Waiter w) {
        switch (reason) {
            case QUEUE_TIMEOUT:
                return "no seat of product '" + w.pool.ent.productId() + "' became free in time";
            case ENTITLEMENT_DELETED:
                return "entitlement '" + w.pool.id() + "' was removed";
            case ENTITLEMENT_ENDED:
                return "entitlement '" + w.pool.id() + "' has ended";
            default:
                return reason.wireName();
        }
    }

    private static String enforcementName(int raw) {
        Enforcement e = Enforcement.of(raw);
        return e == null ? "unknown enforcement " + raw : e.configName();
    }

    private LeaseView view(Lease l) {
        return new LeaseView(l.id, l.pool.id(), l.pool.ent.productId(), l.sessionId, l.clientId, l.hwId,
                l.remoteAddress, l.quantity, l.checkedOutAtMs, l.lastHeartbeatMs, l.deadlineMs, l.state, l.secretHash);
    }

    private static PoolView view(Pool p) {
        Entitlement e = p.ent;
        return new PoolView(e.entitlementId(), e.tenantId(), e.productId(), e.enforcement(), e.maxSeats(), p.used,
                p.queue.size(), p.highWater, e.startsAt(), e.endsAt());
    }

    /** A pool; as a deadline node it stands for the end of its entitlement window. */
    private static final class Pool extends DeadlineQueue.Node {
        Entitlement ent;
        long used;
        long highWater;
        final LinkedHashSet<Waiter> queue = new LinkedHashSet<>();
        /** The pool's live leases, an intrusive list in grant order (O(1) link and unlink, no hashing). */
        private Lease head;
        private Lease tail;

        Pool(Entitlement ent) {
            this.ent = ent;
        }

        void link(Lease l) {
            l.poolPrev = tail;
            l.poolNext = null;
            if (tail == null) {
                head = l;
            } else {
                tail.poolNext = l;
            }
            tail = l;
        }

        void unlink(Lease l) {
            if (l.poolPrev == null) {
                head = l.poolNext;
            } else {
                l.poolPrev.poolNext = l.poolNext;
            }
            if (l.poolNext == null) {
                tail = l.poolPrev;
            } else {
                l.poolNext.poolPrev = l.poolPrev;
            }
            l.poolPrev = null;
            l.poolNext = null;
        }

        List<Lease> leaseList() {
            List<Lease> out = new ArrayList<>();
            for (Lease l = head; l != null; l = l.poolNext) {
                out.add(l);
            }
            return out;
        }

        String id() {
            return ent.entitlementId();
        }
    }

    /** A live lease; as a deadline node, its expiry (HELD) or the end of its reclaim grace (ORPHANED). */
    private static final class Lease extends DeadlineQueue.Node {
        final UUID id;
        final Pool pool;
        final String hwId;
        final long quantity;
        final long checkedOutAtMs;
        long sessionId;
        String clientId;
        String remoteAddress;
        long lastHeartbeatMs;
        LeaseState state;
        /** SHA-256 of the lease's reclaim secret; null for a lease granted on a protocol 1.0 connection. */
        SecretHash secretHash;
        /** Reason of the release when an ORPHANED lease's grace ends. */
        ErrorCode endReason;
        /** The live session holding it; null when ORPHANED. */
        Session session;
        Lease poolPrev;
        Lease poolNext;
        Lease sessPrev;
        Lease sessNext;

        Lease(UUID id, Pool pool, long sessionId, String clientId, String hwId, String remoteAddress, long quantity,
              long checkedOutAtMs) {
            this.id = id;
            this.pool = pool;
            this.sessionId = sessionId;
            this.clientId = clientId;
            this.hwId = hwId;
            this.remoteAddress = remoteAddress;
            this.quantity = quantity;
            this.checkedOutAtMs = checkedOutAtMs;
        }
    }

    /** A waiting checkout; as a deadline node, its wait timeout. Identity equality (insertion-ordered sets). */
    private static final class Waiter extends DeadlineQueue.Node {
        final Pool pool;
        final ClientRef client;
        final int requestId;
        final String licenseKey;
        final long quantity;
        final Enforcement enforcement;
        final UUID newLeaseId;
        /** The hash of the secret the session will send in the GRANTED that ends the wait. */
        final SecretHash newSecret;

        Waiter(Pool pool, CheckoutCommand c, Enforcement enforcement) {
            this.pool = pool;
            this.client = c.client();
            this.requestId = c.requestId();
            this.licenseKey = c.licenseKey();
            this.quantity = c.quantity();
            this.enforcement = enforcement;
            this.newLeaseId = c.newLeaseId();
            this.newSecret = c.newSecret();
        }
    }

    /** A live session: its HELD leases (intrusive list, grant order) and its waiting checkouts. */
    private static final class Session {
        final long id;
        final LinkedHashSet<Waiter> waiters = new LinkedHashSet<>();
        Lease head;
        Lease tail;
        int leaseCount;

        Session(long id) {
            this.id = id;
        }

        void link(Lease l) {
            l.session = this;
            l.sessPrev = tail;
            l.sessNext = null;
            if (tail == null) {
                head = l;
            } else {
                tail.sessNext = l;
            }
            tail = l;
            leaseCount++;
        }

        void unlink(Lease l) {
            if (l.sessPrev == null) {
                head = l.sessNext;
            } else {
                l.sessPrev.sessNext = l.sessNext;
            }
            if (l.sessNext == null) {
                tail = l.sessPrev;
            } else {
                l.sessNext.sessPrev = l.sessPrev;
            }
            l.sessPrev = null;
            l.sessNext = null;
            l.session = null;
            leaseCount--;
        }

        List<Lease> leaseList() {
            List<Lease> out = new ArrayList<>(leaseCount);
            for (Lease l = head; l != null; l = l.sessNext) {
                out.add(l);
            }
            return out;
        }

        boolean isEmpty() {
            return leaseCount == 0 && waiters.isEmpty();
        }
    }
}
