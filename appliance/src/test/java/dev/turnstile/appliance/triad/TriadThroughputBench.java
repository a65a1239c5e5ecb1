package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.client.Lease;
import dev.turnstile.client.TurnstileClient;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Checkout + checkin cycles per second through the SDK: a single appliance, then the leader of a triad, in the
 * same run (ratio triad / single). Prints figures; never fails on them. Not part of the regular suite (the
 * name does not end in Test); run it with
 * {@code mvn -o -q -B -pl appliance -Dturnstile.target=target-triad test -Dtest=TriadThroughputBench -Dtriad.bench=true}
 * (optionally {@code -Dtriad.bench.threads=16 -Dtriad.bench.fsync=false}).
 */
class TriadThroughputBench {
    static final int THREADS = Integer.getInteger("triad.bench.threads", 4);
    static final long SECONDS = Long.getLong("triad.bench.seconds", 4);

    @Test
    void prints_triad_checkout_throughput_as_a_ratio_of_a_single_appliance() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Boolean.getBoolean("triad.bench"),
                "a benchmark: run with -Dtriad.bench=true");
        Path dir = Files.createTempDirectory("triad-bench");
        List<Vertx> vertxes = new ArrayList<>();
        List<TriadNode> nodes = new ArrayList<>();
        try {
            Vertx v0 = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
            vertxes.add(v0);
            Appliance single = TriadAppliancesTest.await(Appliance.start(v0, bigPool("single", 0)));
            double singleRate = run(List.of("127.0.0.1:" + single.tcpPort()));
            TriadAppliancesTest.await(single.shutdown());

            int[] client = new int[3];
            dev.turnstile.appliance.testing.TriadMembers m =
                    dev.turnstile.appliance.testing.TriadMembers.onLoopback(dir.resolve("discovery"));
            String[] ids = m.ids();
            List<Appliance> triad = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Vertx v = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
                vertxes.add(v);
                JsonObject cfg = bigPool("triad-" + ids[i], 0).put("triad", m.section(i, dir.resolve(ids[i]))
                        .put("fsync", Boolean.parseBoolean(System.getProperty("triad.bench.fsync", "true"))));
                Appliance a = TriadAppliancesTest.await(Appliance.start(v, cfg));
                client[i] = a.tcpPort();
                triad.add(a);
                nodes.add(a.triadNode());
            }
            TriadAppliancesTest.until("a leader", () -> nodes.stream().anyMatch(n -> n.isLeader() && n.quorumVisible()));
            String leader = "";
            for (int i = 0; i < 3; i++) {
                if (nodes.get(i).isLeader()) {
                    leader = "127.0.0.1:" + client[i];
                }
            }
            double triadRate = run(List.of(leader));
            for (TriadNode n : nodes) {
                if (n.isLeader()) {
                    System.out.println("triad figure: the leader's group commit: " + n.statusJson().getJsonObject("group_commit")
                            + " (commands / entries = the mean batch)");
                }
            }
            System.out.printf("triad figure: checkout+checkin cycles/s, %d SDK threads, %d s each, nproc=%d: single %.0f, "
                    + "triad leader %.0f, ratio %.2f (fsync %s)%n", THREADS, SECONDS, Runtime.getRuntime().availableProcessors(),
                    singleRate, triadRate, triadRate / singleRate, System.getProperty("triad.bench.fsync", "true"));
        } finally {
            for (TriadNode n : nodes) {
                n.close();
            }
            for (Vertx v : vertxes) {
                TriadAppliancesTest.await(v.close());
            }
        }
    }

    static JsonObject bigPool(String id, int port) {
        JsonObject c = TriadAppliancesTest.baseConfig(id, port);
        c.getJsonArray("entitlements").getJsonObject(0).getJsonObject("policy").put("max_seats", 10_000);
        return c;
    }

    static double run(List<String> servers) throws Exception {
        AtomicLong cycles = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        List<TurnstileClient> clients = new ArrayList<>();
        long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        long end = warmEnd + TimeUnit.SECONDS.toNanos(SECONDS);
        for (int t = 0; t < THREADS; t++) {
            TurnstileClient c = TurnstileClient.builder().servers(servers).clientId("bench-" + t).hwId("hw-bench-" + t)
                    .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(5))
                    .build();
            clients.add(c);
            Thread th = new Thread(() -> {
                for (long n = 0; n < 10_000_000 && System.nanoTime() < end; n++) {
                    Lease l = c.checkout("cad-pro");
                    c.checkin(l);
                    if (System.nanoTime() > warmEnd) {
                        cycles.incrementAndGet();
                    }
                }
            });
            th.start();
            threads.add(th);
        }
        for (Thread th : threads) {
            th.join(60_000);
        }
        for (TurnstileClient c : clients) {
            c.close();
        }
        return cycles.get() / (double) SECONDS;
    }
}
