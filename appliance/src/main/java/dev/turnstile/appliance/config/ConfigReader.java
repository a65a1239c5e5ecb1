package dev.turnstile.appliance.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed reads from the configuration tree that collect problems instead of failing at the first
 * one, so a bad file is reported whole, each problem naming its key (Hono style: one typed config
 * class per component, bound here).
 * <p>
 * Every read goes through the key's definition ({@link ConfigKey}: name, default, range) and records the
 * dotted key it asked for (present or not: {@code server.port}, {@code entitlements[0].policy.max_seats}).
 * The keys the binders read <em>are</em> the known keys: {@link #reportUnknownKeys} walks the tree afterwards
 * and reports every key nobody read, with the closest known key at the same level. A component that adds a
 * key defines it (a {@code ConfigKey} in its section's list) and reads it here; CONFIG.md is generated from the
 * same definitions, and a test holds the definitions equal to the keys the binders read.
 */
public final class ConfigReader {
    private static final Pattern DURATION = Pattern.compile("^\\s*(\\d+)\\s*(ms|s|m|h|d)?\\s*$");

    private final List<String> problems = new ArrayList<>();
    /** Every dotted key a binder read, present in the tree or not. */
    private final Set<String> known = new LinkedHashSet<>();
    /** Keys whose whole subtree is free-form (logger names under logging.levels). */
    private final Set<String> freeForm = new LinkedHashSet<>();
    /** Every definition a binder read through. */
    private final Set<ConfigKey> definitions = new LinkedHashSet<>();
    /** Keys defined as secrets: a problem with one never shows its value. */
    private final Set<String> secrets = new LinkedHashSet<>();
    /** Where a key came from ("line 12 of /etc/turnstile/turnstile.yaml", "environment variable ..."). */
    private final Map<String, String> origins;

    public ConfigReader() {
        this(Map.of());
    }

    /** A reader whose problems say where each key came from ({@link ConfigLoader.ConfigSource#origins()}). */
    public ConfigReader(Map<String, String> origins) {
        this.origins = Map.copyOf(origins);
    }

    public List<String> problems() {
        return problems;
    }

    public void problem(String key, String expected, Object got) {
        String shown = secrets.contains(key) && got != null ? "a value (a secret: not shown)" : describe(got);
        problems.add(key + ": expected " + expected + ", got " + shown + where(key));
    }

    public void problem(String message) {
        int colon = message.indexOf(':');
        problems.add(colon > 0 ? message + where(message.substring(0, colon)) : message);
    }

    /** " (line 3 of f.yaml)" for a key the loader placed, else "". */
    private String where(String key) {
        String o = origins.get(key);
        return o == null ? "" : " (" + o + ")";
    }

    /** The value of {@code name} as it is (null when absent), recording {@code key} as known. */
    private Object value(JsonObject o, String name, String key) {
        known.add(key);
        return o == null ? null : o.getValue(name);
    }

    /** The keys read so far (for tests and for the documentation of the keys). */
    public Set<String> knownKeys() {
        return java.util.Collections.unmodifiableSet(known);
    }

    /**
     * Adds a problem for every key of {@code tree} that no binder read: its dotted path, where it came
     * from, and the closest known key at the same level (or the keys known there).
     */
    public void reportUnknownKeys(JsonObject tree) {
        walk(tree, "");
    }

    private void walk(JsonObject o, String path) {
        for (String name : o.fieldNames()) {
            String key = path.isEmpty() ? name : path + "." + name;
            if (freeForm.contains(key)) {
                continue;
            }
            boolean read = known.contains(key);
            boolean hasKnownChildren = hasKnownChildren(key);
            if (!read && !hasKnownChildren) {
                problems.add(unknown(path, name, key));
                continue;
            }
            if (hasKnownChildren) {
                descend(o.getValue(name), key);
            }
        }
    }

    private void descend(Object v, String key) {
        if (v instanceof JsonObject child) {
            walk(child, key);
        } else if (v instanceof JsonArray a) {
            for (int i = 0; i < a.size(); i++) {
                if (a.getValue(i) instanceof JsonObject element) {
                    walk(element, key + "[" + i + "]");
                }
            }
        }
    }

    private boolean hasKnownChildren(String key) {
        for (String k : known) {
            if (k.length() > key.length() && k.startsWith(key)
                    && (k.charAt(key.length()) == '.' || k.charAt(key.length()) == '[')) {
                return true;
            }
        }
        return false;
    }

    private String unknown(String parent, String name, String key) {
        Set<String> siblings = new TreeSet<>();
        String prefix = parent.isEmpty() ? "" : parent + ".";
        for (String k : known) {
            if (k.startsWith(prefix) && k.length() > prefix.length()) {
                String rest = k.substring(prefix.length());
                int end = indexOfAny(rest);
                siblings.add(end < 0 ? rest : rest.substring(0, end));
            }
        }
        String best = closest(name, siblings);
        StringBuilder m = new StringBuilder(key).append(": unknown key");
        if (best != null) {
            m.append("; did you mean ").append(prefix).append(best).append('?');
        } else if (!siblings.isEmpty()) {
            m.append(" (known ").append(parent.isEmpty() ? "sections" : "keys of " + parent).append(": ")
                    .append(String.join(", ", siblings)).append(')');
        }
        String origin = origins.get(key);
        if (origin != null) {
            m.append(" (").append(origin).append(')');
        }
        return m.toString();
    }

    private static int indexOfAny(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '.' || s.charAt(i) == '[') {
                return i;
            }
        }
        return -1;
    }

    /** The candidate nearest to {@code name} (edit distance, case ignored), if near enough to be a slip. */
    static String closest(String name, Set<String> candidates) {
        String lower = name.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(lower, c.toLowerCase(Locale.ROOT));
            int allowed = Math.max(2, Math.min(lower.length(), c.length()) / 3);
            if (d <= allowed && d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        return best;
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    // ---- reads through a key's definition (ConfigKey): name, default and range come from there

    /** The definitions read so far (a test holds them equal to the documented ones). */
    public Set<ConfigKey> definitionsRead() {
        return java.util.Collections.unmodifiableSet(definitions);
    }

    private String use(ConfigKey k, String concreteParent) {
        definitions.add(k);
        String key = concreteParent == null ? k.path() : k.at(concreteParent);
        if (k.secret()) {
            secrets.add(key);
        }
        return key;
    }

    /** A section or nested mapping ({@code server}, {@code server.tls}); empty when absent. */
    public JsonObject object(JsonObject parent, ConfigKey k) {
        return object(parent, k, null);
    }

    public JsonObject object(JsonObject parent, ConfigKey k, String concreteParent) {
        String key = use(k, concreteParent);
        if (k.type() == ConfigKey.Type.FREE_FORM) {
            freeForm.add(key);
        }
        return object(parent, k.name(), key);
    }

    public JsonArray array(JsonObject parent, ConfigKey k) {
        return array(parent, k.name(), use(k, null));
    }

    /** The value as it is (null when absent), for a key that takes more than one form. */
    public Object value(JsonObject o, ConfigKey k) {
        return value(o, k.name(), use(k, null));
    }

    public String string(JsonObject o, ConfigKey k) {
        return string(o, k, null);
    }

    public String string(JsonObject o, ConfigKey k, String concreteParent) {
        return string(o, k.name(), use(k, concreteParent), k.defaultValue() == null ? null : k.defaultString());
    }

    /** With a default computed by the binder (from another key); the definition's text documents it. */
    public String stringOr(JsonObject o, ConfigKey k, String concreteParent, String def) {
        return string(o, k.name(), use(k, concreteParent), def);
    }

    public String requiredString(JsonObject o, ConfigKey k, String concreteParent) {
        return requiredString(o, k.name(), use(k, concreteParent));
    }

    public List<String> strings(JsonObject o, ConfigKey k) {
        return strings(o, k.name(), use(k, null));
    }

    public long integer(JsonObject o, ConfigKey k) {
        return integer(o, k, null);
    }

    public long integer(JsonObject o, ConfigKey k, String concreteParent) {
        return integer(o, k.name(), use(k, concreteParent), k.defaultValue() == null ? -1 : k.defaultLong(), k.min(),
                k.max());
    }

    public boolean bool(JsonObject o, ConfigKey k) {
        return bool(o, k.name(), use(k, null), k.defaultBoolean());
    }

    /** With a default computed by the binder (e.g. {@code http.enabled}: whether the section is present). */
    public boolean boolOr(JsonObject o, ConfigKey k, boolean def) {
        return bool(o, k.name(), use(k, null), def);
    }

    public long durationMs(JsonObject o, ConfigKey k) {
        return durationMs(o, k.name(), use(k, null), k.defaultValue() == null ? 0 : k.defaultLong(), k.min(), k.max());
    }

    public Instant instant(JsonObject o, ConfigKey k, String concreteParent) {
        return instant(o, k.name(), use(k, concreteParent));
    }

    /** A byte size: a bare number of bytes, or a number with KiB, MiB, GiB (or kB, MB, GB, powers of ten). */
    public long size(JsonObject o, ConfigKey k) {
        String key = use(k, null);
        String text = string(o, k.name(), key, null);
        if (text == null) {
            return k.defaultLong();
        }
        Long bytes = parseSize(text);
        if (bytes == null || bytes < k.min() || bytes > k.max()) {
            problem(key, "a size like 65540, 512KiB, 64MiB or 1GiB, from " + k.min() + " to " + k.max() + " bytes", text);
            return k.defaultLong();
        }
        return bytes;
    }

    private static final Pattern SIZE = Pattern.compile("^\\s*(\\d+)\\s*(|b|kib|mib|gib|kb|mb|gb)\\s*$");

    /** {@code 65540}, {@code 512KiB}, {@code 64MiB}, {@code 1GiB}, {@code 10MB}: bytes, or null. */
    public static Long parseSize(String text) {
        Matcher m = SIZE.matcher(text.toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            return null;
        }
        long factor = switch (m.group(2)) {
            case "kib" -> 1L << 10;
            case "mib" -> 1L << 20;
            case "gib" -> 1L << 30;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            default -> 1L;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (ArithmeticException | NumberFormatException e) {
            return null;
        }
    }

    /** A number of seconds (integer or decimal, {@code min} to {@code max}) as milliseconds. */
    public long secondsAsMs(JsonObject o, ConfigKey k) {
        String key = use(k, null);
        Object v = value(o, k.name(), key);
        if (v == null) {
            return k.defaultLong();
        }
        String expected = "a number of seconds from " + k.min() + " to " + k.max();
        double d;
        if (v instanceof Number n) {
            d = n.doubleValue();
        } else {
            try {
                d = Double.parseDouble(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                problem(key, expected, v);
                return k.defaultLong();
            }
        }
        if (!(d >= k.min() && d <= k.max())) {
            problem(key, expected, v);
            return k.defaultLong();
        }
        return Math.round(d * 1000);
    }

    public void throwIfAny() {
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    private static String describe(Object got) {
        if (got == null) {
            return "nothing";
        }
        if (got instanceof String) {
            return "'" + got + "'";
        }
        return String.valueOf(got);
    }

    private JsonObject object(JsonObject parent, String name, String key) {
        known.add(key);
        Object v = parent == null ? null : parent.getValue(name);
        if (v == null) {
            return new JsonObject();
        }
        if (v instanceof JsonObject o) {
            return o;
        }
        problem(key, "a mapping", v);
        return new JsonObject();
    }

    private JsonArray array(JsonObject parent, String name, String key) {
        known.add(key);
        Object v = parent == null ? null : parent.getValue(name);
        if (v == null) {
            return new JsonArray();
        }
        if (v instanceof JsonArray a) {
            return a;
        }
        problem(key, "a list", v);
        return new JsonArray();
    }

    private String string(JsonObject o, String name, String key, String def) {
        known.add(key);
        Object v = o.getValue(name);
        if (v == null) {
            return def;
        }
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Number || v instanceof Boolean) {
            return String.valueOf(v);
        }
        problem(key, "a string", v);
        return def;
    }

    private String requiredString(JsonObject o, String name, String key) {
        String s = string(o, name, key, null);
        if (s == null || s.isBlank()) {
            problem(key, "a non-empty string", s);
            return "";
        }
        return s;
    }

    private long integer(JsonObject o, String name, String key, long def, long min, long max) {
        known.add(key);
        Object v = o.getValue(name);
        if (v == null) {
            return def;
        }
        long n;
        if (v instanceof Number num && (num instanceof Integer || num instanceof Long || num instanceof Short)) {
            n = num.longValue();
        } else if (v instanceof String s) {
            try {
                n = Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                problem(key, "an integer from " + min + " to " + max, v);
                return def;
            }
        } else {
            problem(key, "an integer from " + min + " to " + max, v);
            return def;
        }
        if (n < min || n > max) {
            problem(key, "an integer from " + min + " to " + max, v);
            return def;
        }
        return n;
    }

    private boolean bool(JsonObject o, String name, String key, boolean def) {
        known.add(key);
        Object v = o.getValue(name);
        if (v == null) {
            return def;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            if (t.equals("true") || t.equals("yes") || t.equals("on")) {
                return true;
            }
            if (t.equals("false") || t.equals("no") || t.equals("off")) {
                return false;
            }
        }
        problem(key, "true or false", v);
        return def;
    }

    /** A duration such as {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 14d}; a bare number is milliseconds. */
    private long durationMs(JsonObject o, String name, String key, long defMs, long minMs, long maxMs) {
        known.add(key);
        Object v = o.getValue(name);
        if (v == null) {
            return defMs;
        }
        Long ms = parseDurationMs(String.valueOf(v));
        if (ms == null || ms < minMs || ms > maxMs) {
            problem(key, "a duration like 500ms, 10s, 5m, 1h or 14d between " + formatMs(minMs) + " and " + formatMs(maxMs), v);
            return defMs;
        }
        return ms;
    }

    public static Long parseDurationMs(String text) {
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            return null;
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
        String unit = m.group(2) == null ? "ms" : m.group(2);
        long factor = switch (unit) {
            case "ms" -> 1L;
            case "s" -> 1_000L;
            case "m" -> 60_000L;
            case "h" -> 3_600_000L;
            default -> 86_400_000L;
        };
        if (n > Long.MAX_VALUE / factor) {
            return null;
        }
        return n * factor;
    }

    public static String formatMs(long ms) {
        if (ms % 86_400_000L == 0 && ms > 0) {
            return ms / 86_400_000L + "d";
        }
        if (ms % 3_600_000L == 0 && ms > 0) {
            return ms / 3_600_000L + "h";
        }
        if (ms % 60_000L == 0 && ms > 0) {
            return ms / 60_000L + "m";
        }
        if (ms % 1_000L == 0) {
            return ms / 1_000L + "s";
        }
        return ms + "ms";
    }

    private Instant instant(JsonObject o, String name, String key) {
        known.add(key);
        Object v = o.getValue(name);
        if (v == null) {
            return null;
        }
        try {
            return Instant.parse(String.valueOf(v));
        } catch (DateTimeParseException e) {
            problem(key, "an ISO-8601 instant like 2026-01-01T00:00:00Z", v);
            return null;
        }
    }

    private List<String> strings(JsonObject o, String name, String key) {
        known.add(key);
        List<String> out = new ArrayList<>();
        Object v = o.getValue(name);
        if (v == null) {
            return out;
        }
        if (!(v instanceof JsonArray a)) {
            problem(key, "a list of strings", v);
            return out;
        }
        for (int i = 0; i < a.size(); i++) {
            Object e = a.getValue(i);
            if (e instanceof String s) {
                out.add(s);
            } else {
                problem(key + "[" + i + "]", "a string", e);
            }
        }
        return out;
    }
}
