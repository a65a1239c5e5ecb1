package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.config.ConfigReader;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * The whole configuration file bound at once, strictly: every section ({@code server}, {@code clients},
 * {@code entitlements}, {@code http}, {@code store}, {@code sync}, {@code license}, {@code triad},
 * {@code logging}) is bound through one {@link ConfigReader}, so
 * <ul>
 *   <li>every problem of every section is reported together (check-config lists them all);</li>
 *   <li>the keys the sections read are the known keys; any other key in the file or set by a
 *       {@code TURNSTILE_...} variable is an error naming its dotted path, where it came from and the
 *       closest known key ("server.heartbeat_intervall: unknown key; did you mean
 *       server.heartbeat_interval?").</li>
 * </ul>
 * A new section is bound here (one line); a new key in a section is known as soon as its binder
 * reads it.
 */
public final class Configuration {
    private Configuration() {
    }

    /** Binds a loaded file; problems name the file line or environment variable of each key. */
    public static ApplianceConfig bind(ConfigLoader.ConfigSource source) {
        return bind(source.tree(), source.origins(), source.problems(), System.getenv());
    }

    /** Binds a tree (tests, embedders); throws a {@link ConfigException} listing every problem. */
    public static ApplianceConfig bind(JsonObject tree) {
        return bind(tree, Map.of(), java.util.List.of(), System.getenv());
    }

    static ApplianceConfig bind(JsonObject tree, Map<String, String> origins, java.util.List<String> fileProblems,
                                Map<String, String> env) {
        ConfigReader r = new ConfigReader(origins);
        r.problems().addAll(fileProblems); // duplicate keys, each already naming its lines
        ApplianceConfig config = ApplianceConfig.bind(tree, r);
        dev.turnstile.appliance.triad.TriadConfig.bind(tree, r);
        dev.turnstile.appliance.license.LicenseConfig.bind(tree, r);
        dev.turnstile.appliance.sync.SyncConfig.bind(r.object(tree, "sync", "sync"), r);
        JsonObject store = r.object(tree, "store", "store");
        if (tree.getValue("store") != null) {
            dev.turnstile.appliance.store.StoreConfig.bind(store, r, env);
        }
        JsonObject logging = r.object(tree, "logging", "logging");
        r.freeFormObject(logging, "levels", "logging.levels");
        try {
            dev.turnstile.appliance.systemd.LogLevels.validate(
                    dev.turnstile.appliance.systemd.LogLevels.fromConfig(tree));
        } catch (IllegalArgumentException | ClassCastException e) {
            r.problem(e.getMessage());
        }
        r.reportUnknownKeys(tree);
        r.throwIfAny();
        return config;
    }
}
