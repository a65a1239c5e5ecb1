package dev.turnstile.protocol;

import java.security.SecureRandom;

/**
 * The reclaim secret of protocol 1.1 (PROTOCOL.md sections 6.5 and 10.6): 32 bytes that only a lease's
 * holder and the server's session that granted it ever see. Helpers to check, draw and mask one; a
 * secret is never printed.
 */
public final class Secrets {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Secrets() {
    }

    /** A fresh secret: {@link Limits#RECLAIM_SECRET} bytes from a CSPRNG, never all zero. */
    public static byte[] fresh() {
        byte[] s = new byte[Limits.RECLAIM_SECRET];
        do {
            RANDOM.nextBytes(s);
        } while (isZero(s));
        return s;
    }

    /** True for the all-zero secret, which means "none presented". */
    public static boolean isZero(byte[] s) {
        int acc = 0;
        for (byte b : s) {
            acc |= b;
        }
        return acc == 0;
    }

    /** {@code s} itself when it is a secret that was presented, {@code null} for null or all zero. */
    static byte[] present(byte[] s) {
        return s == null || isZero(s) ? null : s.clone();
    }

    /** Validates a record component: null, or exactly {@link Limits#RECLAIM_SECRET} bytes (copied). */
    static byte[] checked(byte[] s) {
        if (s == null) {
            return null;
        }
        if (s.length != Limits.RECLAIM_SECRET) {
            throw new IllegalArgumentException("a reclaim secret has " + Limits.RECLAIM_SECRET + " bytes, not "
                    + s.length);
        }
        return s.clone();
    }

    /** What a log or toString shows instead of a secret. */
    static String mask(byte[] s) {
        return s == null ? "none" : isZero(s) ? "zero" : "***";
    }
}
