package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.turnstile.appliance.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import picocli.CommandLine;

/** Runs a {@code turnstile} subcommand in this JVM and keeps its exit code and what it printed. */
record MainRunner(int code, String out, String err) {

    static synchronized MainRunner run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            // a `run` that unexpectedly starts would serve until SIGTERM: bounded here
            int code = assertTimeoutPreemptively(Duration.ofSeconds(90), () -> new CommandLine(new Main()).execute(args));
            return new MainRunner(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** Both streams, for assertion messages. */
    String all() {
        return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }
}
