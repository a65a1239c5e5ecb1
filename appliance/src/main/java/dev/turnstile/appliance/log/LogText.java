package dev.turnstile.appliance.log;

/**
 * Text from outside (a client's HELLO, the cloud's answer, a file) made safe for one log line:
 * control characters are shown as escapes ({@code \n}, {@code \r}, {@code \t}, {@code \u001b}),
 * as are the Unicode line separators and the bidirectional overrides that can reorder what a
 * terminal shows, and the length is capped with a visible marker ({@code ...[+N chars]}).
 *
 * <p>{@link SafeEncoder} applies {@link #escape(CharSequence, int)} to every message the appliance
 * logs, so a log call needs nothing special; {@link #quote(Object)} is for a value that should
 * stand out as one token (a client's string in a key=value line).
 */
public final class LogText {
    /** Longest message that one log event prints (after escaping); longer ones end in the marker. */
    public static final int MAX_MESSAGE = 8_192;
    /** Longest value that {@link #quote(Object)} prints. */
    public static final int MAX_VALUE = 256;

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private LogText() {
    }

    /** {@link #escape(CharSequence, int)} with {@link #MAX_MESSAGE}. */
    public static String escape(CharSequence s) {
        return escape(s, MAX_MESSAGE);
    }

    /**
     * {@code s} with every control character written as an escape and at most {@code max} characters
     * long (the marker {@code ...[+N chars]} says how many were cut). Returns {@code s} itself when it
     * needs neither; {@code "null"} for null.
     */
    public static String escape(CharSequence s, int max) {
        if (s == null) {
            return "null";
        }
        int n = s.length();
        if (n <= max) {
            int i = 0;
            while (i < n && !needsEscape(s.charAt(i))) {
                i++;
            }
            if (i == n) {
                return s.toString();
            }
        }
        StringBuilder out = new StringBuilder(Math.min(n, max) + 16);
        append(out, s, max, false);
        return out.toString();
    }

    /**
     * {@code "value"}: the value between double quotes, with {@code "} and {@code \} escaped as well as the
     * control characters, capped at {@link #MAX_VALUE}; {@code null} stays {@code null} (without quotes).
     */
    public static String quote(Object value) {
        return quote(value, MAX_VALUE);
    }

    public static String quote(Object value, int max) {
        if (value == null) {
            return "null";
        }
        String s = value.toString();
        StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 8);
        out.append('"');
        append(out, s, max, true);
        return out.append('"').toString();
    }

    /** True for what {@link #escape} rewrites: C0 and C1 controls, DEL, line separators, bidi controls, BOM. */
    public static boolean needsEscape(char c) {
        if (c < 0x20 || c == 0x7f) {
            return true;
        }
        if (c < 0x80) {
            return false;
        }
        return c <= 0x9f // C1 controls (0x9b is a one-byte CSI on some terminals)
                || c == '\u2028' || c == '\u2029' // line and paragraph separators
                || (c >= '\u200b' && c <= '\u200f') // zero-width and direction marks
                || (c >= '\u202a' && c <= '\u202e') // bidi embeddings and overrides
                || (c >= '\u2066' && c <= '\u2069') // bidi isolates
                || c == '\ufeff';
    }

    private static void append(StringBuilder out, CharSequence s, int max, boolean quoting) {
        int n = s.length();
        int start = out.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            int before = out.length();
            if (quoting && (c == '"' || c == '\\')) {
                out.append('\\').append(c);
            } else if (!needsEscape(c)) {
                out.append(c);
            } else {
                switch (c) {
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> out.append("\\u").append(HEX[(c >> 12) & 0xf]).append(HEX[(c >> 8) & 0xf])
                            .append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
                }
            }
            if (out.length() - start > max) {
                int cut = n - i;
                if (before > start && Character.isHighSurrogate(out.charAt(before - 1))) {
                    before--; // never half a character
                    cut++;
                }
                out.setLength(before);
                out.append("...[+").append(cut).append(" chars]");
                return;
            }
        }
    }
}
