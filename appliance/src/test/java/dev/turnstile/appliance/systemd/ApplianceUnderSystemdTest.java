package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Starts the real appliance in a child JVM the way {@code systemd/turnstile.service} does
 * ({@code java $JAVA_GC $JAVA_CRASH $JAVA_OPTS ... run --config FILE}, flags read from
 * {@code systemd/turnstile.env}), with {@code NOTIFY_SOCKET} pointing at a socket this test
 * listens on, and checks what a service manager would see.
 *
 * <p>By default the child runs {@code dev.turnstile.appliance.Main} from the test class path (in
 * {@code mvn test} the jar is not packaged yet); {@code -Dturnstile.applianceJar=PATH} runs
 * {@code java -jar PATH} instead, exactly as ExecStart does.
 *
 * <p>Nothing here fails on timing: every wait is for a datagram, bounded by a generous deadline,
 * and the watchdog assertion counts datagrams between two markers the appliance itself sends.
 */
@Tag("slow") // an appliance process under a fake service manager
class ApplianceUnderSystemdTest {

    /** The unit's WatchdogSec= shrunk for the test: 1 s. */
    private static final long WATCHDOG_USEC = 1_000_000;
    /** The test hook blocks one event loop this long after READY=1, for this long. */
    private static final long BLOCK_AFTER_MS = 3_000;
    private static final long BLOCK_FOR_MS = 4_000;
    /**
     * Pings that may still go out once a loop is blocked: the loop counts as stuck after
     * WATCHDOG_USEC / 2 = 500 ms, pings are at least 125 ms apart (a quarter interval / 2), so at
     * most 5 in that window, plus one decided just before the block. Unblocked, the 4 s would
     * carry about 16.
     */
    private static final long MAX_PINGS_WHILE_BLOCKED = 6;
    private static final Duration START = Duration.ofSeconds(90);
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Pattern TCP = Pattern.compile("tcp [^ ,]+:(\\d+)");
    private static final Pattern HTTP = Pattern.compile("http [^ ,]+:(\\d+)");

    private static final Predicate<NotifySocket.Datagram> READY = d -> d.has("READY=1");
    private static final Predicate<NotifySocket.Datagram> PING = d -> d.has("WATCHDOG=1");

    @Test
    @DisplayName("started like ExecStart: READY=1 only once the ports listen, pings stop while an event loop is blocked, "
            + "SIGHUP reloads, SIGTERM gives STOPPING=1 and exit 0")
    void the_appliance_tells_systemd_the_truth(@TempDir Path dir) throws Exception {
        // GIVEN a service manager's notify socket and a configuration with ports chosen at run time
        Path config = dir.resolve("turnstile.yaml");
        Files.writeString(config, yaml("info"));
        Path log = dir.resolve("appliance.log");
        try (NotifySocket manager = NotifySocket.inDirectory(dir)) {
            ProcessBuilder pb = new ProcessBuilder(command(dir, config))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("TURNSTILE_") || k.startsWith("WATCHDOG_") || k.equals("NOTIFY_SOCKET"));
            env.put("NOTIFY_SOCKET", manager.name());
            env.put("WATCHDOG_USEC", Long.toString(WATCHDOG_USEC));
            env.put(SystemdService.ENV_TEST_BLOCK_AFTER_MS, Long.toString(BLOCK_AFTER_MS));
            env.put(SystemdService.ENV_TEST_BLOCK_FOR_MS, Long.toString(BLOCK_FOR_MS));
            Process p = pb.start();
            try {
                // WHEN it has started
                int ready = awaitAlive(manager, 0, READY, START, p, log);
                assertTrue(ready >= 0, "no READY=1 within " + START + "\n" + tail(log));
                // THEN both ports accept connections the moment READY=1 is there
                String status = manager.all().get(ready).text();
                assertConnects(port(TCP, status, log), "TCP", log);
                assertConnects(port(HTTP, status, log), "HTTP", log);
                assertEquals(1, manager.all().stream().filter(READY).count(), "READY=1 before start-up finished");

                // AND WATCHDOG=1 keeps arriving while every event loop runs
                int blocked = manager.awaitIndex(ready, d -> d.hasPrefix("STATUS=" + SystemdService.STATUS_TEST_BLOCKING), WAIT);
                assertTrue(blocked > 0, "the test hook never blocked a loop\n" + tail(log));
                long pingsBefore = manager.countBetween(ready, blocked, PING);
                assertTrue(pingsBefore >= 2, pingsBefore + " pings in the " + BLOCK_AFTER_MS + " ms before the block");

                // WHEN one event loop is blocked
                int unblocked = manager.awaitIndex(blocked, d -> d.hasPrefix("STATUS=" + SystemdService.STATUS_TEST_UNBLOCKED), WAIT);
                assertTrue(unblocked > 0, "the blocked loop never came back\n" + tail(log));
                // THEN the pings stop (systemd would restart the service)
                long pingsDuring = manager.countBetween(blocked, unblocked, PING);
                assertTrue(pingsDuring <= MAX_PINGS_WHILE_BLOCKED,
                        pingsDuring + " pings while an event loop was blocked for " + BLOCK_FOR_MS + " ms: " + manager.all());
                System.out.printf("watchdog: %d pings in the %d ms before the block, %d while a loop was blocked for %d ms%n",
                        pingsBefore, BLOCK_AFTER_MS, pingsDuring, BLOCK_FOR_MS);
                // AND they come back once it runs again
                int resumed = manager.awaitIndex(unblocked, PING, WAIT);
                assertTrue(resumed > 0 && manager.awaitIndex(resumed + 1, PING, WAIT) > 0, "pings did not resume");

                // WHEN the configuration is reloaded (systemctl reload: SIGHUP)
                int reloaded = reload(manager, p);
                // THEN RELOADING=1 is followed by READY=1 saying so, and the sockets stayed up
                assertTrue(manager.all().get(reloaded).hasPrefix("STATUS=" + status.lines()
                        .filter(l -> l.startsWith("STATUS=")).findFirst().orElseThrow().substring(7) + "; reloaded"),
                        manager.all().get(reloaded).text());
                // WHEN the file is broken and reloaded again
                Files.writeString(config, yaml("loud"));
                int failed = reload(manager, p);
                // THEN the appliance says the reload failed and keeps serving
                assertTrue(manager.all().get(failed).text().contains("reload failed"), manager.all().get(failed).text());
                assertConnects(port(TCP, status, log), "TCP after a failed reload", log);

                // WHEN systemd stops the service (SIGTERM)
                p.destroy();
                // THEN STOPPING=1 arrives and the JVM exits with status 0
                int stopping = manager.awaitIndex(failed, d -> d.has("STOPPING=1"), WAIT);
                assertTrue(stopping > 0, "no STOPPING=1\n" + tail(log));
                assertTrue(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "did not exit after SIGTERM\n" + tail(log));
                assertEquals(0, p.exitValue(), tail(log));
                assertTrue(Files.exists(dir.resolve("gc.log")), "the unit's GC log flags took no effect");
            } finally {
                if (p.isAlive()) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** {@link NotifySocket#awaitIndex}, but fails at once, with the output, if the appliance exits. */
    private static int awaitAlive(NotifySocket manager, int from, Predicate<NotifySocket.Datagram> match, Duration timeout,
                                  Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            int i = manager.awaitIndex(from, match, Duration.ofMillis(500));
            if (i >= 0) {
                return i;
            }
            if (!p.isAlive()) {
                fail("the appliance exited with status " + p.exitValue() + "\n" + tail(log));
            }
        }
        return -1;
    }

    /** Sends SIGHUP; returns the index of the READY=1 that follows RELOADING=1. */
    private static int reload(NotifySocket manager, Process p) throws Exception {
        int from = manager.all().size() - 1;
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -HUP failed");
        int reloading = manager.awaitIndex(from, d -> d.has("RELOADING=1") && d.hasPrefix("MONOTONIC_USEC="), WAIT);
        assertTrue(reloading > 0, "no RELOADING=1 after SIGHUP");
        int ready = manager.awaitIndex(reloading, READY, WAIT);
        assertTrue(ready > 0, "no READY=1 after RELOADING=1");
        return ready;
    }

    /** java, the unit's JVM flags from turnstile.env (paths moved into {@code dir}), then the appliance. */
    private static List<String> command(Path dir, Path config) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Map<String, String> env = envFile(Path.of("..", "systemd", "turnstile.env"));
        // A small fixed heap instead of a share of this shared machine's memory.
        cmd.add("-Xmx256m");
        for (String var : new String[] {"JAVA_GC", "JAVA_CRASH", "JAVA_OPTS"}) {
            for (String flag : env.getOrDefault(var, "").trim().split("\\s+")) {
                if (!flag.isEmpty()) {
                    cmd.add(flag.replace("/var/log/turnstile", dir.toString())
                            .replace("/var/lib/turnstile", dir.toString()));
                }
            }
        }
        String jar = System.getProperty("turnstile.applianceJar", "");
        if (!jar.isBlank()) {
            cmd.add("-jar");
            cmd.add(jar);
        } else {
            cmd.add("-cp");
            cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
            cmd.add("dev.turnstile.appliance.Main");
        }
        cmd.add("run");
        cmd.add("--config");
        cmd.add(config.toString());
        return cmd;
    }

    /** The plain VAR="value" lines of an EnvironmentFile (all turnstile.env uses). */
    static Map<String, String> envFile(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String l = line.trim();
            int eq = l.indexOf('=');
            if (l.isEmpty() || l.startsWith("#") || l.startsWith(";") || eq <= 0) {
                continue;
            }
            String v = l.substring(eq + 1).trim();
            if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                v = v.substring(1, v.length() - 1);
            }
            out.put(l.substring(0, eq).trim(), v);
        }
        return out;
    }

    private static String yaml(String rootLevel) {
        return """
                server:
                  id: "systemd-test"
                  host: "127.0.0.1"
                  port: 0
                  event_loops: 2
                  heartbeat_interval: "1s"
                  lease_timeout: "3s"
                  drain_timeout: "1s"
                clients:
                  min_version: "1.0.0"
                http:
                  enabled: true
                  host: "127.0.0.1"
                  port: 0
                  read_open: true
                logging:
                  levels:
                    root: "%s"
                entitlements:
                  - entitlement_id: "ent-cad"
                    tenant_id: "acme"
                    product_id: "cad-pro"
                    policy: { type: "concurrent", max_seats: 3, enforcement: "seats" }
                    starts_at: "2026-01-01T00:00:00Z"
                    ends_at: "2030-01-01T00:00:00Z"
                """.formatted(rootLevel);
    }

    private static int port(Pattern p, String status, Path log) throws IOException {
        Matcher m = p.matcher(status);
        if (!m.find()) {
            fail("no " + p + " in the READY=1 datagram: " + status + "\n" + tail(log));
        }
        return Integer.parseInt(m.group(1));
    }

    private static void assertConnects(int port, String what, Path log) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        } catch (IOException e) {
            fail(what + " port " + port + " does not accept connections although READY=1 was sent: " + e + "\n" + tail(log));
        }
    }

    private static String tail(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "(no output)";
        }
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return "--- appliance output (last 40 lines) ---\n"
                + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
