package dev.turnstile.protocol;

/**
 * Quantity-enforcement type of a pool (PROTOCOL.md section 10.1). A checkout names the type it
 * expects; a mismatch is {@code licenseConsumptionQtyEnforcementTypeMismatch}.
 */
public enum Enforcement {
    /** A lease holds {@code quantity} seats of the pool. */
    SEATS(1, "seats"),
    /** A lease holds one checkout of the pool; the quantity must be 1. */
    CHECKOUTS(2, "checkouts");

    private final int code;
    private final String configName;

    Enforcement(int code, String configName) {
        this.code = code;
        this.configName = configName;
    }

    public int code() {
        return code;
    }

    public String configName() {
        return configName;
    }

    /** @return the type, or {@code null} for a byte v1 does not define. */
    public static Enforcement of(int code) {
        for (Enforcement e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return null;
    }

    /** @return the type, or {@code null} for a name v1 does not define. */
    public static Enforcement ofName(String name) {
        for (Enforcement e : values()) {
            if (e.configName.equals(name)) {
                return e;
            }
        }
        return null;
    }
}
