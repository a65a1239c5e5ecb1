package dev.turnstile.harness.cloud;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Signs license documents the way the vendor's cloud does (appliance/LICENSE.md): Ed25519 over the
 * canonical JSON of the payload, detached, base64. Written independently of the appliance's
 * verifier, on purpose: the appliance's tests check one against the other.
 *
 * <p>Keys are PKCS#8 PEM ({@code openssl genpkey -algorithm ed25519}); {@link #demo()} is the DEMO
 * key, whose public half ships in the appliance for the demo configuration only.
 */
public final class CloudSigner {
    /** Classpath location of the DEMO private key. Demo and tests only: it is public, so it proves nothing. */
    public static final String DEMO_PRIVATE_KEY_RESOURCE = "/cloud/DEMO-private-key.pem";
    public static final String DEMO_KEY_ID = "DEMO";
    public static final String FORMAT = "turnstile-license/1";

    private final PrivateKey key;
    private final String keyId;

    public CloudSigner(PrivateKey key, String keyId) {
        this.key = key;
        this.keyId = keyId;
    }

    /** A signer with the DEMO key. */
    public static CloudSigner demo() {
        try (InputStream in = CloudSigner.class.getResourceAsStream(DEMO_PRIVATE_KEY_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(DEMO_PRIVATE_KEY_RESOURCE + " is missing from the harness jar");
            }
            return new CloudSigner(parsePrivateKey(new String(in.readAllBytes(), StandardCharsets.US_ASCII)), DEMO_KEY_ID);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A signer with a PKCS#8 PEM key file. */
    public static CloudSigner fromFile(Path pem, String keyId) throws IOException {
        return new CloudSigner(parsePrivateKey(Files.readString(pem, StandardCharsets.US_ASCII)), keyId);
    }

    /** A fresh random key pair (tests: a vendor key, or the wrong key for bad-signature tests). */
    public static KeyPair newKeyPair() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no Ed25519", e);
        }
    }

    public static PrivateKey parsePrivateKey(String pem) {
        String b64 = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException("not an Ed25519 PKCS#8 private key: " + e.getMessage(), e);
        }
    }

    public static String privatePem(PrivateKey k) {
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(k.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    public static String publicPem(PublicKey k) {
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(k.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    public String keyId() {
        return keyId;
    }

    /** {@code {"format", "payload", "signature"}}: the payload signed as it is. */
    public JsonObject sign(JsonObject payload) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(canonical(payload).getBytes(StandardCharsets.UTF_8));
            return new JsonObject().put("format", FORMAT).put("payload", payload)
                    .put("signature", Base64.getEncoder().encodeToString(s.sign()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code sha256:<hex>} of the canonical form of {@code value}, as a license's {@code changes_digest}. */
    public static String digest(Object value) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(canonical(value).getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** RFC 8785 restricted to integers: sorted keys, no whitespace, JCS string escapes. */
    public static String canonical(Object v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof JsonObject o) {
            writeMap(sb, o.getMap());
        } else if (v instanceof Map<?, ?> m) {
            writeMap(sb, m);
        } else if (v instanceof JsonArray a) {
            writeList(sb, a.getList());
        } else if (v instanceof List<?> l) {
            writeList(sb, l);
        } else if (v instanceof String s) {
            writeString(sb, s);
        } else if (v instanceof Boolean b) {
            sb.append(b);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short) {
            sb.append(((Number) v).longValue());
        } else {
            throw new IllegalArgumentException("no canonical form for " + v + " (" + v.getClass().getSimpleName() + ")");
        }
    }

    private static void writeMap(StringBuilder sb, Map<?, ?> m) {
        List<String> keys = new ArrayList<>();
        m.keySet().forEach(k -> keys.add((String) k));
        keys.sort(null);
        sb.append('{');
        for (int i = 0; i < keys.size(); i++) {
            if (i > 0) {
                sb.append(',');
            }
            writeString(sb, keys.get(i));
            sb.append(':');
            write(sb, m.get(keys.get(i)));
        }
        sb.append('}');
    }

    private static void writeList(StringBuilder sb, List<?> l) {
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
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c == '\b') {
                sb.append("\\b");
            } else if (c == '\f') {
                sb.append("\\f");
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
    }
}
