package dev.turnstile.appliance.seat;

import java.util.Locale;

/**
 * What a reclaim (or an orphan CHECKIN) may do without a reclaim secret: a protocol 1.0 client, or a lease
 * granted on a 1.0 connection, which has none (PROTOCOL.md 10.6, config key {@code server.legacy_reclaim}). A
 * lease that has a secret always needs it, whatever this says.
 */
public enum LegacyReclaim {
    /** Never (the default, safe): the 1.0 client checks out afresh; its orphaned lease ends with the grace. */
    REFUSE,
    /**
     * Only an ORPHANED lease without a secret, by the same client_id and hw_id; never from a live holder.
     * Weaker: while the holder is disconnected, its identifiers (shown by the admin API) suffice.
     */
    ORPHANED,
    /** The 1.0 rules: identifiers suffice, even against a live holder. Insecure; for sites with trusted clients only. */
    IDENTITY;

    /** The config value: {@code refuse}, {@code orphaned}, {@code identity}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The mode named {@code name} (case-insensitive), or null. */
    public static LegacyReclaim ofConfigName(String name) {
        for (LegacyReclaim m : values()) {
            if (m.configName().equalsIgnoreCase(name)) {
                return m;
            }
        }
        return null;
    }
}
