package dev.turnstile.harness.cli;

import dev.turnstile.harness.load.LoadOptions;
import java.time.Duration;
import picocli.CommandLine.Option;

/** Options shared by {@code load} and {@code echo-baseline}, so both runs can be given the same shape. */
public final class LoadOptionsMixin {
    @Option(names = "--connections", defaultValue = "16", description = "Persistent connections (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--pipeline", defaultValue = "1",
            description = "Cycles in flight per connection (flat out), or at most in flight (rate mode) (default: ${DEFAULT-VALUE}).")
    int pipeline;

    @Option(names = "--duration", defaultValue = "10s", converter = Converters.DurationConverter.class,
            description = "Measured time, e.g. 30s, 5m (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--warmup", defaultValue = "3s", converter = Converters.DurationConverter.class,
            description = "Unmeasured cycles before the measured time (default: ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(names = "--product", defaultValue = LoadOptions.DEFAULT_PRODUCT, description = "Product to check out (default: ${DEFAULT-VALUE}).")
    String product;

    @Option(names = "--event-loops", description = "Client event loops (default: the number of cores).")
    Integer eventLoops;

    @Option(names = "--setup-timeout", defaultValue = "2m", converter = Converters.DurationConverter.class,
            description = "Bound on opening all connections (default: ${DEFAULT-VALUE}).")
    Duration setupTimeout;

    @Option(names = "--request-timeout", defaultValue = "10s", converter = Converters.DurationConverter.class,
            description = "A request unanswered this long counts as an error (default: ${DEFAULT-VALUE}).")
    Duration requestTimeout;

    @Option(names = "--connect-concurrency", defaultValue = "256", description = "Connections set up at once (default: ${DEFAULT-VALUE}).")
    int connectConcurrency;

    LoadOptions apply(LoadOptions o) {
        o.setConnections(connections)
                .setPipeline(pipeline)
                .setDuration(duration)
                .setWarmup(warmup)
                .setProduct(product)
                .setSetupTimeout(setupTimeout)
                .setRequestTimeout(requestTimeout)
                .setConnectConcurrency(connectConcurrency);
        if (eventLoops != null) {
            o.setEventLoops(eventLoops);
        }
        return o;
    }
}
