package dev.turnstile.appliance.triad;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Three appliance processes ({@code dev.turnstile.appliance.Main run --config}, the test class path) forming a
 * triad on loopback. Members live on 127.0.0.1, .2 and .3 when this machine can bind those (Linux routes all of
 * 127.0.0.0/8 to lo), else all on 127.0.0.1 with distinct ports. Every port a member binds is 0: it writes what it
 * bound to its ports file ({@code run --ports-file}), and the members find each other's raft ports through a shared
 * {@code triad.discovery_dir}. Clients reach member i through a proxy this cluster holds ({@link #clientPorts}, bound
 * on port 0 before the members start, forwarding to the port in the member's ports file), named as the member's
 * client address in every configuration: so a client's server list and the WELCOME peers stay valid when a restarted
 * member binds another port. Faults: {@link #kill} (SIGKILL), {@link #stop} / {@link #cont} (SIGSTOP / SIGCONT),
 * {@link #restart} (same configuration and state directory: the member catches up from its Raft log / snapshot);
 * with {@link #startBehindProxy}, a partition ({@link DroppingTcpProxy#cut} on the proxy the test holds).
 * Each member's output goes to {@code <dir>/<id>.log} (appended across restarts). Every wait is bounded.
 */
final class TriadProcessCluster implements AutoCloseable {
    static final String[] IDS = {"a", "b", "c"};

    final Path dir;
    final String[] hosts = new String[3];
    /** The ports of the client proxies (what clients connect to); each member's own port is in its ports file. */
    final int[] clientPorts = new int[3];
    private final DroppingTcpProxy clientProxy = new DroppingTcpProxy(); // never cut
    /** The proxy the members' triad traffic runs through ({@link #startBehindProxy}), or null. */
    final DroppingTcpProxy net;
    final int[] httpPorts = new int[3];
    final Path[] configFiles = new Path[3];
    final Process[] procs = new Process[3];
    private final boolean[] stopped = new boolean[3];
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    /** Writes the three configurations and starts the three processes; waits (bounded) until each listens. */
    static TriadProcessCluster start(Path dir, int maxSeats) throws Exception {
        return start(dir, maxSeats, cfg -> { });
    }

    /** As {@link #start(Path, int)}; {@code tweak} may change each member's configuration before it is written. */
    static TriadProcessCluster start(Path dir, int maxSeats, java.util.function.Consumer<JsonObject> tweak)
            throws Exception {
        return start(new TriadProcessCluster(dir, maxSeats, tweak, null));
    }

    /**
     * As {@link #start(Path, int)}, but the members' JGroups traffic runs through {@code net} (a
     * {@link DroppingTcpProxy} in this JVM, as in {@link TriadPartitionTest}): member i binds 127.0.0.(2+i) for
     * everything (client, HTTP status, raft, FD_SOCK2, outgoing connections) and advertises ({@code raft_advertise})
     * a proxy port on 127.0.0.1; its FD_SOCK2 port (advertised + 100) is proxied too, and {@code net.source} names
     * its address, so {@code net.cut(id, mode)} cuts member id off from the other two. Clients (and the HTTP status
     * probes) reach the members directly, not through the proxy. Needs 127.0.0.2-4 bindable ({@link #canBindProxied}).
     */
    static TriadProcessCluster startBehindProxy(Path dir, int maxSeats, DroppingTcpProxy net) throws Exception {
        return startBehindProxy(dir, maxSeats, cfg -> { }, net);
    }

    /** As {@link #startBehindProxy(Path, int, DroppingTcpProxy)}, with {@code tweak} as in {@link #start(Path, int,
     * java.util.function.Consumer)}. */
    static TriadProcessCluster startBehindProxy(Path dir, int maxSeats, java.util.function.Consumer<JsonObject> tweak,
                                                DroppingTcpProxy net) throws Exception {
        return start(new TriadProcessCluster(dir, maxSeats, tweak, net));
    }

    /** Whether {@link #startBehindProxy} can run here (127.0.0.2, .3 and .4 bindable). */
    static boolean canBindProxied() {
        return canBind("127.0.0.2") && canBind("127.0.0.3") && canBind("127.0.0.4");
    }

    private static TriadProcessCluster start(TriadProcessCluster c) throws Exception {
        try {
            for (int i = 0; i < 3; i++) {
                c.launch(i);
            }
            for (int i = 0; i < 3; i++) {
                c.awaitListening(i, 60_000);
            }
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private TriadProcessCluster(Path dir, int maxSeats, java.util.function.Consumer<JsonObject> tweak,
                                DroppingTcpProxy net) throws IOException {
        this.dir = dir;
        this.net = net;
        boolean distinct = canBind("127.0.0.2") && canBind("127.0.0.3");
        JsonArray members = new JsonArray();
        Path discovery = dir.resolve("discovery");
        for (int i = 0; i < 3; i++) {
            hosts[i] = net != null ? "127.0.0." + (i + 2) : distinct ? "127.0.0." + (i + 1) : "127.0.0.1";
            InetAddress self = InetAddress.getByName(hosts[i]);
            int m = i;
            clientPorts[i] = clientProxy.listen("client-" + IDS[i], new InetSocketAddress(self, 0), () -> {
                int port = boundPort(m, "client");
                return port > 0 ? new InetSocketAddress(self, port) : null;
            });
            httpPorts[i] = 0; // port 0: read from the member's ports file
            JsonObject member = new JsonObject().put("id", IDS[i]).put("raft", hosts[i] + ":0")
                    .put("client", hosts[i] + ":" + clientPorts[i]);
            if (net != null) {
                net.source(IDS[i], self);
                member.put("raft_advertise", "127.0.0.1:" + TriadPartitionTest.proxyRaft(net, IDS[i], self, discovery));
            }
            members.add(member);
        }
        for (int i = 0; i < 3; i++) {
            JsonObject cfg = TriadAppliancesTest.baseConfig("proc-" + IDS[i], 0);
            cfg.getJsonObject("server").put("host", hosts[i]);
            cfg.getJsonArray("entitlements").getJsonObject(0).getJsonObject("policy").put("max_seats", maxSeats);
            cfg.put("http", new JsonObject().put("enabled", true).put("host", hosts[i]).put("port", 0)
                    .put("read_open", true)); // the tests read /v1/status without a token
            cfg.put("triad", new JsonObject()
                    .put("enabled", true).put("self", IDS[i]).put("members", members)
                    .put("state_dir", dir.resolve(IDS[i]).toString()).put("discovery_dir", discovery.toString()));
            tweak.accept(cfg);
            configFiles[i] = dir.resolve(IDS[i] + ".yaml");
            Files.writeString(configFiles[i], cfg.encodePrettily(), StandardCharsets.UTF_8); // JSON is YAML
        }
    }

    static boolean canBind(String host) {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A port member i bound ({@code client}, {@code http}, {@code raft}) from its ports file, or 0 while it has none. */
    int boundPort(int i, String listener) {
        Path f = portsFile(i);
        if (!Files.exists(f)) {
            return 0;
        }
        try {
            return dev.turnstile.testsupport.Ports.read(f).getOrDefault(listener, 0);
        } catch (RuntimeException notYet) {
            return 0;
        }
    }

    private void launch(int i) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx160m");
        cmd.add("-XX:+UseSerialGC");
        String extra = System.getProperty("triad.member.jvm.args", "").trim(); // e.g. a logback file, for debugging
        if (!extra.isEmpty()) {
            cmd.addAll(List.of(extra.split("\\s+")));
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add("dev.turnstile.appliance.Main");
        cmd.add("run");
        cmd.add("--config");
        cmd.add(configFiles[i].toString());
        cmd.add("--ports-file");
        cmd.add(portsFile(i).toString());
        Files.deleteIfExists(portsFile(i)); // the last run's ports are not this run's
        httpPorts[i] = 0;
        procs[i] = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile(i).toFile())).start();
        stopped[i] = false;
    }

    /** Member i's ports file: written by the member once its client, HTTP and raft listeners are bound. */
    Path portsFile(int i) {
        return dir.resolve(IDS[i] + ".ports.json");
    }

    /** Waits (at most {@code ms}) until member i has bound its listeners (its ports file is there). */
    void awaitListening(int i, long ms) {
        if (procs[i] == null) {
            throw new AssertionError("member " + IDS[i] + " was not started");
        }
        java.util.Map<String, Integer> ports = dev.turnstile.testsupport.Ports.awaitFile(portsFile(i), procs[i],
                Duration.ofMillis(ms), () -> "member " + IDS[i] + "; see " + logFile(i));
        httpPorts[i] = ports.get("http");
    }

    /** Member i's HTTP port: from its ports file, or 0 while it has not written one. */
    private int httpPort(int i) {
        if (httpPorts[i] == 0 && Files.exists(portsFile(i))) {
            httpPorts[i] = dev.turnstile.testsupport.Ports.read(portsFile(i)).getOrDefault("http", 0);
        }
        return httpPorts[i];
    }

    /** Whether member i accepts client connections (on the port it bound, not through its proxy). */
    boolean listening(int i) {
        int port = boundPort(i, "client");
        if (port == 0) {
            return false;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hosts[i], port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ faults

    /** SIGKILL, and waits (bounded) for the process to be gone. */
    void kill(int i) throws InterruptedException {
        Process p = procs[i];
        if (p == null) {
            return;
        }
        p.destroyForcibly(); // SIGKILL on Linux
        p.waitFor(10, TimeUnit.SECONDS);
        stopped[i] = false;
    }

    /** SIGSTOP: the process hangs; its sockets stay open. */
    void stop(int i) throws Exception {
        signal(procs[i], "STOP");
        stopped[i] = true;
    }

    /** SIGCONT after {@link #stop}. */
    void cont(int i) throws Exception {
        signal(procs[i], "CONT");
        stopped[i] = false;
    }

    /** Kills member i if it still runs, then starts it again with the same configuration and state directory. */
    void restart(int i) throws Exception {
        if (stopped[i]) {
            cont(i);
        }
        if (alive(i)) {
            kill(i);
        }
        launch(i);
        awaitListening(i, 60_000);
    }

    /** Starts member i again after {@link #kill}, without waiting for it to listen. */
    void relaunch(int i) throws IOException {
        launch(i);
    }

    static void signal(Process p, String sig) throws Exception {
        if (p == null) {
            return;
        }
        new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
    }

    boolean alive(int i) {
        return procs[i] != null && procs[i].isAlive();
    }

    boolean isStopped(int i) {
        return stopped[i];
    }

    // ------------------------------------------------------------------ what the members say

    /** GET /v1/status of member i, or null (killed, stopped, not up yet, or slower than 1 s). */
    JsonObject status(int i) {
        if (!alive(i) || stopped[i]) {
            return null;
        }
        int port = httpPort(i);
        if (port == 0) {
            return null; // not up yet
        }
        try {
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + hosts[i] + ":" + port + "/v1/status"))
                    .timeout(Duration.ofSeconds(1)).GET().build();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? new JsonObject(r.body()) : null;
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The {@code triad} object of member i's status, or null. */
    JsonObject triad(int i) {
        JsonObject s = status(i);
        return s == null ? null : s.getJsonObject("triad");
    }

    /**
     * The member that says it is leader with a quorum (the highest term if two say so, e.g. a resumed stale
     * leader), or -1.
     */
    int leaderIndex() {
        int best = -1;
        long bestTerm = -1;
        for (int i = 0; i < 3; i++) {
            JsonObject t = triad(i);
            if (t != null && "leader".equals(t.getString("role")) && Boolean.TRUE.equals(t.getBoolean("quorum"))
                    && t.getLong("term", 0L) > bestTerm) {
                best = i;
                bestTerm = t.getLong("term", 0L);
            }
        }
        return best;
    }

    /** Waits (at most {@code ms}) for {@link #leaderIndex()}; -1 if none. */
    int awaitLeader(long ms) {
        try {
            return dev.turnstile.testsupport.Wait.forValue("a leader with quorum", Duration.ofMillis(ms),
                    this::leaderIndex, l -> l >= 0);
        } catch (AssertionError none) {
            return -1; // the callers say what they expected
        }
    }

    /** Member i's applied index, or -1 when it does not answer. */
    long appliedIndex(int i) {
        JsonObject t = triad(i);
        return t == null ? -1 : t.getLong("applied_index", -1L);
    }

    // ------------------------------------------------------------------ addresses

    List<String> clientAddresses() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            out.add(clientAddress(i));
        }
        return out;
    }

    String clientAddress(int i) {
        return hosts[i] + ":" + clientPorts[i];
    }

    /** The member whose client address is {@code server} (host:port), or -1. */
    int indexOf(String server) {
        for (int i = 0; i < 3; i++) {
            if (server.equals(clientAddress(i))) {
                return i;
            }
        }
        return -1;
    }

    Path logFile(int i) {
        return dir.resolve(IDS[i] + ".log");
    }

    @Override
    public void close() {
        clientProxy.close();

        for (int i = 0; i < 3; i++) {
            Process p = procs[i];
            if (p != null) {
                p.destroyForcibly(); // SIGKILL works on a stopped process too
            }
        }
        for (Process p : procs) {
            if (p != null) {
                try {
                    p.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (net != null) {
            net.close(); // the triad's proxy goes with the triad (closing it twice is harmless)
        }
    }
}
