package dev.turnstile.appliance.systemd;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * Sets logback logger levels from a map such as the YAML section
 * <pre>
 * logging:
 *   levels:
 *     root: info
 *     dev.turnstile.appliance.session: debug
 * </pre>
 * and puts back what an earlier call changed when a later map no longer names it, so that
 * removing a line from the file and reloading ({@code systemctl reload turnstile}) undoes it.
 *
 * <p>Thread-safe (calls are serialised); cheap, no I/O: fine on an event loop.
 */
public final class LogLevels {

    /** Name of the root logger in the map, as in logback.xml. */
    public static final String ROOT = "root";

    private final LoggerContext context;
    /** Logger name -> level it had before we first touched it (null = inherited). */
    private final Map<String, Level> original = new HashMap<>();

    public LogLevels() {
        this(logbackContext());
    }

    LogLevels(LoggerContext context) {
        this.context = Objects.requireNonNull(context, "context");
    }

    private static LoggerContext logbackContext() {
        ILoggerFactory f = LoggerFactory.getILoggerFactory();
        if (!(f instanceof LoggerContext)) {
            throw new IllegalStateException("SLF4J is not bound to logback (got " + f.getClass().getName() + ")");
        }
        return (LoggerContext) f;
    }

    /**
     * Reads {@code logging.levels} from the configuration tree; an absent section gives an empty
     * map, which restores every level changed so far.
     *
     * @throws IllegalArgumentException naming the key of a value that is not a string
     */
    public static Map<String, String> fromConfig(JsonObject config) {
        Map<String, String> out = new LinkedHashMap<>();
        JsonObject logging = config == null ? null : config.getJsonObject("logging");
        JsonObject levels = logging == null ? null : logging.getJsonObject("levels");
        if (levels == null) {
            return out;
        }
        for (String name : levels.fieldNames()) {
            Object v = levels.getValue(name);
            if (!(v instanceof String)) {
                throw new IllegalArgumentException("logging.levels." + name
                        + ": expected one of trace, debug, info, warn, error, off, got " + v);
            }
            out.put(name, (String) v);
        }
        return out;
    }

    /** Checks every entry as {@link #apply} would, changing nothing (check-config). */
    public static void validate(Map<String, String> levels) {
        for (Map.Entry<String, String> e : levels.entrySet()) {
            String name = e.getKey() == null ? "" : e.getKey().trim();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("logging.levels: empty logger name");
            }
            parse(name, e.getValue());
        }
    }

    /**
     * Checks every entry first, then applies them all (so a typo changes nothing), then restores
     * the loggers that earlier calls set and {@code levels} no longer names.
     *
     * @return the effective changes, "name=LEVEL" each, for the log
     * @throws IllegalArgumentException naming the first bad entry
     */
    public synchronized List<String> apply(Map<String, String> levels) {
        Map<String, Level> parsed = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : levels.entrySet()) {
            String name = e.getKey() == null ? "" : e.getKey().trim();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("logging.levels: empty logger name");
            }
            parsed.put(name.equalsIgnoreCase(ROOT) ? Logger.ROOT_LOGGER_NAME : name, parse(name, e.getValue()));
        }
        List<String> changes = new ArrayList<>();
        for (Map.Entry<String, Level> e : parsed.entrySet()) {
            Logger logger = context.getLogger(e.getKey());
            original.putIfAbsent(e.getKey(), logger.getLevel());
            if (!Objects.equals(logger.getLevel(), e.getValue())) {
                logger.setLevel(e.getValue());
                changes.add(e.getKey() + "=" + e.getValue());
            }
        }
        for (String name : List.copyOf(original.keySet())) {
            if (!parsed.containsKey(name)) {
                Level before = original.remove(name);
                Logger logger = context.getLogger(name);
                if (!Objects.equals(logger.getLevel(), before)) {
                    logger.setLevel(before);
                    changes.add(name + "=" + (before == null ? "inherited" : before));
                }
            }
        }
        return changes;
    }

    private static Level parse(String name, String value) {
        String v = value == null ? "" : value.trim().toUpperCase(Locale.ROOT);
        switch (v) {
            case "TRACE":
            case "DEBUG":
            case "INFO":
            case "WARN":
            case "ERROR":
            case "OFF":
            case "ALL":
                return Level.toLevel(v);
            case "WARNING":
                return Level.WARN;
            default:
                throw new IllegalArgumentException("logging.levels." + name
                        + ": expected one of trace, debug, info, warn, error, off, got '" + value + "'");
        }
    }
}
