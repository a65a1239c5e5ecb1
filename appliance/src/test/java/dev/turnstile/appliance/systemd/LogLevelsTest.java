package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogLevelsTest {

    private final LoggerContext context = new LoggerContext();
    private final LogLevels levels = new LogLevels(context);

    @Test
    void levels_from_the_yaml_section_are_applied_and_removed_lines_are_undone_on_the_next_reload() {
        // GIVEN a root at INFO, as logback.xml sets it
        context.getLogger("ROOT").setLevel(Level.INFO);
        JsonObject config = new JsonObject().put("logging", new JsonObject().put("levels",
                new JsonObject().put("root", "warn").put("dev.turnstile.appliance.session", "debug")));
        // WHEN the configuration is applied
        levels.apply(LogLevels.fromConfig(config));
        // THEN both loggers have the new levels
        assertEquals(Level.WARN, context.getLogger("ROOT").getLevel());
        assertEquals(Level.DEBUG, context.getLogger("dev.turnstile.appliance.session").getLevel());
        // WHEN a reload no longer names them
        levels.apply(LogLevels.fromConfig(new JsonObject()));
        // THEN root is back at INFO and the package inherits again
        assertEquals(Level.INFO, context.getLogger("ROOT").getLevel());
        assertNull(context.getLogger("dev.turnstile.appliance.session").getLevel());
    }

    @Test
    void a_misspelt_level_names_its_key_and_changes_nothing() {
        // GIVEN one good line and one typo
        Map<String, String> map = new java.util.LinkedHashMap<>();
        map.put("dev.turnstile", "debug");
        map.put("io.vertx", "verbose");
        // WHEN applied
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> levels.apply(map));
        // THEN the message names the key and the good line was not applied either
        assertTrue(e.getMessage().contains("logging.levels.io.vertx"), e.getMessage());
        assertNull(context.getLogger("dev.turnstile").getLevel());
    }

    @Test
    void a_level_that_is_not_a_string_is_refused_with_its_key() {
        JsonObject config = new JsonObject().put("logging", new JsonObject().put("levels",
                new JsonObject().put("dev.turnstile", 3)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LogLevels.fromConfig(config));
        assertTrue(e.getMessage().contains("logging.levels.dev.turnstile"), e.getMessage());
    }
}
