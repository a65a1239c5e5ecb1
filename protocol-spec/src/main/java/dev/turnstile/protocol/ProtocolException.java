package dev.turnstile.protocol;

/**
 * A frame or preamble that breaks PROTOCOL.md. Carries the code the receiver must answer with and
 * the correlation id of the offending frame when its header could be read (0 otherwise).
 */
public final class ProtocolException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final int correlationId;

    public ProtocolException(ErrorCode code, int correlationId, String message) {
        super(code.wireName() + ": " + message, null, false, false);
        this.code = code;
        this.correlationId = correlationId;
    }

    public ErrorCode code() {
        return code;
    }

    public int correlationId() {
        return correlationId;
    }

    /** True when the receiver must close the connection after answering. */
    public boolean closesConnection() {
        return code.closesConnection();
    }
}
