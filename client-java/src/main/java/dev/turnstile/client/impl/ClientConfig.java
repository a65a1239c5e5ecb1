package dev.turnstile.client.impl;

import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.TokenInvalidationHandler;
import dev.turnstile.client.TokenManager;
import java.time.Duration;
import java.util.List;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;

/**
 * The validated settings of one client, as {@link dev.turnstile.client.TurnstileClientBuilder}
 * produced them. Immutable (the token manager, handler and listener are shared objects).
 */
public record ClientConfig(List<ServerAddress> servers, String clientId, String hwId, String clientVersion,
                           String authToken, Duration connectTimeout, Duration requestTimeout,
                           Duration backoffInitial, Duration backoffMax, double backoffJitter,
                           TokenManager tokenManager, TokenInvalidationHandler tokenInvalidationHandler,
                           boolean tokenAutomaticInvalidationDisabled, boolean reclaimStoredTokens,
                           LeaseListener listener, SSLContext sslContext, boolean tlsHostnameVerification,
                           LongSupplier ticker) {
    public ClientConfig {
        servers = List.copyOf(servers);
    }

    @Override
    public String toString() {
        // The auth token never reaches a log.
        return "ClientConfig[servers=" + servers + ", clientId=" + clientId + ", hwId=" + hwId + ", clientVersion="
                + clientVersion + ", authToken=" + (authToken.isEmpty() ? "none" : "***") + ", connectTimeout="
                + connectTimeout + ", requestTimeout=" + requestTimeout + ", backoff=" + backoffInitial + ".."
                + backoffMax + "±" + backoffJitter + ", tokenManager=" + tokenManager
                + ", tokenInvalidationHandler=" + tokenInvalidationHandler + ", tokenAutomaticInvalidationDisabled="
                + tokenAutomaticInvalidationDisabled + ", reclaimStoredTokens=" + reclaimStoredTokens + ", tls="
                + (sslContext != null) + "]";
    }
}
