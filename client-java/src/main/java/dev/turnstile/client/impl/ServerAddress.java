package dev.turnstile.client.impl;

import java.util.Objects;

/**
 * A server address {@code host:port} ({@code [v6-address]:port} for IPv6). Immutable.
 */
public record ServerAddress(String host, int port) {
    public ServerAddress {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is outside 1..65535");
        }
    }

    /**
     * Parses {@code text}.
     *
     * @param key named in the error message (the setting the text came from)
     */
    public static ServerAddress parse(String key, String text) {
        String s = text == null ? "" : text.trim();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw bad(key, text);
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || s.indexOf(':') != colon) {
                throw bad(key, text);
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        try {
            return new ServerAddress(host, Integer.parseInt(port));
        } catch (IllegalArgumentException e) {
            throw bad(key, text);
        }
    }

    /** Parses {@code text}, or returns null when it is not an address (a leader hint may be empty). */
    public static ServerAddress tryParse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return parse("address", text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static IllegalArgumentException bad(String key, String text) {
        return new IllegalArgumentException(key + ": expected host:port (IPv6 as [address]:port, port 1..65535), got '"
                + text + "'");
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
