package dev.turnstile.harness.cli;

import dev.turnstile.harness.common.HostPort;
import dev.turnstile.harness.conformance.ConformanceOptions;
import dev.turnstile.harness.conformance.ConformanceResult;
import dev.turnstile.harness.conformance.ConformanceRunner;
import dev.turnstile.protocol.Enforcement;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"Runs scripted conversations and every client-sent vector against a server claiming protocol v1.",
                "Prints PASS/FAIL per case and 'N passed, N failed'; exits 1 when any case fails.",
                "The product must have exactly --seats seats and nobody else may use it during the run."})
public final class ConformanceCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "HOST:PORT", converter = Converters.HostPortConverter.class,
            description = "The server's protocol address.")
    HostPort target;

    @Option(names = "--product", defaultValue = ConformanceOptions.DEFAULT_PRODUCT, description = "Product to check out (default: ${DEFAULT-VALUE}).")
    String product;

    @Option(names = "--seats", defaultValue = "3", description = "The product's seat count on the server (default: ${DEFAULT-VALUE}).")
    int seats;

    @Option(names = "--license-key", defaultValue = "", description = "License key (entitlement id) to name in checkouts; empty: any.")
    String licenseKey;

    @Option(names = "--client-version", defaultValue = ConformanceOptions.DEFAULT_CLIENT_VERSION,
            description = "A client version the server accepts (default: ${DEFAULT-VALUE}).")
    String clientVersion;

    @Option(names = "--token", defaultValue = "", description = "Auth token for HELLO; empty: none.")
    String token;

    @Option(names = "--enforcement", defaultValue = "SEATS", description = "The product's enforcement type: ${COMPLETION-CANDIDATES}.")
    Enforcement enforcement;

    @Option(names = "--vectors", description = "Vectors folder (holding valid/ and invalid/); default: the vectors in this jar.")
    Path vectors;

    @Option(names = "--timeout", defaultValue = "5s", converter = Converters.DurationConverter.class,
            description = "How long to wait for any one answer (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--seat-return-timeout", defaultValue = "60s", converter = Converters.DurationConverter.class,
            description = "How long to wait for a killed connection's seats to come back, reclaim grace included (default: ${DEFAULT-VALUE}).")
    Duration seatReturnTimeout;

    @Override
    public Integer call() {
        ConformanceOptions o = new ConformanceOptions()
                .setProduct(product)
                .setSeats(seats)
                .setLicenseKey(licenseKey)
                .setClientVersion(clientVersion)
                .setToken(token)
                .setEnforcement(enforcement)
                .setTimeoutMs(timeout.toMillis())
                .setSeatReturnTimeoutMs(seatReturnTimeout.toMillis())
                .setVectorsDir(vectors);
        ConformanceResult r = ConformanceRunner.run(target.host(), target.port(), o, System.out);
        return r.failed() == 0 ? 0 : 1;
    }
}
