package dev.turnstile.appliance.sdk;

import static dev.turnstile.appliance.sdk.SdkFixture.CAD;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.client.Lease;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.protocol.Message;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Figures, not a test (it asserts nothing, and runs only when asked): checkout+checkin
 * cycles per second through the Java SDK against the real appliance on loopback, as a ratio of a
 * bare blocking codec client doing the same cycles in the same run, plus the SDK's blocking cycle
 * latency and its pipelined throughput. Run:
 * <pre>
 * mvn -o -q -B -pl appliance -Dturnstile.target=target-sdk test -Dtest=SdkRoundTripBench -Dturnstile.bench=true
 * </pre>
 * The figures land in {@code target-sdk/surefire-reports/...SdkRoundTripBench-output.txt}.
 */
class SdkRoundTripBench {
    private static final long WARMUP_MS = 1_000;
    private static final long MEASURE_MS = 3_000;
    private static final int PIPELINE = 32;

    @Test
    @EnabledIfSystemProperty(named = "turnstile.bench", matches = "true")
    void print_sdk_round_trip_figures() throws Exception {
        try (SdkFixture fx = new SdkFixture()) {
            Appliance a = fx.start("bench", c -> c.getJsonArray("entitlements").getJsonObject(0)
                    .getJsonObject("policy").put("max_seats", 10_000));
            // Baseline: a bare blocking client, one request at a time, same socket, same ledger.
            double raw;
            try (RawClient rc = RawClient.session(a.tcpPort(), "raw-bench", "hw-raw")) {
                rawCycles(rc, WARMUP_MS);
                raw = rawCycles(rc, MEASURE_MS) * 1000.0 / MEASURE_MS;
            }
            TurnstileClientImpl client = fx.build(fx.client(new SdkFixture.Events(), a).clientId("sdk-bench"));
            client.connect();
            sdkCycles(client, WARMUP_MS, null);
            long[] lat = new long[2_000_000];
            int n = sdkCycles(client, MEASURE_MS, lat);
            double sdk = n * 1000.0 / MEASURE_MS;
            Arrays.sort(lat, 0, n);
            double piped = pipelined(client, MEASURE_MS) * 1000.0 / MEASURE_MS;
            System.out.printf("SDK figures (%d cores, %s):%n", Runtime.getRuntime().availableProcessors(),
                    java.time.LocalDate.now());
            System.out.printf("  bare codec client, blocking cycles/s : %10.0f (baseline)%n", raw);
            System.out.printf("  SDK blocking cycles/s                : %10.0f (%.2f x baseline)%n", sdk, sdk / raw);
            System.out.printf("  SDK blocking cycle p50 / p99 / max us: %8.0f / %.0f / %.0f%n",
                    lat[n / 2] / 1e3, lat[(int) (n * 0.99)] / 1e3, lat[n - 1] / 1e3);
            System.out.printf("  SDK pipelined (%d in flight) cycles/s: %10.0f (%.2f x baseline)%n", PIPELINE, piped,
                    piped / raw);
        }
    }

    private static long rawCycles(RawClient rc, long ms) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        long n = 0;
        while (System.nanoTime() < end) {
            Message.Granted g = (Message.Granted) rc.request(rc.checkout(CAD, 1)).message();
            rc.request(new Message.Checkin(g.leaseId()));
            n++;
        }
        return n;
    }

    private static int sdkCycles(TurnstileClientImpl client, long ms, long[] lat) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        int n = 0;
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            Lease l = client.checkout(CAD);
            client.checkin(l);
            if (lat != null && n < lat.length) {
                lat[n] = System.nanoTime() - t0;
            }
            n++;
        }
        return lat == null ? n : Math.min(n, lat.length);
    }

    private static long pipelined(TurnstileClientImpl client, long ms) throws Exception {
        Semaphore window = new Semaphore(PIPELINE);
        AtomicLong done = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < end) {
            window.acquire();
            client.checkoutAsync(CAD).thenCompose(client::checkinAsync).whenComplete((v, e) -> {
                if (e == null) {
                    done.incrementAndGet();
                }
                window.release();
            });
        }
        window.acquire(PIPELINE);
        return done.get();
    }
}
