package dev.turnstile.client.impl;

import java.time.Duration;
import java.util.Locale;

/**
 * Durations as written in configuration: {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, or plain
 * milliseconds. Stateless and thread-safe.
 */
public final class Durations {
    private Durations() {
    }

    /**
     * @param key named in the error message
     * @throws IllegalArgumentException naming {@code key} and what was expected
     */
    public static Duration parse(String key, String text) {
        String s = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).trim()));
            }
            if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1).trim()));
            }
            if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1).trim()));
            }
            if (s.endsWith("h")) {
                return Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1).trim()));
            }
            return Duration.ofMillis(Long.parseLong(s));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": expected a duration such as 500ms, 10s, 5m or 1h, got '"
                    + text + "'");
        }
    }
}
