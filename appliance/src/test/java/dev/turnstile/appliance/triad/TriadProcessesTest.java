package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.Lease;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three appliance processes on loopback (ports chosen at run time), the leader killed with SIGKILL, a Java SDK
 * client configured with all three addresses.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TriadProcessesTest {
    @TempDir
    Path dir;
    final Process[] procs = new Process[3];
    final int[] clientPorts = new int[3];
    final List<TurnstileClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() {
        for (TurnstileClient c : clients) {
            c.close();
        }
        for (Process p : procs) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    void start() throws Exception {
        start(TriadAppliancesTest.SEATS);
    }

    void start(int seats) throws Exception {
        String[] ids = {"a", "b", "c"};
        JsonArray members = new JsonArray();
        for (int i = 0; i < 3; i++) {
            clientPorts[i] = TriadFixture.freePort();
            members.add(new JsonObject().put("id", ids[i]).put("raft", "127.0.0.1:" + TriadFixture.freePort())
                    .put("client", "127.0.0.1:" + clientPorts[i]));
        }
        for (int i = 0; i < 3; i++) {
            JsonObject cfg = TriadAppliancesTest.baseConfig("proc-" + ids[i], clientPorts[i]);
            cfg.getJsonArray("entitlements").getJsonObject(0).getJsonObject("policy").put("max_seats", seats);
            cfg.put("triad", new JsonObject()
                    .put("enabled", true).put("self", ids[i]).put("members", members)
                    .put("state_dir", dir.resolve(ids[i]).toString()));
            Path file = dir.resolve(ids[i] + ".yaml");
            Files.writeString(file, cfg.encodePrettily(), StandardCharsets.UTF_8); // JSON is YAML
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx160m");
            cmd.add("-XX:+UseSerialGC");
            cmd.add("-cp");
            cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
            cmd.add("dev.turnstile.appliance.Main");
            cmd.add("run");
            cmd.add("--config");
            cmd.add(file.toString());
            procs[i] = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve(ids[i] + ".log").toFile()).start();
        }
        for (int i = 0; i < 3; i++) {
            int port = clientPorts[i];
            TriadAppliancesTest.until("member " + i + " listens", () -> listening(port));
        }
    }

    static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    TurnstileClient client(String id, TriadAppliancesTest.Events events) {
        List<String> servers = new ArrayList<>();
        for (int p : clientPorts) {
            servers.add("127.0.0.1:" + p);
        }
        return client(id, events, servers);
    }

    TurnstileClient client(String id, TriadAppliancesTest.Events events, List<String> servers) {
        TurnstileClient c = TurnstileClient.builder().servers(servers).clientId(id).hwId("hw-" + id)
                .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(4))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(300), 0.2).listener(events).build();
        clients.add(c);
        return c;
    }

    int indexOf(String server) {
        for (int i = 0; i < 3; i++) {
            if (server.endsWith(":" + clientPorts[i])) {
                return i;
            }
        }
        return -1;
    }

    @Test
    @DisplayName("GIVEN three appliance processes WHEN the leader is killed with SIGKILL THEN another grants within seconds, the client keeps its lease id, and a lone survivor grants nothing")
    void a_killed_leader_process_is_replaced_and_the_lease_survives() throws Exception {
        start();
        TriadAppliancesTest.Events events = new TriadAppliancesTest.Events();
        TurnstileClient client = client("p1", events);
        Lease lease = null;
        for (int attempt = 0; attempt < 100 && lease == null; attempt++) { // until a leader is elected
            try {
                lease = client.checkout("cad-pro");
            } catch (TurnstileException e) {
                Thread.sleep(100);
            }
        }
        assertTrue(lease != null, "a grant from the triad");
        final java.util.UUID id = lease.id();
        int leader = indexOf(client.session().orElseThrow().server());
        Thread.sleep(500); // let the followers apply it

        long killedAt = System.nanoTime();
        procs[leader].destroyForcibly(); // SIGKILL
        TurnstileClient probe = client("p2", new TriadAppliancesTest.Events());
        boolean granted = false;
        for (int attempt = 0; attempt < 200 && !granted; attempt++) {
            try {
                probe.checkout("cad-pro");
                granted = true;
            } catch (TurnstileException e) {
                Thread.sleep(20);
            }
        }
        long firstGrantMs = (System.nanoTime() - killedAt) / 1_000_000;
        assertTrue(granted, "a new leader grants");
        System.out.printf("triad figure: leader process SIGKILLed -> first grant on the new leader after %d ms (nproc=%d)%n",
                firstGrantMs, Runtime.getRuntime().availableProcessors());
        TriadAppliancesTest.until("lease moved with its id", () -> events.moved.contains(id));
        assertTrue(client.leases().stream().anyMatch(l -> l.id().equals(id)));

        // WHEN a second member dies THEN the survivor grants nothing and says noQuorum
        int next = indexOf(probe.session().orElseThrow().server());
        procs[next].destroyForcibly();
        TurnstileClient lone = client("p3", new TriadAppliancesTest.Events());
        ErrorCode refused = null;
        for (int attempt = 0; attempt < 50 && refused != ErrorCode.NO_QUORUM; attempt++) {
            try {
                lone.checkout("cad-pro");
                refused = ErrorCode.OK;
            } catch (TurnstileException e) {
                refused = e.errorCode();
                Thread.sleep(100);
            }
        }
        assertEquals(ErrorCode.NO_QUORUM, refused);
    }

    static void signal(Process p, String sig) throws Exception {
        new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("GIVEN a one-seat pool WHEN the leader is paused (SIGSTOP), another takes the seat, and the old leader resumes (SIGCONT) with a client waiting on it THEN the old leader never grants")
    void a_paused_leader_that_resumes_never_grants() throws Exception {
        start(1);
        TurnstileClient first = client("s0", new TriadAppliancesTest.Events());
        Lease lease = null;
        for (int attempt = 0; attempt < 100 && lease == null; attempt++) {
            try {
                lease = first.checkout("cad-pro");
            } catch (TurnstileException e) {
                Thread.sleep(100);
            }
        }
        assertTrue(lease != null, "a grant from the triad");
        int leader = indexOf(first.session().orElseThrow().server());
        first.checkin(lease); // the seat is free again
        first.close();

        long stoppedAt = System.nanoTime();
        signal(procs[leader], "STOP");
        List<String> others = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            if (i != leader) {
                others.add("127.0.0.1:" + clientPorts[i]);
            }
        }
        TurnstileClient taker = client("s1", new TriadAppliancesTest.Events(), others);
        Lease taken = null;
        for (int attempt = 0; attempt < 300 && taken == null; attempt++) {
            try {
                taken = taker.checkout("cad-pro");
            } catch (TurnstileException e) {
                Thread.sleep(20);
            }
        }
        long hungMs = (System.nanoTime() - stoppedAt) / 1_000_000;
        assertTrue(taken != null, "a new leader grants the only seat");
        System.out.printf("triad figure: leader process SIGSTOPped -> first grant on the new leader after %d ms (nproc=%d)%n",
                hungMs, Runtime.getRuntime().availableProcessors());

        // a client that talks only to the paused leader: its HELLO and CHECKOUT wait in the socket buffer
        TurnstileClient stale = client("s2", new TriadAppliancesTest.Events(),
                List.of("127.0.0.1:" + clientPorts[leader]));
        java.util.concurrent.CompletableFuture<Lease> staleAnswer = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> stale.checkout("cad-pro"));
        Thread.sleep(300);
        signal(procs[leader], "CONT");
        Lease staleLease = null;
        try {
            staleLease = staleAnswer.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            System.out.println("triad: the resumed old leader refused: " + e.getCause());
        }
        assertEquals(null, staleLease, "the only seat is held elsewhere; the resumed leader must not grant it");
    }
}
