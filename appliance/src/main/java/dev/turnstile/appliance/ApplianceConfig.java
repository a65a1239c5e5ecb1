package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpConfig;
import dev.turnstile.appliance.license.LicenseConfig;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.sync.SyncConfig;
import dev.turnstile.appliance.triad.TriadConfig;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration file, every section bound once into its typed record by {@link Configuration#bind}
 * (which collects every problem of every section into one ConfigException). Components take their section from
 * here; nothing binds a section a second time.
 *
 * @param server        {@code server:} the client listener, lease timing and limits
 * @param clients       {@code clients:} who may open a session
 * @param entitlements  {@code entitlements:} the pools the file defines
 * @param http          {@code http:} status page, admin API, metrics
 * @param store         {@code store:} PostgreSQL; empty when the file has no {@code store:} section (memory only)
 * @param sync          {@code sync:} cloud sync (disabled by default, still bound)
 * @param license       {@code license:} the signed license (disabled when absent and sync is off)
 * @param triad         {@code triad:} ({@link TriadConfig#DISABLED} for a single server)
 * @param loggingLevels {@code logging.levels:} logger name to level
 * @param raw           the tree as loaded (environment applied); a reload compares its sections to say which
 *                      changes need a restart
 */
public record ApplianceConfig(ServerConfig server, ClientPolicy clients, List<Entitlement> entitlements,
                              HttpConfig http, Optional<StoreConfig> store, SyncConfig sync, LicenseConfig license,
                              TriadConfig triad, Map<String, String> loggingLevels, JsonObject raw) {

    public ApplianceConfig {
        entitlements = List.copyOf(entitlements);
        loggingLevels = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(loggingLevels));
    }

    /** Binds {@code tree} strictly, every section; throws a ConfigException listing every problem. */
    public static ApplianceConfig from(JsonObject tree) {
        return Configuration.bind(tree);
    }
}
