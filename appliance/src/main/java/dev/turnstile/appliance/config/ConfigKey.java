package dev.turnstile.appliance.config;

import java.util.List;
import java.util.Objects;

/**
 * One configuration key, defined once: its dotted path, type, default, range and a one-line meaning. The
 * binders read every key through its definition ({@link ConfigReader}'s {@code ConfigKey} methods take the name,
 * the default and the range from here), check-config's "unknown key" hints come from the keys read, and
 * {@code appliance/CONFIG.md} is generated from the same definitions ({@link ConfigDoc}); a test fails when the
 * file and the definitions differ.
 * <p>
 * Paths inside list entries use {@code []}: {@code entitlements[].policy.max_seats}, {@code triad.members[].id}.
 * A binder reading such a key passes the entry's concrete path ({@code entitlements[3].policy}).
 *
 * @param path        the dotted path ({@code server.heartbeat_interval})
 * @param type        what the value is
 * @param defaultValue the value when the key is absent (milliseconds for a duration, bytes for a size), or
 *                    {@code null} when there is none
 * @param defaultText the default as CONFIG.md shows it ("10s", "true when the section is present", "required")
 * @param min         the smallest allowed value (integers, durations in ms, sizes in bytes)
 * @param max         the largest allowed value
 * @param choices     the allowed values of a {@link Type#CHOICE}
 * @param secret      a secret: set it from the environment; its value never appears in an error text
 * @param doc         one line: what the key does
 */
public record ConfigKey(String path, Type type, Object defaultValue, String defaultText, long min, long max,
                        List<String> choices, boolean secret, String doc) {

    /** The kinds of value a key holds. */
    public enum Type {
        MAPPING("mapping"), LIST("list"), STRING("string"), INTEGER("integer"), BOOLEAN("boolean"),
        DURATION("duration"), SIZE("size"), SECONDS("seconds"), INSTANT("instant"), STRINGS("list of strings"),
        CHOICE("one of"), CHOICE_OR_MAPPING("one of, or a mapping"), HOST_PORT("host:port"),
        FREE_FORM("mapping of names to values");

        private final String label;

        Type(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    public ConfigKey {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(doc, "doc");
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    /** The last segment of the path: the name in its mapping. */
    public String name() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }

    /** The path of the mapping (or list entry) holding this key, {@code ""} for a section. */
    public String parent() {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? "" : path.substring(0, dot);
    }

    /** The section: the first segment ({@code entitlements} for {@code entitlements[].tenant_id}). */
    public String section() {
        int end = 0;
        while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') {
            end++;
        }
        return path.substring(0, end);
    }

    /** This key inside the entry at {@code concreteParent} ({@code entitlements[3].policy}). */
    public String at(String concreteParent) {
        return concreteParent.isEmpty() ? name() : concreteParent + "." + name();
    }

    public long defaultLong() {
        return ((Number) defaultValue).longValue();
    }

    public boolean defaultBoolean() {
        return (Boolean) defaultValue;
    }

    public String defaultString() {
        return (String) defaultValue;
    }

    /** The allowed values as CONFIG.md and error texts show them. */
    public String range() {
        return switch (type) {
            case INTEGER -> min + " to " + max;
            case DURATION -> ConfigReader.formatMs(min) + " to " + ConfigReader.formatMs(max);
            case SIZE -> formatBytes(min) + " to " + formatBytes(max);
            case SECONDS -> min + " to " + max + " (decimals allowed)";
            case CHOICE -> String.join(", ", choices);
            case CHOICE_OR_MAPPING -> String.join(", or ", choices);
            case INSTANT -> "ISO-8601, e.g. 2026-01-01T00:00:00Z";
            case HOST_PORT -> "host:port, port " + min + " to " + max;
            default -> "";
        };
    }

    static String formatBytes(long b) {
        if (b >= (1L << 30) && b % (1L << 30) == 0) {
            return (b >> 30) + "GiB";
        }
        if (b >= (1L << 20) && b % (1L << 20) == 0) {
            return (b >> 20) + "MiB";
        }
        if (b >= 1024 && b % 1024 == 0) {
            return (b >> 10) + "KiB";
        }
        return b + " bytes";
    }

    // ---- builders: one line per key in the binders' classes

    public static ConfigKey mapping(String path, String doc) {
        return new ConfigKey(path, Type.MAPPING, null, "", 0, 0, null, false, doc);
    }

    public static ConfigKey list(String path, String doc) {
        return new ConfigKey(path, Type.LIST, null, "empty", 0, 0, null, false, doc);
    }

    public static ConfigKey freeForm(String path, String doc) {
        return new ConfigKey(path, Type.FREE_FORM, null, "empty", 0, 0, null, false, doc);
    }

    public static ConfigKey string(String path, String def, String doc) {
        return new ConfigKey(path, Type.STRING, def, def == null ? "none" : def.isEmpty() ? "empty" : def, 0, 0, null,
                false, doc);
    }

    /** A string whose default is not a constant (computed from other keys, or required): {@code defaultText} says. */
    public static ConfigKey string(String path, String def, String defaultText, String doc) {
        return new ConfigKey(path, Type.STRING, def, defaultText, 0, 0, null, false, doc);
    }

    public static ConfigKey secret(String path, String def, String defaultText, String doc) {
        return new ConfigKey(path, Type.STRING, def, defaultText, 0, 0, null, true, doc);
    }

    public static ConfigKey strings(String path, String doc) {
        return new ConfigKey(path, Type.STRINGS, null, "empty", 0, 0, null, false, doc);
    }

    public static ConfigKey integer(String path, long def, long min, long max, String doc) {
        return new ConfigKey(path, Type.INTEGER, def, String.valueOf(def), min, max, null, false, doc);
    }

    public static ConfigKey integer(String path, Long def, String defaultText, long min, long max, String doc) {
        return new ConfigKey(path, Type.INTEGER, def, defaultText, min, max, null, false, doc);
    }

    public static ConfigKey bool(String path, boolean def, String doc) {
        return new ConfigKey(path, Type.BOOLEAN, def, String.valueOf(def), 0, 0, null, false, doc);
    }

    public static ConfigKey bool(String path, boolean def, String defaultText, String doc) {
        return new ConfigKey(path, Type.BOOLEAN, def, defaultText, 0, 0, null, false, doc);
    }

    public static ConfigKey duration(String path, long defMs, long minMs, long maxMs, String doc) {
        return new ConfigKey(path, Type.DURATION, defMs, ConfigReader.formatMs(defMs), minMs, maxMs, null, false, doc);
    }

    public static ConfigKey duration(String path, Long defMs, String defaultText, long minMs, long maxMs, String doc) {
        return new ConfigKey(path, Type.DURATION, defMs, defaultText, minMs, maxMs, null, false, doc);
    }

    public static ConfigKey size(String path, long def, long min, long max, String doc) {
        return new ConfigKey(path, Type.SIZE, def, formatBytes(def), min, max, null, false, doc);
    }

    public static ConfigKey seconds(String path, long defMs, long minS, long maxS, String doc) {
        return new ConfigKey(path, Type.SECONDS, defMs, String.valueOf(defMs / 1000.0).replaceAll("\\.0$", ""), minS,
                maxS, null, false, doc);
    }

    public static ConfigKey instant(String path, String defaultText, String doc) {
        return new ConfigKey(path, Type.INSTANT, null, defaultText, 0, 0, null, false, doc);
    }

    public static ConfigKey choice(String path, String def, List<String> choices, String doc) {
        return new ConfigKey(path, Type.CHOICE, def, def, 0, 0, choices, false, doc);
    }

    /** A word from {@code choices}, or a mapping of its own keys (defined as keys below this one). */
    public static ConfigKey choiceOrMapping(String path, String def, List<String> choices, String doc) {
        return new ConfigKey(path, Type.CHOICE_OR_MAPPING, def, def, 0, 0, choices, false, doc);
    }

    /** {@code host:port}, port 1 to 65535. */
    public static ConfigKey hostPort(String path, String defaultText, String doc) {
        return new ConfigKey(path, Type.HOST_PORT, null, defaultText, 1, 65535, null, false, doc);
    }

    /** {@code host:port}, port 0 (the kernel picks one; where the key's doc says when) to 65535. */
    public static ConfigKey hostPortOrZero(String path, String defaultText, String doc) {
        return new ConfigKey(path, Type.HOST_PORT, null, defaultText, 0, 65535, null, false, doc);
    }
}
