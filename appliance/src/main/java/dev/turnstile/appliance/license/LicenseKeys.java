package dev.turnstile.appliance.license;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Ed25519 public keys as the configuration names them ({@code license.public_key}): the word
 * {@value #DEMO_NAME} for the built-in DEMO key, PEM text ({@code -----BEGIN PUBLIC KEY-----}),
 * base64 of the X.509 SubjectPublicKeyInfo DER, or base64 of the raw 32-byte key. Everything goes
 * through the JDK's {@code KeyFactory.getInstance("Ed25519")}.
 */
public final class LicenseKeys {
    /** The name of the built-in demo key, in the configuration and in a license's {@code key_id}. */
    public static final String DEMO_NAME = "DEMO";
    /** Classpath location of the DEMO public key (PEM). Its private half is in the harness, for the fake cloud. */
    public static final String DEMO_PUBLIC_KEY_RESOURCE = "/license/DEMO-public-key.pem";

    /** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier 1.3.101.112, BIT STRING. */
    private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    private LicenseKeys() {
    }

    /** The built-in DEMO public key. Accepted only where {@code license.allow_demo_key} is true. */
    public static PublicKey demoPublicKey() {
        return DemoKey.KEY;
    }

    /** Loaded once, on first use. */
    private static final class DemoKey {
        static final PublicKey KEY = loadDemoKey();
    }

    private static PublicKey loadDemoKey() {
        try (InputStream in = LicenseKeys.class.getResourceAsStream(DEMO_PUBLIC_KEY_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the DEMO key " + DEMO_PUBLIC_KEY_RESOURCE + " is missing from the jar");
            }
            return parsePublicKey(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the DEMO key", e);
        }
    }

    /** True when {@code key} is the built-in DEMO key. */
    public static boolean isDemo(PublicKey key) {
        return key != null && Arrays.equals(key.getEncoded(), demoPublicKey().getEncoded());
    }

    /**
     * Parses PEM, base64 SubjectPublicKeyInfo or base64 raw 32 bytes.
     *
     * @throws IllegalArgumentException when it is none of these or not an Ed25519 key
     */
    public static PublicKey parsePublicKey(String text) {
        String t = text.trim();
        if (t.startsWith("-----BEGIN")) {
            if (!t.startsWith("-----BEGIN PUBLIC KEY-----")) {
                throw new IllegalArgumentException("a PEM public key starts with -----BEGIN PUBLIC KEY-----");
            }
            t = t.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(t.replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not base64: " + e.getMessage());
        }
        if (der.length == 32) {
            byte[] spki = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + 32);
            System.arraycopy(der, 0, spki, SPKI_PREFIX.length, 32);
            der = spki;
        }
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException("not an Ed25519 public key (" + e.getMessage() + ")");
        }
    }

    /** The key as PEM text. */
    public static String toPem(PublicKey key) {
        return "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
                + "\n-----END PUBLIC KEY-----\n";
    }

    /** A short fingerprint for logs: the first 16 hex digits of the SHA-256 of the encoded key. */
    public static String fingerprint(PublicKey key) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (GeneralSecurityException e) {
            return "?";
        }
    }
}
