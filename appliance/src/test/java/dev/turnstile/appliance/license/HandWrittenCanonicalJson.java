package dev.turnstile.appliance.license;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The hand-written encoder that verified every license signature until the appliance moved to
 * java-json-canonicalization (main at 6155381, {@code CanonicalJson.encode}), kept unchanged as
 * the test oracle for "what was signed so far": {@link CanonicalJsonLibraryTest} proves the
 * library gives the same bytes on every license and fixture in the repository.
 */
final class HandWrittenCanonicalJson {
    private static final long MAX_SAFE_INTEGER = (1L << 53) - 1;

    private HandWrittenCanonicalJson() {
    }

    static String encode(Object value) {
        StringBuilder sb = new StringBuilder(256);
        write(sb, value);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof JsonObject o) {
            writeObject(sb, o.getMap());
        } else if (v instanceof Map<?, ?> m) {
            writeObject(sb, m);
        } else if (v instanceof JsonArray a) {
            writeArray(sb, a.getList());
        } else if (v instanceof List<?> l) {
            writeArray(sb, l);
        } else if (v instanceof String s) {
            writeString(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b.booleanValue() ? "true" : "false");
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            long n = ((Number) v).longValue();
            checkRange(n);
            sb.append(n);
        } else if (v instanceof BigInteger bi) {
            if (bi.bitLength() > 53) {
                throw new IllegalArgumentException("integer out of the safe range: " + bi);
            }
            checkRange(bi.longValue());
            sb.append(bi);
        } else if (v instanceof Number) {
            throw new IllegalArgumentException("canonical JSON carries integers only, not " + v);
        } else {
            throw new IllegalArgumentException("not a JSON value: " + v.getClass().getName());
        }
    }

    private static void checkRange(long n) {
        if (n > MAX_SAFE_INTEGER || n < -MAX_SAFE_INTEGER) {
            throw new IllegalArgumentException("integer out of the safe range: " + n);
        }
    }

    private static void writeObject(StringBuilder sb, Map<?, ?> m) {
        List<String> keys = new ArrayList<>(m.size());
        for (Object k : m.keySet()) {
            keys.add((String) k);
        }
        keys.sort(String::compareTo);
        sb.append('{');
        boolean first = true;
        for (String k : keys) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            writeString(sb, k);
            sb.append(':');
            write(sb, m.get(k));
        }
        sb.append('}');
    }

    private static void writeArray(StringBuilder sb, List<?> l) {
        sb.append('[');
        for (int i = 0; i < l.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            write(sb, l.get(i));
        }
        sb.append(']');
    }

    private static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 0xF, 16));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
