package dev.turnstile.appliance.session;

import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.Secrets;

/**
 * The reclaim secrets of one CHECKOUT on a protocol 1.1 connection (PROTOCOL.md 10.6): a fresh secret drawn
 * for it (256 bits from a CSPRNG), the secret a RECLAIM presented, and their hashes for the ledger. The plain
 * secrets live only here, in the session, until the final answer; the ledger, the log and the store see hashes.
 * On a 1.0 connection every part is {@code null}. Never printed.
 *
 * @param corr the checkout's correlation id (a QUEUED checkout's DENIED names the waiter by it)
 */
record CheckoutSecrets(int corr, byte[] fresh, SecretHash freshHash, byte[] presented, SecretHash presentedHash) {

    static CheckoutSecrets of(int version, int corr, Message.Checkout c) {
        if (version < Preamble.VERSION_1_1) {
            return new CheckoutSecrets(corr, null, null, null, null);
        }
        byte[] fresh = Secrets.fresh();
        byte[] presented = c.reclaim() ? c.presentedSecret() : null; // without RECLAIM: zero, ignored
        return new CheckoutSecrets(corr, fresh, SecretHash.of(fresh), presented,
                presented == null ? null : SecretHash.of(presented));
    }

    /**
     * The secret GRANTED carries (null on a 1.0 connection): the presented one when the lease's hash is its hash
     * (a reclaim keeps the lease's secret), else the fresh one (a new lease, or the reclaim of a lease that had
     * none: the ledger gave it the fresh hash).
     */
    byte[] forGrant(LeaseView lease) {
        if (fresh == null) {
            return null;
        }
        return presentedHash != null && presentedHash.matches(lease.secretHash()) ? presented : fresh;
    }

    @Override
    public String toString() {
        return "CheckoutSecrets[***]";
    }
}
