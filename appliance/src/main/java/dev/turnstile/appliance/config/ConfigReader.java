package dev.turnstile.appliance.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed reads from the configuration tree that collect problems instead of failing at the first
 * one, so a bad file is reported whole, each problem naming its key (Hono style: one typed config
 * class per component, bound here).
 */
public final class ConfigReader {
    private static final Pattern DURATION = Pattern.compile("^\\s*(\\d+)\\s*(ms|s|m|h|d)?\\s*$");

    private final List<String> problems = new ArrayList<>();

    public List<String> problems() {
        return problems;
    }

    public void problem(String key, String expected, Object got) {
        problems.add(key + ": expected " + expected + ", got " + describe(got));
    }

    public void problem(String message) {
        problems.add(message);
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

    public JsonObject object(JsonObject parent, String name, String key) {
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

    public JsonArray array(JsonObject parent, String name, String key) {
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

    public String string(JsonObject o, String name, String key, String def) {
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

    public String requiredString(JsonObject o, String name, String key) {
        String s = string(o, name, key, null);
        if (s == null || s.isBlank()) {
            problem(key, "a non-empty string", s);
            return "";
        }
        return s;
    }

    public long integer(JsonObject o, String name, String key, long def, long min, long max) {
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

    public boolean bool(JsonObject o, String name, String key, boolean def) {
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
    public long durationMs(JsonObject o, String name, String key, long defMs, long minMs, long maxMs) {
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

    public Instant instant(JsonObject o, String name, String key) {
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

    public List<String> strings(JsonObject o, String name, String key) {
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
