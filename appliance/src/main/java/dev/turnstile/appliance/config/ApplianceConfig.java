package dev.turnstile.appliance.config;

import dev.turnstile.appliance.http.HttpConfig;
import dev.turnstile.appliance.seat.Entitlement;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The whole validated configuration. {@link #raw()} keeps the tree for the sections other
 * components bind themselves ({@code store:}, {@code sync:}, {@code http:}, ...).
 */
public record ApplianceConfig(ServerConfig server, ClientPolicy clients, List<Entitlement> entitlements, HttpConfig http,
                              JsonObject raw) {

    /** Binds and validates {@code tree}; throws {@link ConfigException} listing every problem. */
    public static ApplianceConfig from(JsonObject tree) {
        ConfigReader r = new ConfigReader();
        ServerConfig server = ServerConfig.bind(r.object(tree, "server", "server"), r);
        ClientPolicy clients = ClientPolicy.bind(r.object(tree, "clients", "clients"), r);
        List<Entitlement> ents = EntitlementsConfig.bind(r.array(tree, "entitlements", "entitlements"), r);
        HttpConfig http = HttpConfig.bind(r.object(tree, "http", "http"), r);
        r.throwIfAny();
        return new ApplianceConfig(server, clients, ents, http, tree.copy());
    }
}
