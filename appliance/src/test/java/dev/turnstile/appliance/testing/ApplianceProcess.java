package dev.turnstile.appliance.testing;

import dev.turnstile.testsupport.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The appliance as its own process ({@code java -cp <the test class path> dev.turnstile.appliance.Main run --config
 * FILE --ports-file FILE}), its output appended to a log file. Configure {@code server.port: 0} (and {@code http.port:
 * 0}): {@link #start} waits for the ports file the appliance writes once every listener is bound, so no port is picked
 * by the test and bound a moment later by the appliance.
 */
public final class ApplianceProcess implements AutoCloseable {
    public static final Duration START = Duration.ofSeconds(90);

    private final Process process;
    private final Path log;
    private final Map<String, Integer> ports;

    private ApplianceProcess(Process process, Path log, Map<String, Integer> ports) {
        this.process = process;
        this.log = log;
        this.ports = ports;
    }

    /** Starts the appliance on {@code config}; JVM options first, then {@code env} may edit the environment. */
    public static ApplianceProcess start(Path config, Path log, List<String> jvmOptions,
            Consumer<Map<String, String>> env) throws IOException {
        Path portsFile = log.resolveSibling(log.getFileName() + ".ports." + System.nanoTime() + ".json");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add("dev.turnstile.appliance.Main");
        cmd.add("run");
        cmd.add("--config");
        cmd.add(config.toString());
        cmd.add("--ports-file");
        cmd.add(portsFile.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("TURNSTILE_") || k.equals("NOTIFY_SOCKET"));
        env.accept(pb.environment());
        Process p = pb.start();
        try {
            return new ApplianceProcess(p, log, Ports.awaitFile(portsFile, p, START, () -> tail(log, 60)));
        } catch (RuntimeException | Error e) {
            p.destroyForcibly();
            throw e;
        }
    }

    public static ApplianceProcess start(Path config, Path log) throws IOException {
        return start(config, log, List.of("-Xmx256m"), e -> { });
    }

    /** The client (TCP) port it bound. */
    public int clientPort() {
        return ports.get("client");
    }

    /** The HTTP port it bound (the HTTP server must be enabled). */
    public int httpPort() {
        Integer p = ports.get("http");
        if (p == null) {
            throw new IllegalStateException("no http port in the ports file: " + ports);
        }
        return p;
    }

    public Map<String, Integer> ports() {
        return ports;
    }

    public Process process() {
        return process;
    }

    /** The last {@code n} lines of the log. */
    public String tail(int n) {
        return tail(log, n);
    }

    static String tail(Path log, int n) {
        try {
            if (!Files.exists(log)) {
                return "(no output)";
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGKILL, as a crash; waits (at most 10 s) for the exit. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM (a drain), then SIGKILL if it is still there after 20 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
