package dev.turnstile.harness.cloud;

import dev.turnstile.harness.common.Durations;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code harness cloud}: runs the {@link FakeCloud} until SIGTERM / Ctrl-C, or makes a key pair
 * with {@code --new-key}.
 * <pre>
 * harness cloud --port 9090 --dir ./cloud-entitlements --key vendor.pem --token s3cret
 * harness cloud --port 9090 --fail 5xx --fail-count 3        # the first three answers are 503
 * harness cloud --new-key vendor.pem                         # writes vendor.pem and vendor.pem.pub
 * </pre>
 */
@Command(name = "cloud", mixinStandardHelpOptions = true,
        description = {"A fake vendor cloud: serves POST /v1/sync/entitlements from a directory of entitlements,",
                "signs licenses with the given Ed25519 key (default: the DEMO key), and fails on request.",
                "Control API: GET /control/state, PUT|PATCH|DELETE /control/entitlements/{id},",
                "POST /control/fail {\"mode\":\"5xx\",\"count\":3}, POST /control/heal, POST /control/license."})
public final class CloudCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "9090", description = "Port (default: ${DEFAULT-VALUE}; 0 = any).")
    int port;

    @Option(names = "--dir", description = "Directory of *.json entitlements (one object or a list per file), re-read at every request.")
    Path dir;

    @Option(names = "--key", defaultValue = "DEMO", description = "Ed25519 private key (PKCS#8 PEM) to sign with, or DEMO (default).")
    String key;

    @Option(names = "--key-id", description = "The key_id written into licenses (default: DEMO for the DEMO key, else 'vendor').")
    String keyId;

    @Option(names = "--validity", defaultValue = "14d", description = "License validity from issue (default: ${DEFAULT-VALUE}); e.g. 14d, 12h, 90s.")
    String validity;

    @Option(names = "--token", description = "Bearer token the appliance must present; unset: any.")
    String token;

    @Option(names = "--server-id", description = "Appliance id licenses are signed for; unset: the local_server_id the appliance sends.")
    String serverId;

    @Option(names = "--fail", description = "Fail answers: 5xx, timeout, 401, 403, garbage, slow, bad-signature, tampered, invalid-change.")
    String fail;

    @Option(names = "--fail-count", defaultValue = "-1", description = "How many answers fail (default: all, until healed via /control/heal).")
    int failCount;

    @Option(names = "--slow", defaultValue = "3s", description = "Delay of --fail slow answers (default: ${DEFAULT-VALUE}).")
    String slow;

    @Option(names = "--new-key", description = "Write a new Ed25519 key pair to FILE (private, PKCS#8 PEM) and FILE.pub (public) and exit.")
    Path newKey;

    static long parseValidityMs(String text) {
        String t = text.trim();
        if (t.endsWith("d")) {
            return Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 86_400_000L);
        }
        return Durations.parse(t).toMillis();
    }

    @Override
    public Integer call() throws Exception {
        if (newKey != null) {
            KeyPair kp = CloudSigner.newKeyPair();
            Files.writeString(newKey, CloudSigner.privatePem(kp.getPrivate()), StandardCharsets.US_ASCII);
            Path pub = Path.of(newKey + ".pub");
            Files.writeString(pub, CloudSigner.publicPem(kp.getPublic()), StandardCharsets.US_ASCII);
            System.out.println("private key: " + newKey.toAbsolutePath() + " (keep it secret: it signs licenses)");
            System.out.println("public key:  " + pub.toAbsolutePath() + " (the appliance's license.public_key)");
            return 0;
        }
        FakeCloud.Options o = new FakeCloud.Options();
        o.host = host;
        o.port = port;
        o.entitlementsDir = dir;
        o.signer = FakeCloud.signerFor(key, keyId);
        o.validityMs = parseValidityMs(validity);
        o.expectedToken = token;
        o.serverId = serverId;
        o.slowMs = Durations.parse(slow).toMillis();
        Vertx vertx = Vertx.vertx();
        FakeCloud cloud = FakeCloud.start(vertx, o).await(30, TimeUnit.SECONDS);
        if (fail != null) {
            FakeCloud.Failure f = FakeCloud.Failure.ofName(fail);
            if (failCount < 0) {
                cloud.failAlways(f);
            } else {
                cloud.failNext(f, failCount);
            }
        }
        System.out.println("fake cloud: " + cloud.url() + "/v1/sync/entitlements (key " + o.signer.keyId() + ", validity "
                + Duration.ofMillis(o.validityMs) + (dir == null ? ", no entitlements yet: PUT /control/entitlements/{id}"
                : ", entitlements from " + dir.toAbsolutePath()) + "); Ctrl-C stops it");
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                cloud.close().await(5, TimeUnit.SECONDS);
                vertx.close().await(5, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // exiting anyway
            }
            stop.countDown();
        }, "fake-cloud-shutdown"));
        stop.await();
        return 0;
    }
}
