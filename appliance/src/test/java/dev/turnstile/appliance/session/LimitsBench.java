package dev.turnstile.appliance.session;

import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Figures for issue 12, findings 3 and 11 (a bench, not a test: it prints, it asserts nothing).
 * Runs the appliance jar as its own process ({@code -Xmx1g}, as the finding did) so that its
 * descriptors and the load generator's count separately; the squatters run in two more processes
 * of 10,000 sockets each, below this machine's limit of 20,000 descriptors per process.
 *
 * <pre>
 * java -cp appliance/target/turnstile-appliance-all.jar:appliance/target/test-classes \
 *     dev.turnstile.appliance.session.LimitsBench JAR [squat|spread|park|guess]...
 * </pre>
 *
 * <ul>
 *   <li>squat: 2 x 10,000 connections from 127.0.0.1 send preamble and HELLO and then nothing; meanwhile
 *       a client from 127.0.0.2 connects and checks out (time to GRANTED) and GET /v1/status is timed.</li>
 *   <li>spread: the same 20,000 silent sessions from 40 addresses (127.0.1.1 ..), so the global cap and
 *       idle eviction are what is tested; the client comes after the squatters have been idle 12 s.</li>
 *   <li>park: 15,000 connections (30 addresses, 500 each) each park a 64 KB incomplete frame; peak heap
 *       from the appliance's GC log.</li>
 *   <li>guess: one client at 127.0.0.1 sends wrong HELLO tokens as fast as it can for 10 s; tokens
 *       actually checked per second, and a client at 127.0.0.2 with the right token meanwhile.</li>
 * </ul>
 */
public final class LimitsBench {
    private static final Pattern TCP = Pattern.compile("Turnstile \\S+ listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern HTTP = Pattern.compile("HTTP listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern GC = Pattern.compile("(\\d+)M->(\\d+)M\\((\\d+)M\\)");
    private static final String TOKEN = "bench-right-token";

    private LimitsBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("generator")) {
            generator(args);
            return;
        }
        String jar = args[0];
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "squat" -> squat(jar, false);
                case "spread" -> squat(jar, true);
                case "park" -> park(jar);
                case "guess" -> guess(jar);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
    }

    // ------------------------------------------------------------------ the appliance process

    private record Appliance(Process process, int tcpPort, int httpPort, Path dir) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }

        String log() throws IOException {
            return Files.readString(dir.resolve("appliance.log"));
        }

        /** Largest heap before and after a collection, in MiB, from -Xlog:gc. */
        int[] heapPeakMiB() throws IOException {
            int before = 0;
            int after = 0;
            Matcher m = GC.matcher(Files.readString(dir.resolve("gc.log")));
            while (m.find()) {
                before = Math.max(before, Integer.parseInt(m.group(1)));
                after = Math.max(after, Integer.parseInt(m.group(2)));
            }
            return new int[] {before, after};
        }
    }

    private static Appliance start(String jar, boolean token) throws Exception {
        Path dir = Files.createTempDirectory("limits-bench");
        Path cfg = dir.resolve("turnstile.yaml");
        Files.writeString(cfg, """
                server:
                  id: "bench"
                  host: "127.0.0.1"
                  port: 0
                  heartbeat_interval: "10s"
                  lease_timeout: "30s"
                  hello_timeout: "120s"    # a parked frame stays until this passes: 120 s keeps all 15,000 in
                clients:
                  min_version: "1.0.0"
                %s
                http:
                  enabled: true
                  host: "127.0.0.1"
                  port: 0
                  read_open: true
                entitlements:
                  - entitlement_id: "bench-seats"
                    tenant_id: "bench"
                    product_id: "bench"
                    policy: { type: "concurrent", max_seats: 100, enforcement: "seats" }
                    starts_at: "2026-01-01T00:00:00Z"
                    ends_at: "2036-01-01T00:00:00Z"
                """.formatted(token ? "  auth_token: \"" + TOKEN + "\"" : ""));
        Path log = dir.resolve("appliance.log");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-Xlog:gc:file=" + dir.resolve("gc.log"), "-jar", jar, "run", "--config", cfg.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < until && p.isAlive()) {
            String text = Files.readString(log);
            Matcher t = TCP.matcher(text);
            Matcher h = HTTP.matcher(text);
            if (t.find() && h.find()) {
                return new Appliance(p, Integer.parseInt(t.group(1)), Integer.parseInt(h.group(1)), dir);
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new IllegalStateException("the appliance did not start: " + Files.readString(log));
    }

    // ------------------------------------------------------------------ squatters

    private static void squat(String jar, boolean spread) throws Exception {
        try (Appliance a = start(jar, false)) {
            List<Process> gens = new ArrayList<>();
            for (int g = 0; g < 2; g++) {
                String addresses = spread ? "127.0.1." + (1 + g * 20) + "+20" : "127.0.0.1+1";
                gens.add(generatorProcess("hello", a.tcpPort(), 10_000, addresses));
            }
            long t0 = System.nanoTime();
            List<String> reports = new ArrayList<>();
            for (Process g : gens) {
                reports.add(awaitLine(g, "READY", 180));
            }
            System.out.printf("%s: 20,000 silent HELLO sessions %s in %.1f s: %s%n", spread ? "spread" : "squat",
                    spread ? "from 40 addresses" : "from 127.0.0.1", (System.nanoTime() - t0) / 1e9, reports);
            if (spread) {
                Thread.sleep(12_000); // idle longer than server.evict_idle_after (10 s): evictable by then
            }
            for (int i = 0; i < 5; i++) {
                System.out.printf("  client from 127.0.0.2: %s; GET /v1/status: %s%n", timeToGranted(a.tcpPort()),
                        timeStatus(a.httpPort()));
            }
            for (Process g : gens) {
                g.getOutputStream().close();
                g.waitFor(60, TimeUnit.SECONDS);
                g.destroyForcibly();
            }
            summarizeLog(a.log());
        }
    }

    private static String timeToGranted(int port) {
        long t0 = System.nanoTime();
        try (RawClient c = RawClient.session("127.0.0.2", port, "plant-client", "hw-plant", "")) {
            Message m = c.request(c.checkout("bench", 1)).message();
            double ms = (System.nanoTime() - t0) / 1e6;
            return m instanceof Message.Granted ? String.format("GRANTED in %.1f ms", ms)
                    : m.type() + " in " + String.format("%.1f ms", ms);
        } catch (Throwable e) {
            return String.format("not served (%s after %.1f ms)", e, (System.nanoTime() - t0) / 1e6);
        }
    }

    private static String timeStatus(int httpPort) {
        long t0 = System.nanoTime();
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort
                    + "/v1/status")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return String.format("%d in %.1f ms", r.statusCode(), (System.nanoTime() - t0) / 1e6);
        } catch (Exception e) {
            return String.format("no answer (%s after %.1f ms)", e, (System.nanoTime() - t0) / 1e6);
        }
    }

    private static void summarizeLog(String log) {
        for (String needle : List.of("session limits:", "Too many open files", "OutOfMemoryError",
                "refusing connection", "evicted (")) {
            long n = log.lines().filter(l -> l.contains(needle)).count();
            String first = log.lines().filter(l -> l.contains(needle)).findFirst().orElse("");
            if (n > 0) {
                System.out.printf("  log: %d line(s) with '%s', first: %s%n", n, needle,
                        first.length() > 240 ? first.substring(0, 240) : first);
            }
        }
    }

    // ------------------------------------------------------------------ parked incomplete frames

    private static void park(String jar) throws Exception {
        try (Appliance a = start(jar, false)) {
            Process g = generatorProcess("park", a.tcpPort(), 15_000, "127.0.2.1+30");
            long t0 = System.nanoTime();
            String report = awaitLine(g, "READY", 300);
            System.out.printf("park: 15,000 connections from 30 addresses, each a 64 KB incomplete frame, sent in %.1f s: %s%n",
                    (System.nanoTime() - t0) / 1e9, report);
            Thread.sleep(3_000);
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(a.process().pid()), "GC.run").redirectErrorStream(true).start();
            jcmd.getInputStream().readAllBytes();
            jcmd.waitFor(60, TimeUnit.SECONDS);
            String gcLog = Files.readString(a.dir().resolve("gc.log"));
            String full = gcLog.lines().filter(l -> l.contains("Pause Full")).reduce((x, y) -> y).orElse("no full GC line");
            System.out.printf("  full GC while parked (jcmd GC.run): %s%n", full.replaceAll(".*Pause Full", "Pause Full"));
            System.out.printf("  meanwhile: client from 127.0.0.2: %s; GET /v1/status: %s%n", timeToGranted(a.tcpPort()),
                    timeStatus(a.httpPort()));
            g.getOutputStream().close();
            g.waitFor(60, TimeUnit.SECONDS);
            g.destroyForcibly();
            int[] heap = a.heapPeakMiB();
            System.out.printf("  appliance heap (-Xmx1g): peak before GC %d MiB, largest after GC %d MiB%n", heap[0],
                    heap[1]);
            summarizeLog(a.log());
        }
    }

    // ------------------------------------------------------------------ token guessing

    private static void guess(String jar) throws Exception {
        try (Appliance a = start(jar, true)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long checked = 0;
            long refusedUnchecked = 0;
            long other = 0;
            long t0 = System.nanoTime();
            String real = null;
            int n = 0;
            while (System.nanoTime() < end) {
                try (RawClient c = RawClient.from("127.0.0.1", a.tcpPort())) {
                    c.preamble();
                    c.send(1, new Message.Hello("guesser", "hw-g", "1.0.0", "guess-" + n++));
                    Envelope e = c.read();
                    if (e.message() instanceof Message.Error err && err.errorCode() == ErrorCode.AUTHENTICATION_FAILED) {
                        checked++;
                    } else if (e.message() instanceof Message.Goodbye gb && gb.code() == ErrorCode.SERVER_BUSY.code()) {
                        refusedUnchecked++;
                    } else {
                        other++;
                    }
                } catch (Exception e) {
                    other++;
                }
                if (real == null && System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(5)) {
                    long r0 = System.nanoTime();
                    try (RawClient c = RawClient.session("127.0.0.2", a.tcpPort(), "real", "hw-real", TOKEN)) {
                        real = String.format("WELCOME in %.1f ms", (System.nanoTime() - r0) / 1e6);
                    } catch (Throwable e) {
                        real = "refused: " + e;
                    }
                }
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("guess: one client at 127.0.0.1 for %.1f s: %d HELLOs, %d tokens checked (%.1f/s), "
                            + "%d refused unchecked, %d other; a client at 127.0.0.2 with the right token 5 s in: %s%n",
                    s, n, checked, checked / s, refusedUnchecked, other, real);
        }
    }

    // ------------------------------------------------------------------ the load generator process

    private static Process generatorProcess(String mode, int port, int count, String addresses) throws IOException {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), LimitsBench.class.getName(), "generator", mode,
                Integer.toString(port), Integer.toString(count), addresses)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static String awaitLine(Process p, String prefix, int seconds) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        StringBuilder seen = new StringBuilder();
        while (System.nanoTime() < until) {
            if (r.ready()) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                if (line.startsWith(prefix)) {
                    return line;
                }
                seen.append(line).append(' ');
            } else if (!p.isAlive()) {
                break;
            } else {
                Thread.sleep(50);
            }
        }
        return "no " + prefix + " line within " + seconds + " s: " + seen;
    }

    /**
     * generator MODE PORT COUNT A.B.C.D+N: opens COUNT connections spread over N addresses from A.B.C.D
     * up, each sending the preamble and a HELLO (mode hello) or that and then 65,000 of a frame's
     * 65,536 announced bytes (mode park). Prints READY with the outcome, then holds until stdin closes.
     */
    private static void generator(String[] args) throws Exception {
        String mode = args[1];
        int port = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        String[] spec = args[4].split("\\+");
        String[] octets = spec[0].split("\\.");
        int spread = Integer.parseInt(spec[1]);
        byte[] hello = Codec.encode(1, new Message.Hello("squatter", "hw-squatter", "1.0.0", ""));
        ByteBuffer parkFrame = ByteBuffer.allocate(65_000);
        parkFrame.putInt(65_536).put((byte) 0x20).put((byte) 0).putInt(2);
        byte[] park = parkFrame.array();
        ByteBuffer shared = ByteBuffer.allocate(8 + hello.length + (mode.equals("park") ? park.length : 0));
        shared.put(Preamble.client(1, 1)).put(hello);
        if (mode.equals("park")) {
            shared.put(park);
        }
        byte[] bytes = shared.array(); // one copy; each connection writes it through its own view
        Selector sel = Selector.open();
        List<SocketChannel> open = new ArrayList<>();
        int connectFailed = 0;
        int failedInARow = 0;
        int attempts = 0;
        long reopenUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        // An attacker reconnects what the server closes: up to 3 x COUNT attempts within 40 s, to hold COUNT.
        for (int i = 0; failedInARow < 20 && attempts < 3 * count
                && (i < count || (System.nanoTime() < reopenUntil && open.stream().filter(SocketChannel::isOpen).count() < count));
                i++) {
            attempts++;
            if (i >= count && i % 500 == 0) {
                open.removeIf(c -> !c.isOpen());
            }
            String local = octets[0] + "." + octets[1] + "." + octets[2] + "." + (Integer.parseInt(octets[3]) + i % spread);
            try {
                SocketChannel ch = SocketChannel.open();
                try {
                    ch.bind(new InetSocketAddress(local, 0));
                    ch.socket().connect(new InetSocketAddress("127.0.0.1", port), 2_000);
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                failedInARow = 0;
                ch.configureBlocking(false);
                ByteBuffer out = ByteBuffer.wrap(bytes);
                ch.register(sel, SelectionKey.OP_WRITE | SelectionKey.OP_READ, out);
                open.add(ch);
            } catch (IOException e) {
                connectFailed++;
                failedInARow++;
            }
            if (i % 500 == 499) {
                pump(sel, 0);
            }
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until && pump(sel, 200) > 0) {
            // until every write is done and nothing more arrives for 200 ms
        }
        int closed = (int) open.stream().filter(c -> !c.isOpen()).count();
        int unsent = 0;
        for (SelectionKey k : sel.keys()) {
            if (k.channel().isOpen() && ((ByteBuffer) k.attachment()).hasRemaining()) {
                unsent++;
            }
        }
        System.out.println("READY attempts=" + attempts + " opened=" + open.size() + " connect_failed=" + connectFailed + " closed_by_server="
                + closed + " still_open=" + (open.size() - closed) + " writes_unfinished=" + unsent);
        System.out.flush();
        Thread holder = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // hold until the parent closes our stdin
                }
            } catch (IOException ignored) {
                // parent gone
            }
        });
        holder.start();
        long hold = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
        while (holder.isAlive() && System.nanoTime() < hold) {
            pump(sel, 500);
        }
        for (SocketChannel c : open) {
            c.close();
        }
        System.exit(0);
    }

    /** One round of the selector: finishes writes, reads and drops what arrives, closes on EOF. Returns events. */
    private static int pump(Selector sel, long timeoutMs) throws IOException {
        int n = timeoutMs == 0 ? sel.selectNow() : sel.select(timeoutMs);
        ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
        Iterator<SelectionKey> it = sel.selectedKeys().iterator();
        while (it.hasNext()) {
            SelectionKey k = it.next();
            it.remove();
            SocketChannel ch = (SocketChannel) k.channel();
            try {
                if (k.isValid() && k.isWritable()) {
                    ByteBuffer out = (ByteBuffer) k.attachment();
                    ch.write(out);
                    if (!out.hasRemaining()) {
                        k.interestOps(SelectionKey.OP_READ);
                    }
                }
                if (k.isValid() && k.isReadable()) {
                    sink.clear();
                    if (ch.read(sink) < 0) {
                        ch.close();
                    }
                }
            } catch (IOException e) {
                ch.close();
            }
        }
        return n;
    }
}
