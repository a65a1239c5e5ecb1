package dev.turnstile.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Self-signed certificates for the TLS tests, made for the run by the JDK's {@code keytool} (an EC P-256 key, valid
 * two days), in one place. No certificate library is on the test class path (BouncyCastle's bcpkix is not), and
 * keytool ships with every JDK the build runs on.
 */
public final class Certificates {
    /** The password of the PKCS#12 key store and of its key. */
    public static final char[] PASSWORD = "changeit".toCharArray();

    private Certificates() {
    }

    /** A certificate and its key, in a PKCS#12 key store under {@code alias}. */
    public record SelfSigned(String alias, Path keyStoreFile, KeyStore keyStore) {
        public Certificate certificate() throws Exception {
            return keyStore.getCertificate(alias);
        }

        public PrivateKey key() throws Exception {
            return (PrivateKey) keyStore.getKey(alias, PASSWORD);
        }

        /** Writes the certificate and the key (PKCS#8) as PEM files, for {@code tls.cert} / {@code tls.key}. */
        public void writePem(Path certPem, Path keyPem) throws Exception {
            Files.writeString(certPem, pem("CERTIFICATE", certificate().getEncoded()), StandardCharsets.US_ASCII);
            Files.writeString(keyPem, pem("PRIVATE KEY", key().getEncoded()), StandardCharsets.US_ASCII);
        }

        /** A server context presenting this certificate. */
        public SSLContext serverContext() throws Exception {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore, PASSWORD);
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(kmf.getKeyManagers(), null, null);
            return c;
        }

        /** A client context trusting this certificate (and nothing else). */
        public SSLContext trustingContext() throws Exception {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(keyStore);
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, tmf.getTrustManagers(), null);
            return c;
        }
    }

    /**
     * A self-signed certificate with common name {@code cn}; with {@code forLoopback} its subject alternative name is
     * {@code IP:127.0.0.1}, so hostname verification against 127.0.0.1 passes.
     */
    public static SelfSigned selfSigned(Path dir, String alias, String cn, boolean forLoopback) throws Exception {
        Path ks = dir.resolve(alias + ".p12");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + cn,
                "-validity", "2", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD)));
        if (forLoopback) {
            cmd.addAll(List.of("-ext", "SAN=ip:127.0.0.1"));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("keytool did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException("keytool exited " + p.exitValue() + ": " + out);
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            store.load(in, PASSWORD);
        }
        return new SelfSigned(alias, ks, store);
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
