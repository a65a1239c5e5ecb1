package dev.turnstile.appliance.seat;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;

/**
 * The SHA-256 hash of a lease's reclaim secret (protocol 1.1, PROTOCOL.md 10.6): all the appliance keeps of
 * the secret, in the ledger, the Raft log, snapshots and the store's {@code leases} table. The plain secret
 * exists only in the session that sends GRANTED. Compared in constant time ({@link MessageDigest#isEqual});
 * never printed ({@link #toString()} is {@code ***}), never in an API answer, a status, a metric, a log or a
 * journal row.
 */
public final class SecretHash {
    /** SHA-256: 32 bytes. */
    public static final int LENGTH = 32;

    private final byte[] hash;

    private SecretHash(byte[] hash) {
        this.hash = hash;
    }

    /** The hash of a presented or freshly drawn secret. */
    public static SecretHash of(byte[] secret) {
        Objects.requireNonNull(secret, "secret");
        try {
            return new SecretHash(MessageDigest.getInstance("SHA-256").digest(secret));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** A stored hash (store, snapshot, log entry), {@value #LENGTH} bytes, copied. */
    public static SecretHash fromBytes(byte[] hash) {
        Objects.requireNonNull(hash, "hash");
        if (hash.length != LENGTH) {
            throw new IllegalArgumentException("a secret hash has " + LENGTH + " bytes, not " + hash.length);
        }
        return new SecretHash(hash.clone());
    }

    /** The hash's bytes (a copy), for the store, snapshots and the Raft log only. */
    public byte[] bytes() {
        return hash.clone();
    }

    /** Constant time: the time taken does not depend on where the hashes differ. */
    public boolean matches(SecretHash other) {
        return other != null && MessageDigest.isEqual(hash, other.hash);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SecretHash s && matches(s);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    /** Never the bytes. */
    @Override
    public String toString() {
        return "***";
    }
}
