package dev.turnstile.client;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a server said in its WELCOME, plus the address the client dialled. Immutable and
 * therefore thread-safe.
 *
 * @param server            {@code host:port} the client connected to
 * @param serverId          the server's id
 * @param heartbeatInterval how often the client heartbeats
 * @param leaseTimeout      how long a lease lives without a heartbeat
 * @param serverTime        the server's clock when it welcomed the client
 * @param licenseValidUntil end of the server's signed license, or {@code null} when none is known
 * @param licenseExpiring   the license ends within the server's alert threshold
 * @param memoryOnly        the server keeps seat state in memory only
 * @param peers             the other servers the client may fail over to ({@code host:port})
 */
public record SessionInfo(String server, String serverId, Duration heartbeatInterval, Duration leaseTimeout,
                          Instant serverTime, Instant licenseValidUntil, boolean licenseExpiring,
                          boolean memoryOnly, List<String> peers) {
    public SessionInfo {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(serverId, "serverId");
        Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
        Objects.requireNonNull(leaseTimeout, "leaseTimeout");
        Objects.requireNonNull(serverTime, "serverTime");
        peers = List.copyOf(peers);
    }
}
