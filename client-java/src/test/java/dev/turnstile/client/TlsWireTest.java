package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.support.MiniServer;
import dev.turnstile.client.support.ScriptedServer;
import dev.turnstile.testsupport.Certificates;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same framing inside TLS: a self-signed certificate made for this run ({@link Certificates}, the JDK's keytool). */
class TlsWireTest {
    @TempDir
    static Path dir;
    static Certificates.SelfSigned certificate;

    @BeforeAll
    static void make_a_self_signed_certificate_for_127_0_0_1() throws Exception {
        certificate = Certificates.selfSigned(dir, "turnstile", "turnstile-test", true);
    }

    private static SSLContext serverContext() throws Exception {
        return certificate.serverContext();
    }

    private static SSLContext trustingContext() throws Exception {
        return certificate.trustingContext();
    }

    private static TurnstileClientBuilder builder(ScriptedServer s) {
        return TurnstileClient.builder().servers(List.of(s.address())).clientId("tls-test").hwId("hw-1")
                .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(5));
    }

    @Test
    void a_client_with_a_trusting_context_checks_out_over_tls_with_hostname_verification() throws Exception {
        // GIVEN a TLS server whose certificate names 127.0.0.1, and a client that trusts it
        MiniServer mini = new MiniServer("tls", 100, 1000);
        try (ScriptedServer s = new ScriptedServer(mini, serverContext());
             TurnstileClient client = builder(s).tls(trustingContext()).build()) {
            // WHEN it checks out
            Lease lease = client.checkout("cad");
            // THEN the protocol ran inside TLS
            assertEquals("ent-tls", lease.entitlementId());
            assertEquals("tls-test", mini.hellos.get(0).clientId());
        }
    }

    @Test
    void a_client_that_does_not_trust_the_certificate_does_not_connect() throws Exception {
        // GIVEN the same server, and a client with the JDK's default trust (not this self-signed certificate)
        try (ScriptedServer s = new ScriptedServer(new MiniServer("tls", 100, 1000), serverContext());
             TurnstileClient client = builder(s).tls(SSLContext.getDefault()).build()) {
            // WHEN it connects; THEN the round fails with a connection error naming the TLS failure
            TurnstileException e = assertThrows(TurnstileException.class, client::connect);
            assertEquals(TurnstileException.Kind.CONNECTION, e.kind());
            assertTrue(e.getMessage().contains("SSL") || e.getMessage().contains("certificat"), e.getMessage());
        }
    }
}
