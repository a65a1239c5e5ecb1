package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP server over TLS from PEM files named in {@code http.tls}: a self-signed certificate for
 * 127.0.0.1 made for this run by the JDK's keytool, written out as PEM (certificate and PKCS#8 key).
 */
class HttpTlsTest {
    private static final char[] PASS = "changeit".toCharArray();

    @TempDir
    static Path dir;
    static Path certPem;
    static Path keyPem;
    static KeyStore keyStore;

    private final HttpFixture f = new HttpFixture();

    @BeforeAll
    static void make_a_self_signed_certificate_as_pem_files() throws Exception {
        Path ks = dir.resolve("http.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "http", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=turnstile-http-test", "-ext", "SAN=ip:127.0.0.1", "-validity", "2",
                "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool did not finish");
        assertEquals(0, p.exitValue(), out);
        keyStore = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            keyStore.load(in, PASS);
        }
        Certificate cert = keyStore.getCertificate("http");
        PrivateKey key = (PrivateKey) keyStore.getKey("http", PASS);
        certPem = dir.resolve("http.pem");
        keyPem = dir.resolve("http.key");
        Files.writeString(certPem, pem("CERTIFICATE", cert.getEncoded()));
        Files.writeString(keyPem, pem("PRIVATE KEY", key.getEncoded())); // PKCS#8
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    @AfterEach
    void close() throws Exception {
        f.close();
    }

    private static HttpClient trusting(KeyStore trust) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @Test
    @DisplayName("GIVEN http.tls with PEM files WHEN a client that trusts the certificate calls THEN HTTPS works; a client "
            + "that does not is refused, and plain HTTP gets nothing")
    void the_admin_api_over_tls() throws Exception {
        f.start("tls-1", c -> c.getJsonObject("http").put("tls", new io.vertx.core.json.JsonObject().put("enabled", true)
                .put("cert", certPem.toString()).put("key", keyPem.toString())));
        String base = "https://127.0.0.1:" + f.appliance.httpPort();
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("appliance", keyStore.getCertificate("http"));
        HttpClient https = trusting(trust);

        HttpResponse<String> live = https.send(HttpRequest.newBuilder(URI.create(base + "/health/live")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, live.statusCode());
        HttpResponse<String> status = https.send(HttpRequest.newBuilder(URI.create(base + "/v1/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("tls-1", new io.vertx.core.json.JsonObject(status.body()).getString("server_id"));
        HttpResponse<String> denied = https.send(HttpRequest.newBuilder(URI.create(base + "/v1/leases/"
                + java.util.UUID.randomUUID() + "/release")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, denied.statusCode(), "the token rules are the same over TLS");

        KeyStore empty = KeyStore.getInstance("PKCS12");
        empty.load(null, null);
        empty.setCertificateEntry("someone-else", anotherCertificate());
        HttpClient stranger = trusting(empty);
        assertThrows(SSLHandshakeException.class, () -> stranger.send(HttpRequest.newBuilder(URI.create(base + "/health/live"))
                .build(), HttpResponse.BodyHandlers.ofString()));

        HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest cleartext = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.appliance.httpPort() + "/v1/status"))
                .timeout(Duration.ofSeconds(10)).build();
        try {
            HttpResponse<String> r = plain.send(cleartext, HttpResponse.BodyHandlers.ofString());
            assertTrue(r.statusCode() >= 400, "plain HTTP on the TLS port is not served: " + r.statusCode());
        } catch (IOException expected) {
            // the TLS server drops a cleartext request
        }
    }

    /** A second self-signed certificate, for a client that trusts somebody else. */
    private static Certificate anotherCertificate() throws Exception {
        Path ks = dir.resolve("other.p12");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "other", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=other",
                "-validity", "2", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", "changeit",
                "-keypass", "changeit").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        KeyStore other = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            other.load(in, PASS);
        }
        return other.getCertificate("other");
    }
}
