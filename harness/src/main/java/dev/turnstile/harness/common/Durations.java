package dev.turnstile.harness.common;

import java.time.Duration;
import java.util.Locale;

/** Parses durations written the way the appliance's YAML writes them: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}. */
public final class Durations {
    private Durations() {
    }

    /**
     * @param text a number followed by {@code ms}, {@code s}, {@code m} or {@code h}; a bare number is seconds
     * @throws IllegalArgumentException naming the text when it is not of that form or negative
     */
    public static Duration parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(nonNegative(Long.parseLong(t.substring(0, t.length() - 2).trim()), text));
            }
            if (t.endsWith("s")) {
                return Duration.ofMillis(Math.round(nonNegativeD(Double.parseDouble(t.substring(0, t.length() - 1).trim()), text) * 1000));
            }
            if (t.endsWith("m")) {
                return Duration.ofMillis(Math.round(nonNegativeD(Double.parseDouble(t.substring(0, t.length() - 1).trim()), text) * 60_000));
            }
            if (t.endsWith("h")) {
                return Duration.ofMillis(Math.round(nonNegativeD(Double.parseDouble(t.substring(0, t.length() - 1).trim()), text) * 3_600_000));
            }
            return Duration.ofMillis(Math.round(nonNegativeD(Double.parseDouble(t), text) * 1000));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (expected e.g. 500ms, 10s, 5m, 1h)");
        }
    }

    private static long nonNegative(long v, String text) {
        if (v < 0) {
            throw new IllegalArgumentException("'" + text + "' is negative");
        }
        return v;
    }

    private static double nonNegativeD(double v, String text) {
        if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("'" + text + "' is not a finite non-negative duration");
        }
        return v;
    }

    /** Formats a duration compactly for reports. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
