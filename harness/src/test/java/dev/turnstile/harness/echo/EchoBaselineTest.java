package dev.turnstile.harness.echo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.load.LoadOptions;
import dev.turnstile.harness.load.LoadReport;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EchoBaselineTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    @DisplayName("the echo baseline run for one second counts round trips on every connection and no errors")
    void echo_baseline_runs_for_one_second_and_counts_round_trips() throws Exception {
        // GIVEN two connections with two round trips in flight each, no warmup
        LoadOptions client = new LoadOptions().setConnections(2).setPipeline(2).setFlatOut(true)
                .setDuration(Duration.ofSeconds(1)).setWarmup(Duration.ZERO).setLeasesPerConnection(0).setEventLoops(1);

        // WHEN the baseline runs
        LoadReport report = EchoBaseline.run(client, 1, QUIET);

        // THEN round trips were counted, latencies recorded, and nothing went wrong
        assertEquals(2, report.connectionsReady());
        assertTrue(report.cycles() > 0, "round trips counted: " + report.cycles());
        assertTrue(report.cyclesPerSecond() > 0);
        assertTrue(report.checkoutMicros().getTotalCount() > 0);
        assertEquals(0, report.errorCount(), () -> "errors: " + report.errors());
        assertTrue(report.resultLine().startsWith("RESULT mode=flat echo=true "));
    }
}
