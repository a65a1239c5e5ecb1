package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ConfigDoc;
import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import dev.turnstile.appliance.config.EntitlementsConfig;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpConfig;
import dev.turnstile.appliance.license.LicenseConfig;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.sync.SyncConfig;
import dev.turnstile.appliance.systemd.LogLevels;
import dev.turnstile.appliance.triad.TriadConfig;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration file bound at once, strictly, into one {@link ApplianceConfig}: every section
 * ({@code server}, {@code clients}, {@code entitlements}, {@code http}, {@code store}, {@code sync}, {@code license},
 * {@code triad}, {@code logging}) is bound through one {@link ConfigReader}, so
 * <ul>
 *   <li>every problem of every section is reported together, in one ConfigException (check-config lists them all);</li>
 *   <li>the keys the sections read are the known keys; any other key in the file or set by a
 *       {@code TURNSTILE_...} variable is an error naming its dotted path, where it came from and the
 *       closest known key ("server.heartbeat_intervall: unknown key; did you mean
 *       server.heartbeat_interval?").</li>
 * </ul>
 * Every key is defined once ({@link ConfigKey}, declared by its section's record and listed in {@link #SECTIONS});
 * the binders read through the definitions and {@code appliance/CONFIG.md} is generated from them
 * ({@link #referenceMarkdown()}, {@code turnstile config-doc}).
 */
public final class Configuration {
    public static final ConfigKey LOGGING = ConfigKey.mapping("logging", "Log levels (appliance/LOGGING.md).");
    public static final ConfigKey LOGGING_LEVELS = ConfigKey.freeForm("logging.levels",
            "Logger name (root, or a package such as dev.turnstile.appliance.session) to level: trace, debug, info, "
                    + "warn, error or off. Reloadable: a line removed is undone by the next reload");

    /** Every section and its keys, in the order CONFIG.md lists them. */
    public static final List<ConfigSection> SECTIONS = List.of(ServerConfig.section(), ClientPolicy.section(),
            EntitlementsConfig.section(), HttpConfig.section(), StoreConfig.section(), SyncConfig.section(),
            LicenseConfig.section(), TriadConfig.section(), ConfigSection.of(LOGGING, "", LOGGING_LEVELS));

    private Configuration() {
    }

    /** Binds a loaded file; problems name the file line or environment variable of each key. */
    public static ApplianceConfig bind(ConfigLoader.ConfigSource source) {
        return bind(source.tree(), source.origins(), source.problems(), System.getenv());
    }

    /** Binds a tree (tests, embedders); throws a ConfigException listing every problem. */
    public static ApplianceConfig bind(JsonObject tree) {
        return bind(tree, Map.of(), List.of(), System.getenv());
    }

    static ApplianceConfig bind(JsonObject tree, Map<String, String> origins, List<String> fileProblems,
                                Map<String, String> env) {
        ConfigReader r = new ConfigReader(origins);
        ApplianceConfig config = bindInto(tree, r, env);
        r.problems().addAll(0, fileProblems); // duplicate keys first, each already naming its lines
        r.reportUnknownKeys(tree);
        r.throwIfAny();
        return config;
    }

    /** Binds every section into {@code r} (problems collected there, nothing thrown). */
    static ApplianceConfig bindInto(JsonObject tree, ConfigReader r, Map<String, String> env) {
        ServerConfig server = ServerConfig.bind(r.object(tree, ServerConfig.SERVER), r);
        ClientPolicy clients = ClientPolicy.bind(r.object(tree, ClientPolicy.CLIENTS), r);
        List<Entitlement> entitlements = EntitlementsConfig.bind(r.array(tree, EntitlementsConfig.ENTITLEMENTS), r);
        HttpConfig http = HttpConfig.bind(r.object(tree, HttpConfig.HTTP), r);
        JsonObject storeSection = r.object(tree, StoreConfig.STORE);
        Optional<StoreConfig> store = tree.getValue(StoreConfig.STORE.path()) == null ? Optional.empty()
                : Optional.of(StoreConfig.bind(storeSection, r, env));
        SyncConfig sync = SyncConfig.bind(r.object(tree, SyncConfig.SYNC), r);
        String localId = sync.localServerId() == null || sync.localServerId().isBlank() ? server.id()
                : sync.localServerId();
        LicenseConfig license = LicenseConfig.bind(tree, r, sync.enabled(), localId);
        TriadConfig triad = TriadConfig.bind(tree, r);
        r.object(r.object(tree, LOGGING), LOGGING_LEVELS);
        Map<String, String> levels = Map.of();
        try {
            levels = LogLevels.fromConfig(tree);
            LogLevels.validate(levels);
        } catch (IllegalArgumentException | ClassCastException e) {
            r.problem(e.getMessage());
        }
        return new ApplianceConfig(server, clients, entitlements, http, store, sync, license, triad, levels,
                tree.copy());
    }

    /** {@code appliance/CONFIG.md}: every key of every section, from the definitions above. */
    public static String referenceMarkdown() {
        return ConfigDoc.markdown(SECTIONS);
    }
}
