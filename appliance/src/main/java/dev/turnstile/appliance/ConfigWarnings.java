package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Settings that are valid but open the appliance to whoever reaches it on the network. Each is logged
 * as a WARN at start (and after a reload that changes it) and listed under {@code warnings} in
 * {@code GET /v1/status}, which the status page shows. Computed from the settings alone: no name lookup.
 */
public final class ConfigWarnings {
    /** {@code server.host} reachable from the network and no {@code clients.auth_token}. */
    public static final String TCP_OPEN_WITHOUT_CLIENT_TOKEN = "tcpOpenWithoutClientToken";
    /** {@code http.read_open: true} on a host reachable from the network. */
    public static final String HTTP_READS_OPEN_TO_NETWORK = "httpReadsOpenToNetwork";

    /** secret: {@code server.legacy_reclaim: identity}: identifiers alone take a 1.0 client's lease (PROTOCOL.md 10.6). */
    public static final String LEGACY_RECLAIM_IDENTITY = "legacyReclaimIdentity";

    /** One warning: a stable code and a sentence naming the keys involved. */
    public record Warning(String code, String message) {
    }

    private ConfigWarnings() {
    }

    public static List<Warning> of(ServerConfig server, ClientPolicy clients, HttpConfig http) {
        List<Warning> out = new ArrayList<>();
        if (!isLoopback(server.host()) && !clients.requiresToken()) {
            out.add(new Warning(TCP_OPEN_WITHOUT_CLIENT_TOKEN, "server.host is " + server.host()
                    + " (reachable from the network) and clients.auth_token is empty: any device that reaches the "
                    + "client port can open sessions and take seats. Set clients.auth_token (e.g. from "
                    + "TURNSTILE_CLIENT_TOKEN) or bind server.host to 127.0.0.1."));
        }
        if (http.enabled() && http.readOpen() && !isLoopback(http.host())) {
            out.add(new Warning(HTTP_READS_OPEN_TO_NETWORK, "http.read_open is true and http.host is " + http.host()
                    + ": anyone on the network can read the leases (with their client and hardware ids), the status "
                    + "and /metrics without a token. Set http.read_open: false, or http.host: 127.0.0.1."));
        }
        if (server.legacyReclaim() == dev.turnstile.appliance.seat.LegacyReclaim.IDENTITY) { // secret:
            out.add(new Warning(LEGACY_RECLAIM_IDENTITY, "server.legacy_reclaim is identity (INSECURE): a lease "
                    + "granted to a protocol 1.0 client can be taken, even from its live holder, by anyone who knows its "
                    + "lease id, client_id and hw_id (the admin API shows them). Use it only where every client is "
                    + "trusted; refuse is the safe setting (PROTOCOL.md 10.6)."));
        }
        return out;
    }

    /**
     * True for a loopback literal ({@code 127.x.x.x}, {@code ::1}) or {@code localhost}. Anything else, the
     * wildcard {@code 0.0.0.0} / {@code ::} and host names included, counts as reachable from the network.
     */
    public static boolean isLoopback(String host) {
        String h = host == null ? "" : host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.equals("localhost") || h.matches("127(\\.\\d{1,3}){3}") || h.equals("::1")
                || h.matches("(0{1,4}:){7}0{0,3}1");
    }
}
