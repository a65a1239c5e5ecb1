package dev.turnstile.harness.load;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * The figures of one load run. {@link #print(PrintStream)} writes them for people and ends with one
 * {@code RESULT key=value ...} line for scripts.
 */
public final class LoadReport {
    private final LoadOptions opts;
    private final WorkerStats stats;
    private final double cyclesPerSecond;
    private final double windowSeconds;

    LoadReport(LoadOptions opts, WorkerStats stats, double cyclesPerSecond, double windowSeconds) {
        this.opts = opts;
        this.stats = stats;
        this.cyclesPerSecond = cyclesPerSecond;
        this.windowSeconds = windowSeconds;
    }

    /** Completed cycles per second in the measured window (echo mode: round trips per second). */
    public double cyclesPerSecond() {
        return cyclesPerSecond;
    }

    /** Request round trips per second (a cycle is two: checkout and checkin; in echo mode one). */
    public double requestsPerSecond() {
        return windowSeconds > 0 ? stats.requests / windowSeconds : 0;
    }

    public long cycles() {
        return stats.cycles;
    }

    public int connectionsReady() {
        return stats.ready;
    }

    public int connectionsFailed() {
        return stats.connectFailed;
    }

    /** Heartbeats answered over the whole run (setup and teardown included). */
    public long heartbeats() {
        return stats.heartbeats;
    }

    public long lostLeases() {
        return stats.lostLeases;
    }

    public long heldLeases() {
        return stats.heldLeases;
    }

    public long leasesWanted() {
        return stats.wantedLeases;
    }

    public Map<String, Long> errors() {
        return Map.copyOf(stats.errors);
    }

    public long errorCount() {
        return stats.errors.values().stream().mapToLong(Long::longValue).sum();
    }

    public Histogram checkoutMicros() {
        return stats.checkoutMicros;
    }

    public Histogram heartbeatMicros() {
        return stats.heartbeatMicros;
    }

    public void print(PrintStream out) {
        String what = opts.echoMode() ? "echo baseline" : "load";
        out.printf(Locale.ROOT, "%s against %s:%d: %s, %d connections (%d ready, %d failed), %d held lease(s) each, pipeline %d,"
                        + " measured %.1f s%n",
                what, opts.host(), opts.port(), opts.describeMode(), opts.connections(), stats.ready, stats.connectFailed,
                opts.leasesPerConnection(), opts.pipeline(), windowSeconds);
        if (!opts.holdOnly()) {
            if (opts.echoMode()) {
                out.printf(Locale.ROOT, "throughput: %.0f round trips/s (%d in %.1f s)%n", cyclesPerSecond, stats.cycles, windowSeconds);
                printHistogram(out, opts.flatOut() ? "round trip latency" : "round trip latency from planned start",
                        stats.checkoutMicros);
                if (!opts.flatOut()) {
                    printHistogram(out, "round trip latency from send", stats.checkoutServiceMicros);
                }
            } else {
                out.printf(Locale.ROOT, "throughput: %.0f checkout+checkin cycles/s (%.0f requests/s; %d cycles in %.1f s)%n",
                        cyclesPerSecond, requestsPerSecond(), stats.cycles, windowSeconds);
                printHistogram(out, opts.flatOut() ? "checkout latency" : "checkout latency from planned start",
                        stats.checkoutMicros);
                if (!opts.flatOut()) {
                    printHistogram(out, "checkout latency from send", stats.checkoutServiceMicros);
                }
                printHistogram(out, "checkin latency", stats.checkinMicros);
            }
            if (stats.droppedCycles > 0 || stats.backlogMax > 0) {
                out.printf(Locale.ROOT, "generator backlog: max %d cycles waiting for a free slot, %d dropped%n",
                        stats.backlogMax, stats.droppedCycles);
            }
        }
        printHistogram(out, "heartbeat latency", stats.heartbeatMicros);
        out.printf(Locale.ROOT, "connections: %d ready of %d (%d failed to set up, %d closed before the end)%n",
                stats.ready, opts.connections(), stats.connectFailed, stats.closedEarly);
        out.printf(Locale.ROOT, "held leases: %d of %d wanted still held at the end; lost leases: %d%n",
                stats.heldLeases, stats.wantedLeases, stats.lostLeases);
        if (stats.errors.isEmpty()) {
            out.println("errors: none");
        } else {
            StringBuilder b = new StringBuilder("errors:");
            stats.errors.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
            out.println(b);
        }
        out.println(resultLine());
        out.flush();
    }

    private static void printHistogram(PrintStream out, String name, Histogram h) {
        if (h.getTotalCount() == 0) {
            return;
        }
        out.printf(Locale.ROOT, "%s (us): p50 %d  p99 %d  p99.9 %d  max %d  (n=%d, mean %.1f)%n", name,
                h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getValueAtPercentile(99.9), h.getMaxValue(),
                h.getTotalCount(), h.getMean());
    }

    /** One line for scripts: {@code RESULT key=value ...}. */
    public String resultLine() {
        Histogram c = stats.checkoutMicros;
        Histogram hb = stats.heartbeatMicros;
        Histogram cs = stats.checkoutServiceMicros;
        return String.format(Locale.ROOT,
                "RESULT mode=%s echo=%s connections=%d ready=%d failed=%d pipeline=%d cycles_per_s=%.1f requests_per_s=%.1f"
                        + " cycles=%d checkout_p50_us=%d checkout_p99_us=%d checkout_p999_us=%d checkout_max_us=%d"
                        + " checkout_sent_p50_us=%d checkout_sent_p99_us=%d checkout_sent_p999_us=%d"
                        + " heartbeat_p99_us=%d heartbeat_max_us=%d heartbeats=%d held=%d wanted=%d lost_leases=%d errors=%d"
                        + " closed_early=%d window_s=%.2f",
                opts.holdOnly() ? "hold" : opts.flatOut() ? "flat" : "rate", opts.echoMode(), opts.connections(), stats.ready,
                stats.connectFailed, opts.pipeline(), cyclesPerSecond, requestsPerSecond(), stats.cycles,
                pct(c, 50), pct(c, 99), pct(c, 99.9), c.getMaxValue(), pct(cs, 50), pct(cs, 99), pct(cs, 99.9), pct(hb, 99), hb.getMaxValue(), stats.heartbeats,
                stats.heldLeases, stats.wantedLeases, stats.lostLeases, errorCount(), stats.closedEarly, windowSeconds);
    }

    private static long pct(Histogram h, double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p);
    }
}
