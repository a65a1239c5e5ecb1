package dev.turnstile.appliance.seat;

import java.util.Objects;

/** The client behind a command: its session (socket), the identity it gave in HELLO, and its address. */
public record ClientRef(long sessionId, String clientId, String hwId, String remoteAddress) {
    public ClientRef {
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(hwId, "hwId");
        Objects.requireNonNull(remoteAddress, "remoteAddress");
    }
}
