package dev.turnstile.appliance.license;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.erdtman.jcs.JsonCanonicalizer;

/**
 * The canonical JSON form that license signatures and changes digests cover (appliance/LICENSE.md,
 * "Canonical JSON"): RFC 8785 (JCS) restricted to integers.
 *
 * <p>The canonical bytes come from java-json-canonicalization ({@link JsonCanonicalizer}), the
 * RFC 8785 implementation by one of the RFC's authors: key order by UTF-16 code units, JCS string
 * escapes, no whitespace. This class adds the profile the library does not enforce, checked
 * before the library sees a value: integers only and within ±(2^53-1) (the library would format
 * fractions and round larger integers, so two documents could share one signature), string keys,
 * and no lone UTF-16 surrogate (RFC 8785 section 3.2.2.2 requires an error; the library writes
 * {@code ?}). {@link #parse} refuses duplicate keys, fractions, exponents and huge integers in the
 * text, so two implementations can never disagree about the bytes.
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

    /**
     * The canonical text of {@code value} (a JsonObject, JsonArray, Map, List, String, integer,
     * Boolean or null).
     *
     * @throws IllegalArgumentException when {@code value} is outside the profile (see the class comment)
     */
    public static String encode(Object value) {
        checkProfile(value);
        if (value instanceof JsonObject || value instanceof Map || value instanceof JsonArray || value instanceof List) {
            return canonicalizer(value).getEncodedString();
        }
        // The library reads only an object or an array at the top; [x] is canonically "[" + x + "]".
        String inArray = canonicalizer(new JsonArray().add(value)).getEncodedString();
        return inArray.substring(1, inArray.length() - 1);
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

    /** For a value {@link #checkProfile} accepted. */
    private static JsonCanonicalizer canonicalizer(Object value) {
        try {
            return new JsonCanonicalizer(Json.encode(value));
        } catch (IOException e) {
            throw new IllegalArgumentException("no canonical form: " + e.getMessage(), e);
        }
    }

    private static void checkProfile(Object v) {
        if (v == null || v instanceof Boolean) {
            return;
        }
        if (v instanceof String s) {
            checkString(s);
        } else if (v instanceof JsonObject o) {
            checkObject(o.getMap());
        } else if (v instanceof Map<?, ?> m) {
            checkObject(m);
        } else if (v instanceof JsonArray a) {
            checkArray(a.getList());
        } else if (v instanceof List<?> l) {
            checkArray(l);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            checkRange(((Number) v).longValue());
        } else if (v instanceof BigInteger bi) {
            if (bi.bitLength() > 53) {
                throw new IllegalArgumentException("integer out of the safe range: " + bi);
            }
            checkRange(bi.longValue());
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

    private static void checkObject(Map<?, ?> m) {
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String k)) {
                throw new IllegalArgumentException("object keys must be strings");
            }
            checkString(k);
            checkProfile(e.getValue());
        }
    }

    private static void checkArray(List<?> l) {
        for (Object o : l) {
            checkProfile(o);
        }
    }

    /** A lone surrogate has no UTF-8 form; RFC 8785 section 3.2.2.2 says to stop with an error. */
    private static void checkString(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(String.format(
                        "a string holds a lone UTF-16 surrogate (U+%04X at index %d), which has no UTF-8 form", (int) c, i));
            }
        }
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
                if (bi.bitLength() > 53 || bi.longValue() == -MAX_SAFE_INTEGER - 1) {
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
