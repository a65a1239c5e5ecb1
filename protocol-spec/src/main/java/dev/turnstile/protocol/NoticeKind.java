package dev.turnstile.protocol;

/** Kinds of server-pushed NOTICE (PROTOCOL.md section 6.12). Clients ignore kinds they do not know. */
public enum NoticeKind {
    DRAINING(1),
    LEASE_REVOKED(2),
    ENTITLEMENT_CHANGED(3),
    LICENSE_EXPIRING(4),
    LEADER_CHANGED(5);

    private final int code;

    NoticeKind(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** @return the kind, or {@code null} for a byte this version does not know. */
    public static NoticeKind of(int code) {
        for (NoticeKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return null;
    }
}
