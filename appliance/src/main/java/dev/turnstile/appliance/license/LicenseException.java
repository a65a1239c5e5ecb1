package dev.turnstile.appliance.license;

/** A license document that cannot be used, with a stable reason code for the API and the logs. */
public final class LicenseException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a document was refused. The names appear as {@code code} in API errors. */
    public enum Reason {
        /** Not a license document: not JSON, a field missing or of the wrong type. */
        MALFORMED("licenseMalformed"),
        /** The Ed25519 signature does not verify with the configured public key. */
        BAD_SIGNATURE("licenseBadSignature"),
        /** Signed for another appliance ({@code local_server_id}). */
        WRONG_SERVER("licenseWrongServer"),
        /** Signed with (or naming) the DEMO key where the DEMO key is not allowed. */
        DEMO_KEY_REFUSED("licenseDemoKeyRefused"),
        /** Its validity has already ended. */
        EXPIRED("licenseExpired"),
        /** Issued in the future beyond the allowed clock skew. */
        ISSUED_IN_FUTURE("licenseIssuedInFuture"),
        /** Older than the license already installed. */
        OLDER_THAN_INSTALLED("licenseOlderThanInstalled");

        private final String code;

        Reason(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    private final Reason reason;

    public LicenseException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
