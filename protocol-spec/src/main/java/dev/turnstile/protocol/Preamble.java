package dev.turnstile.protocol;

/**
 * The 8-byte connection preamble (PROTOCOL.md section 4). The client sends
 * {@code "TSTL" min_version max_version 0x0000}; the server answers
 * {@code "TSTL" selected_version 0x00 0x0000}, where a selected version of 0 means "no version in
 * common" and is followed by the server closing the connection.
 */
public final class Preamble {
    private Preamble() {
    }

    public static final int LENGTH = 8;
    public static final byte[] MAGIC = {0x54, 0x53, 0x54, 0x4C}; // "TSTL"
    /** Protocol 1.0. */
    public static final int VERSION_1 = 1;
    /** Protocol 1.1: version 1 plus the reclaim secret in GRANTED, CHECKOUT and CHECKIN (PROTOCOL.md 4.1). */
    public static final int VERSION_1_1 = 2;
    /** Versions this implementation speaks. */
    public static final int MIN_SUPPORTED = 1;
    public static final int MAX_SUPPORTED = VERSION_1_1;
    /** Selected version meaning "none in common". */
    public static final int NO_COMMON_VERSION = 0;

    public static byte[] client(int minVersion, int maxVersion) {
        return new byte[] {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], (byte) minVersion, (byte) maxVersion, 0, 0};
    }

    public static byte[] server(int selectedVersion) {
        return new byte[] {MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], (byte) selectedVersion, 0, 0, 0};
    }

    /** True when the first four bytes are the magic. */
    public static boolean hasMagic(byte[] b, int off) {
        return b[off] == MAGIC[0] && b[off + 1] == MAGIC[1] && b[off + 2] == MAGIC[2] && b[off + 3] == MAGIC[3];
    }

    /**
     * Server side: the version to speak with a client that offered {@code [min, max]}, or
     * {@link #NO_COMMON_VERSION}.
     */
    public static int negotiate(int clientMin, int clientMax) {
        int lo = Math.max(clientMin, MIN_SUPPORTED);
        int hi = Math.min(clientMax, MAX_SUPPORTED);
        return lo <= hi ? hi : NO_COMMON_VERSION;
    }

    /** The client's offered minimum version from a client preamble. */
    public static int minVersion(byte[] b, int off) {
        return b[off + 4] & 0xFF;
    }

    /** The client's offered maximum version from a client preamble. */
    public static int maxVersion(byte[] b, int off) {
        return b[off + 5] & 0xFF;
    }

    /** The server's selected version from a server preamble. */
    public static int selectedVersion(byte[] b, int off) {
        return b[off + 4] & 0xFF;
    }
}
