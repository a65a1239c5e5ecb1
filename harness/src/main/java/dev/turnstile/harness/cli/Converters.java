package dev.turnstile.harness.cli;

import dev.turnstile.harness.common.Durations;
import dev.turnstile.harness.common.HostPort;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;

/** picocli converters for the harness's argument types. */
public final class Converters {
    private Converters() {
    }

    public static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return Durations.parse(value);
        }
    }

    public static final class HostPortConverter implements ITypeConverter<HostPort> {
        @Override
        public HostPort convert(String value) {
            return HostPort.parse(value);
        }
    }
}
