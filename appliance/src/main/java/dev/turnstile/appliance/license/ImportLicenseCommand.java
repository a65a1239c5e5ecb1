package dev.turnstile.appliance.license;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.config.ConfigReader;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code turnstile import-license FILE}: for air-gapped sites. Verifies a signed license document
 * exactly as the appliance does (signature with {@code license.public_key}, appliance identity,
 * validity, not older than the installed one) and installs it atomically as {@code license.file}.
 * A running appliance picks it up within {@code license.check_interval} (or import it through
 * {@code POST /v1/license}).
 *
 * <p>Exit codes: 0 installed, 2 the configuration is invalid, 4 the license is refused.
 */
@Command(name = "import-license", mixinStandardHelpOptions = true,
        description = {"Verify a signed license file and install it (air-gapped sites).",
                "A running appliance applies it within license.check_interval."})
public final class ImportLicenseCommand implements Callable<Integer> {
    public static final int EXIT_CONFIG = 2;
    public static final int EXIT_REFUSED = 4;

    @Parameters(index = "0", paramLabel = "FILE", description = "The license document (JSON) the vendor sent.")
    Path file;

    @Option(names = {"-c", "--config"}, description = "YAML configuration file (default: ${DEFAULT-VALUE})",
            defaultValue = "/etc/turnstile/turnstile.yaml")
    Path config;

    Clock clock = Clock.systemUTC();

    @Override
    public Integer call() {
        Vertx vertx = Vertx.vertx();
        try {
            JsonObject tree;
            try {
                tree = ConfigLoader.load(vertx, config.toString(), System.getenv()).await(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable c = e instanceof ConfigException ? e : e.getCause() != null ? e.getCause() : e;
                System.err.println("turnstile: " + c.getMessage());
                return EXIT_CONFIG;
            }
            return install(tree);
        } finally {
            vertx.close();
        }
    }

    /** Verifies and installs with the configuration {@code tree}; prints what it did. */
    int install(JsonObject tree) {
        ConfigReader r = new ConfigReader();
        LicenseConfig lc = LicenseConfig.bind(tree, r);
        if (!r.problems().isEmpty()) {
            System.err.println("turnstile: " + new ConfigException(r.problems()).getMessage());
            return EXIT_CONFIG;
        }
        if (!lc.enabled()) {
            System.err.println("turnstile: the configuration " + config + " has no license: section (license.public_key)");
            return EXIT_CONFIG;
        }
        PublicKey key = lc.publicKey();
        try {
            if (key == null) {
                key = LicenseKeys.parsePublicKey(Files.readString(Path.of(lc.publicKeyText().trim()), StandardCharsets.US_ASCII));
                if (LicenseKeys.isDemo(key) && !lc.allowDemoKey()) {
                    System.err.println("turnstile: license.public_key: the DEMO key is refused outside the demo configuration");
                    return EXIT_CONFIG;
                }
            }
        } catch (Exception e) {
            System.err.println("turnstile: license.public_key: cannot read the key " + lc.publicKeyText() + ": " + e.getMessage());
            return EXIT_CONFIG;
        }
        LicenseVerifier verifier = new LicenseVerifier(key, lc.localServerId(), lc.allowDemoKey());
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            LicenseDocument doc = verifier.verify(text);
            LicenseVerifier.checkTime(doc, clock.millis(), lc.maxClockSkewMs());
            LicenseDocument installed = installed(verifier, lc.file());
            if (installed != null && doc.issuedAt().isBefore(installed.issuedAt())) {
                throw new LicenseException(LicenseException.Reason.OLDER_THAN_INSTALLED, "the license " + doc.licenseId()
                        + " was issued " + doc.issuedAt() + ", before the installed " + installed.licenseId() + " ("
                        + installed.issuedAt() + ")");
            }
            AtomicFiles.write(lc.file(), doc.toFileText());
            System.out.println("license " + doc.licenseId() + " for '" + doc.localServerId() + "' (" + doc.entitlements().size()
                    + " entitlements, valid until " + doc.validUntil() + ") installed as " + lc.file().toAbsolutePath()
                    + "; a running appliance applies it within " + ConfigReader.formatMs(lc.checkIntervalMs()));
            return 0;
        } catch (LicenseException e) {
            System.err.println("turnstile: license refused (" + e.reason().code() + "): " + e.getMessage());
            return EXIT_REFUSED;
        } catch (NoSuchFileException e) {
            System.err.println("turnstile: no such file: " + file);
            return EXIT_REFUSED;
        } catch (Exception e) {
            System.err.println("turnstile: cannot install the license: " + e);
            return EXIT_REFUSED;
        }
    }

    private static LicenseDocument installed(LicenseVerifier verifier, Path file) {
        try {
            return verifier.verify(Files.readString(file, StandardCharsets.UTF_8));
        } catch (Exception e) {
            return null; // none, or one that does not verify: it does not block a valid import
        }
    }
}
