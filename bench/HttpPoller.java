// A status page's polling, without a browser: GETs each PATH RATE times a second over one keep-alive
// HTTP/1.1 connection (as a browser tab would), but only while the file FLAG exists, so one warmed-up
// poller can be switched on and off between benchmark runs. Stops after MAX_SECONDS, or as soon as
// FLAG.stop exists. Single-file Java program, JDK only:
//   javac -d OUT bench/HttpPoller.java && java -cp OUT HttpPoller BASE_URL RATE MAX_SECONDS FLAG PATH...
//   java -cp OUT HttpPoller http://127.0.0.1:17879 10 600 /tmp/poll.on /v1/status '/v1/leases?limit=50'
// Prints READY after its first request, then one line each time polling is switched off (and at the end):
//   POLL requests=N errors=N p50_ms=X p99_ms=X max_ms=X bytes_per_request=N
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

public class HttpPoller {
    private static final List<Long> MICROS = new ArrayList<>();
    private static long errors;
    private static long bytes;

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: HttpPoller BASE_URL RATE MAX_SECONDS FLAG PATH...");
            System.exit(2);
        }
        String base = args[0];
        long periodNanos = (long) (1e9 / Double.parseDouble(args[1]));
        long end = System.nanoTime() + Long.parseLong(args[2]) * 1_000_000_000L;
        Path flag = Path.of(args[3]);
        Path stop = Path.of(args[3] + ".stop");
        List<String> paths = List.of(args).subList(4, args.length);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        boolean ready = false;
        boolean polling = false;
        long next = System.nanoTime();
        while (System.nanoTime() < end && !Files.exists(stop)) {
            boolean on = Files.exists(flag) || !ready;
            if (polling && !on) {
                report();
            }
            polling = on && ready;
            if (on) {
                for (String p : paths) {
                    get(http, base, p);
                }
                if (!ready) {
                    ready = true;
                    MICROS.clear();
                    errors = 0;
                    bytes = 0;
                    System.out.println("READY");
                    System.out.flush();
                }
                next += periodNanos;
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                } else {
                    next = System.nanoTime(); // late: do not burst to catch up
                }
            } else {
                Thread.sleep(20);
                next = System.nanoTime();
            }
        }
        if (polling) {
            report();
        }
    }

    private static void get(HttpClient http, String base, String p) {
        long t0 = System.nanoTime();
        try {
            HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + p)).timeout(Duration.ofSeconds(5))
                    .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200 && errors++ < 5) {
                System.err.println("HTTP " + r.statusCode() + " for " + p + ": " + new String(r.body()));
            }
            bytes += r.body().length;
        } catch (Exception e) {
            if (errors++ < 5) {
                System.err.println(p + ": " + e);
            }
        }
        MICROS.add((System.nanoTime() - t0) / 1_000);
    }

    private static void report() {
        List<Long> l = new ArrayList<>(MICROS);
        Collections.sort(l);
        int n = l.size();
        System.out.printf("POLL requests=%d errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bytes_per_request=%d%n", n, errors,
                n == 0 ? 0 : l.get(n / 2) / 1000.0, n == 0 ? 0 : l.get(Math.min(n - 1, (int) (n * 0.99))) / 1000.0,
                n == 0 ? 0 : l.get(n - 1) / 1000.0, n == 0 ? 0 : bytes / n);
        System.out.flush();
        MICROS.clear();
        errors = 0;
        bytes = 0;
    }
}
