package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.testsupport.Certificates;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
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
 * 127.0.0.1 made for this run ({@link Certificates}: the JDK's keytool), written out as PEM (certificate and PKCS#8
 * key).
 */
class HttpTlsTest {
    @TempDir
    static Path dir;
    static Path certPem;
    static Path keyPem;
    static KeyStore keyStore;

    private final HttpFixture f = new HttpFixture();

    @BeforeAll
    static void make_a_self_signed_certificate_as_pem_files() throws Exception {
        Certificates.SelfSigned http = Certificates.selfSigned(dir, "http", "turnstile-http-test", true);
        keyStore = http.keyStore();
        certPem = dir.resolve("http.pem");
        keyPem = dir.resolve("http.key");
        http.writePem(certPem, keyPem); // the key as PKCS#8
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
        return Certificates.selfSigned(dir, "other", "other", false).certificate();
    }
}
