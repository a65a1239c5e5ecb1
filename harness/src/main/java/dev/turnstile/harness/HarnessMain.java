package dev.turnstile.harness;

import dev.turnstile.harness.cli.ConformanceCommand;
import dev.turnstile.harness.cli.EchoBaselineCommand;
import dev.turnstile.harness.cli.LoadCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The protocol harness: {@code conformance} against any server claiming protocol v1, {@code load}
 * to measure a server, {@code echo-baseline} to measure the machine the figures are quoted
 * against.
 */
@Command(name = "harness", mixinStandardHelpOptions = true, version = "turnstile harness 0.1.0",
        description = "Turnstile protocol v1 harness: conformance runner, load generator, echo baseline.",
        subcommands = {ConformanceCommand.class, LoadCommand.class, EchoBaselineCommand.class, dev.turnstile.harness.cli.HoldCommand.class, dev.turnstile.harness.cloud.CloudCommand.class, CommandLine.HelpCommand.class})
public final class HarnessMain implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "harness-logback.xml");
        }
        System.exit(execute(args));
    }

    /** Runs the command line without exiting: the exit code. */
    public static int execute(String... args) {
        return new CommandLine(new HarnessMain()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }
}
