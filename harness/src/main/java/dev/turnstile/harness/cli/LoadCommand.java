package dev.turnstile.harness.cli;

import dev.turnstile.harness.common.HostPort;
import dev.turnstile.harness.load.LoadGenerator;
import dev.turnstile.harness.load.LoadOptions;
import dev.turnstile.harness.load.LoadReport;
import dev.turnstile.protocol.Enforcement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "load", mixinStandardHelpOptions = true,
        description = {"Opens N persistent connections; each holds leases and heartbeats at the server's WELCOME interval,",
                "and drives checkout/checkin cycles at a target rate or flat out (or only holds, with --hold-only).",
                "Prints throughput, latency percentiles (HdrHistogram), connection count, lost leases and errors by code,",
                "then a RESULT line for scripts. Bounded in time: setup timeout + warmup + duration + a few seconds."})
public final class LoadCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "HOST:PORT", converter = Converters.HostPortConverter.class,
            description = "The server's protocol address.")
    HostPort target;

    @Mixin
    LoadOptionsMixin shape;

    static final class Mode {
        @Option(names = "--rate", description = "Target checkout+checkin cycles per second over all connections (open loop).")
        Double rate;

        @Option(names = "--flat-out", description = "Closed loop: every connection keeps --pipeline cycles in flight.")
        boolean flatOut;

        @Option(names = "--hold-only", description = "Only hold the leases and heartbeat for the duration (connection-count runs).")
        boolean holdOnly;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    @Option(names = "--leases-per-connection", defaultValue = "1", description = "Leases each connection holds throughout (default: ${DEFAULT-VALUE}).")
    int leasesPerConnection;

    @Option(names = "--license-key", defaultValue = "", description = "License key (entitlement id) for checkouts; empty: any.")
    String licenseKey;

    @Option(names = "--enforcement", defaultValue = "SEATS", description = "The product's enforcement type: ${COMPLETION-CANDIDATES}.")
    Enforcement enforcement;

    @Option(names = "--client-version", defaultValue = LoadOptions.DEFAULT_CLIENT_VERSION, description = "Client version for HELLO.")
    String clientVersion;

    @Option(names = "--token", defaultValue = "", description = "Auth token for HELLO; empty: none.")
    String token;

    @Option(names = "--hw-id-prefix", defaultValue = "load", description = "HELLO hw_id is PREFIX-i; give each harness process its own.")
    String hwIdPrefix;

    @Option(names = "--bind", split = ",", description = "Source addresses to spread connections over, e.g. 127.0.0.2,127.0.0.3.")
    List<String> bind = new ArrayList<>();

    @Option(names = "--end-at", description = "End the measured phase at this Unix time (seconds) instead of after --duration;"
            + " lets several harness processes hold over one common window.")
    Long endAt;

    @Override
    public Integer call() throws Exception {
        LoadOptions o = shape.apply(new LoadOptions())
                .setHost(target.host())
                .setPort(target.port())
                .setLeasesPerConnection(leasesPerConnection)
                .setLicenseKey(licenseKey)
                .setEnforcement(enforcement)
                .setClientVersion(clientVersion)
                .setToken(token)
                .setHwIdPrefix(hwIdPrefix)
                .setBindAddresses(bind)
                .setFlatOut(mode.flatOut)
                .setHoldOnly(mode.holdOnly)
                .setRate(mode.rate == null ? 0 : mode.rate);
        if (mode.holdOnly) {
            o.setWarmup(java.time.Duration.ZERO);
        }
        if (endAt != null) {
            o.setEndAtEpochMs(endAt * 1000);
        }
        LoadReport r = LoadGenerator.run(o, System.out);
        r.print(System.out);
        return r.connectionsReady() > 0 ? 0 : 2;
    }
}
