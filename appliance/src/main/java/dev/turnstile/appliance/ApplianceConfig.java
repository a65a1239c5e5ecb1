package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.EntitlementsConfig;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpConfig;
import dev.turnstile.appliance.seat.Entitlement;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The whole validated configuration. {@link #raw()} keeps the tree for the sections other
 * components bind themselves ({@code store:}, {@code sync:}, {@code triad:}, ...).
 * <p>
 * {@link #from} binds the appliance's own sections ({@code server:}, {@code clients:},
 * {@code entitlements:}, {@code http:}). The whole file, every section and unknown keys included,
 * is bound by {@code dev.turnstile.appliance.Configuration}, which the appliance and
 * {@code check-config} use.
 */
public record ApplianceConfig(ServerConfig server, ClientPolicy clients, List<Entitlement> entitlements, HttpConfig http,
                              JsonObject raw) {

    /** Binds and validates {@code tree}; throws {@link dev.turnstile.appliance.config.ConfigException} listing every problem. */
    public static ApplianceConfig from(JsonObject tree) {
        ConfigReader r = new ConfigReader();
        ApplianceConfig c = bind(tree, r);
        r.throwIfAny();
        return c;
    }

    /** Binds the appliance's own sections into {@code r} (problems collected there, nothing thrown). */
    public static ApplianceConfig bind(JsonObject tree, ConfigReader r) {
        ServerConfig server = ServerConfig.bind(r.object(tree, "server", "server"), r);
        ClientPolicy clients = ClientPolicy.bind(r.object(tree, "clients", "clients"), r);
        List<Entitlement> ents = EntitlementsConfig.bind(r.array(tree, "entitlements", "entitlements"), r);
        HttpConfig http = HttpConfig.bind(r.object(tree, "http", "http"), r);
        return new ApplianceConfig(server, clients, ents, http, tree.copy());
    }
}
