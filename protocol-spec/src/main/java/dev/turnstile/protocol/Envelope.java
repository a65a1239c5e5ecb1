package dev.turnstile.protocol;

import java.util.Objects;

/** A decoded frame: its correlation id and its message. */
public record Envelope(int correlationId, Message message) {
    public Envelope {
        Objects.requireNonNull(message);
    }
}
