package dev.turnstile.appliance.http;

import io.vertx.core.json.JsonObject;

/** An HTTP error with a stable code; rendered as {@code {"code": ..., "message": ...}}, never a stack trace. */
public final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final String code;

    public ApiError(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public JsonObject toJson() {
        return new JsonObject().put("code", code).put("message", getMessage());
    }

    public static ApiError badRequest(String message) {
        return new ApiError(400, "badRequest", message);
    }

    public static ApiError notFound(String message) {
        return new ApiError(404, "notFound", message);
    }
}
