package dev.turnstile.appliance.sync;

import java.util.Locale;

/**
 * What happens when the cloud changes an entitlement that an admin has changed locally and the
 * cloud has not overwritten since (appliance/SYNC.md, "Conflicts").
 */
public enum ConflictPolicy {
    /** The cloud's version replaces the entitlement; the local edit is dropped. */
    CLOUD_WINS,
    /** The cloud's change is ignored: the entitlement stays as it is locally; the local edit stays. */
    LOCAL_WINS,
    /** Field by field, the more recent timestamp wins (the cloud's change time against each field's edit time). */
    MERGE,
    /** Nothing is applied; the conflict waits in the conflict list until an admin resolves it. */
    MANUAL;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @return the policy, or {@code null} for an unknown name */
    public static ConflictPolicy ofName(String name) {
        for (ConflictPolicy p : values()) {
            if (p.configName().equals(name == null ? null : name.trim().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        return null;
    }
}
