package dev.turnstile.appliance.config;

import java.util.List;

/**
 * One top-level section of the configuration file and the definitions of its keys, in the order CONFIG.md lists
 * them. Each section's typed record declares its own ({@code ServerConfig.SECTION}, {@code StoreConfig.SECTION},
 * ...); {@code dev.turnstile.appliance.Configuration#SECTIONS} lists them all.
 *
 * @param key    the section's own key (a mapping, or a list for {@code entitlements})
 * @param about  a paragraph for CONFIG.md: when the section is on, where it is described at length
 * @param keys   every key below it
 */
public record ConfigSection(ConfigKey key, String about, List<ConfigKey> keys) {
    public ConfigSection {
        keys = List.copyOf(keys);
        for (ConfigKey k : keys) {
            if (!k.section().equals(key.path())) {
                throw new IllegalArgumentException(k.path() + " is not a key of section " + key.path());
            }
        }
    }

    public String name() {
        return key.path();
    }

    public static ConfigSection of(ConfigKey key, String about, ConfigKey... keys) {
        return new ConfigSection(key, about, List.of(keys));
    }
}
