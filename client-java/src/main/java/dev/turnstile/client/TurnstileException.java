package dev.turnstile.client;

import dev.turnstile.protocol.ErrorCode;
import java.time.Duration;

/**
 * Why a client call failed. {@link #kind()} says what went wrong; when a server refused,
 * {@link #errorCode()} carries its code (PROTOCOL.md section 7), whose
 * {@link ErrorCode#action() action} tells whether to retry, give up, and so on.
 *
 * <p>Unchecked, so that the blocking API and the {@code CompletableFuture} API fail alike: an
 * async call completes exceptionally with this exception (possibly wrapped in a
 * {@link java.util.concurrent.CompletionException}). Immutable and therefore thread-safe.
 */
public class TurnstileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The kinds of failure. */
    public enum Kind {
        /** A server answered with a refusal (DENIED or ERROR); see {@link #errorCode()}. */
        REFUSED,
        /** No answer within the request timeout, or no session within it. */
        TIMEOUT,
        /** No server could be reached, or the connection was lost while the call was in flight. */
        CONNECTION,
        /** A server broke the protocol (bad preamble, malformed frame, unexpected message). */
        PROTOCOL,
        /** The client was closed. */
        CLOSED,
        /** The calling thread was interrupted while it waited (its interrupt flag is set again). */
        INTERRUPTED
    }

    private final Kind kind;
    private final int rawCode;
    private final transient ErrorCode errorCode;
    private final long retryAfterMs;
    private final String leader;

    public TurnstileException(Kind kind, String message) {
        this(kind, message, null);
    }

    public TurnstileException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.rawCode = -1;
        this.errorCode = null;
        this.retryAfterMs = 0;
        this.leader = "";
    }

    /** A server refusal with its raw code (kept even when this SDK does not know the number). */
    public TurnstileException(int rawCode, String message, long retryAfterMs, String leader) {
        super(describe(rawCode, message));
        this.kind = Kind.REFUSED;
        this.rawCode = rawCode;
        this.errorCode = ErrorCode.ofCode(rawCode);
        this.retryAfterMs = retryAfterMs;
        this.leader = leader == null ? "" : leader;
    }

    private static String describe(int rawCode, String message) {
        ErrorCode c = ErrorCode.ofCode(rawCode);
        String name = c == null ? "code " + rawCode : c.wireName() + " (" + rawCode + ")";
        return message == null || message.isEmpty() ? name : name + ": " + message;
    }

    public Kind kind() {
        return kind;
    }

    /** The server's code, or {@code null} when the failure is local or the code unknown to this SDK. */
    public ErrorCode errorCode() {
        return errorCode;
    }

    /** The server's code as a number, or -1 when the failure is local. */
    public int rawCode() {
        return rawCode;
    }

    /** The server's retry hint, {@link Duration#ZERO} when it gave none. */
    public Duration retryAfter() {
        return Duration.ofMillis(retryAfterMs);
    }

    /** The leader a {@code notMaster} refusal named ({@code host:port}), or {@code ""}. */
    public String leader() {
        return leader;
    }
}
