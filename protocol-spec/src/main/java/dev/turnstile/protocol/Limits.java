package dev.turnstile.protocol;

/** Hard limits of protocol v1 (PROTOCOL.md section 7). Every receiver enforces them. */
public final class Limits {
    private Limits() {
    }

    /** Bytes of the length prefix. */
    public static final int LENGTH_PREFIX = 4;
    /** type (1) + flags (1) + correlation id (4): the part of the header the length counts. */
    public static final int HEADER_AFTER_LENGTH = 6;
    /** Largest value of the length prefix: 64 KiB. */
    public static final int MAX_FRAME_LENGTH = 65_536;

    public static final int MAX_CLIENT_ID = 128;
    public static final int MAX_HW_ID = 128;
    public static final int MAX_CLIENT_VERSION = 64;
    public static final int MAX_AUTH_TOKEN = 512;
    public static final int MAX_SERVER_ID = 64;
    public static final int MAX_ADDRESS = 255;
    public static final int MAX_PEERS = 16;
    public static final int MAX_PRODUCT = 128;
    public static final int MAX_LICENSE_KEY = 256;
    public static final int MAX_ENTITLEMENT_ID = 128;
    public static final int MAX_TEXT = 1024;
    public static final int MAX_HEARTBEAT_LEASES = 1024;
    public static final int MAX_QUANTITY = 10_000;
    /** Bytes of a reclaim secret (protocol 1.1, version 2): GRANTED, CHECKOUT and CHECKIN carry one. */
    public static final int RECLAIM_SECRET = 32;
}
