package dev.turnstile.appliance.license;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The canonical JSON form that license signatures cover (appliance/LICENSE.md, "Canonical JSON"):
 * RFC 8785 (JCS) restricted to integers. Objects have their members sorted by key (UTF-16 code
 * units, i.e. {@link String#compareTo}), no insignificant whitespace, strings escaped exactly as
 * JCS says ({@code \"} {@code \\} {@code \b} {@code \f} {@code \n} {@code \r} {@code \t}, other
 * controls as a lowercase backslash-u00xx escape, everything else literal), integers in plain decimal. Numbers
 * with a fraction or exponent, integers beyond ±(2^53-1) and duplicate keys are refused, so two
 * implementations can never disagree about the bytes.
 *
 * <p>Thread-safe; pure functions.
 */
public final class CanonicalJson {
    /** Largest integer a JSON number may carry here (JavaScript's safe integer range). */
    public static final long MAX_SAFE_INTEGER = (1L << 53) - 1;

    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private CanonicalJson() {
    }

    /** The canonical text of {@code value} (a JsonObject, JsonArray, String, integer, Boolean or null). */
    public static String encode(Object value) {
        StringBuilder sb = new StringBuilder(256);
        write(sb, value);
        return sb.toString();
    }

    /** The UTF-8 bytes of {@link #encode}: what an Ed25519 signature covers. */
    public static byte[] bytes(Object value) {
        return encode(value).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code sha256:<64 lowercase hex>} of the canonical bytes of {@code value}. */
    public static String digest(Object value) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            return "sha256:" + HexFormat.of().formatHex(md.digest(bytes(value)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
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
        keys.sort(String::compareTo); // UTF-16 code unit order, as RFC 8785 section 3.2.3 says
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

    static void writeString(StringBuilder sb, String s) {
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

    /**
     * Parses JSON text strictly: duplicate keys, fractions, exponents and integers beyond the safe
     * range are refused, as is anything after the first value.
     *
     * @throws IllegalArgumentException saying what is wrong and where
     */
    public static Object parse(String text) {
        try (JsonParser p = STRICT.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new IllegalArgumentException("empty document");
            }
            Object v = read(p, t);
            if (p.nextToken() != null) {
                throw new IllegalArgumentException("text after the JSON value at " + p.currentLocation().offsetDescription());
            }
            return v;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("not valid JSON: " + e.getMessage(), e);
        }
    }

    /** {@link #parse} for a document that must be an object. */
    public static JsonObject parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof JsonObject o)) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        return o;
    }

    private static Object read(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                JsonObject o = new JsonObject();
                for (JsonToken n = p.nextToken(); n != JsonToken.END_OBJECT; n = p.nextToken()) {
                    String key = p.currentName();
                    o.put(key, read(p, p.nextToken()));
                }
                return o;
            }
            case START_ARRAY: {
                JsonArray a = new JsonArray();
                for (JsonToken n = p.nextToken(); n != JsonToken.END_ARRAY; n = p.nextToken()) {
                    a.add(read(p, n));
                }
                return a;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT: {
                BigInteger bi = p.getBigIntegerValue();
                if (bi.bitLength() > 53) {
                    throw new IllegalArgumentException("integer out of the safe range at "
                            + p.currentLocation().offsetDescription() + ": " + bi);
                }
                return bi.longValue();
            }
            case VALUE_NUMBER_FLOAT:
                throw new IllegalArgumentException("numbers must be integers (no fraction or exponent) at "
                        + p.currentLocation().offsetDescription() + ": " + p.getText());
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            default:
                throw new IllegalArgumentException("unexpected " + t + " at " + p.currentLocation().offsetDescription());
        }
    }
}
