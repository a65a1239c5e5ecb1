package dev.turnstile.appliance.http;

import dev.turnstile.testsupport.Wait;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Headless Chromium (Debian's {@code chromium} package, installed by scripts/ensure-chromium.sh),
 * driven over the Chrome DevTools protocol with the JDK's own WebSocket client: no driver binary,
 * no extra dependency. One browser, one page. Every call is bounded in time.
 */
final class Chromium implements AutoCloseable {
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    /** The flags that work in this sandbox-less, network-less environment. */
    static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0",
            "--remote-allow-origins=*");

    private final Process process;
    private final Path profile;
    private final WebSocket socket;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonObject>> pending = new ConcurrentHashMap<>();
    /** Console errors, uncaught exceptions and failed loads the page reported. */
    final List<String> problems = new CopyOnWriteArrayList<>();

    /** The chromium executable: $CHROMIUM, or chromium / chromium-browser on the PATH; null when none. */
    static Path executable() {
        String env = System.getenv("CHROMIUM");
        if (env != null && Files.isExecutable(Path.of(env))) {
            return Path.of(env);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            for (String name : new String[] {"chromium", "chromium-browser"}) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    private Chromium(Process process, Path profile, WebSocket socket) {
        this.process = process;
        this.profile = profile;
        this.socket = socket;
    }

    /** Starts a headless browser with a fresh profile, a {@code width x height} window, showing about:blank. */
    static Chromium launch(Path executable, int width, int height) throws Exception {
        Path profile = Files.createTempDirectory("turnstile-chromium");
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(executable.toString());
        cmd.addAll(FLAGS);
        cmd.add("--user-data-dir=" + profile);
        cmd.add("--window-size=" + width + "," + height);
        cmd.add("about:blank");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(profile.resolve("chromium.log").toFile()).start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            try {
                Wait.await("chromium's DevTools port", Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                        .until(() -> {
                            if (!p.isAlive()) {
                                throw new IOException("chromium exited with " + p.exitValue() + ": " + log(profile));
                            }
                            return Files.exists(portFile) && !Files.readAllLines(portFile).isEmpty();
                        });
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new IOException("chromium did not open its DevTools port within 60 s: " + log(profile));
            }
            int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String pageWs;
            try {
                pageWs = Wait.await("chromium's page target", Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                        .until(() -> {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                                            URI.create("http://127.0.0.1:" + port + "/json/list"))
                                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                            for (Object o : new JsonArray(r.body())) {
                                JsonObject t = (JsonObject) o;
                                if ("page".equals(t.getString("type")) && t.getString("webSocketDebuggerUrl") != null) {
                                    return t.getString("webSocketDebuggerUrl");
                                }
                            }
                            return null;
                        }, java.util.Objects::nonNull);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new IOException("chromium shows no page target");
            }
            Chromium[] self = new Chromium[1];
            WebSocket ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create(pageWs), new Listener(self)).get(30, TimeUnit.SECONDS);
            Chromium c = new Chromium(p, profile, ws);
            self[0] = c;
            c.send("Runtime.enable", new JsonObject());
            c.send("Log.enable", new JsonObject());
            c.send("Page.enable", new JsonObject());
            c.send("Emulation.setDeviceMetricsOverride", new JsonObject().put("width", width).put("height", height)
                    .put("deviceScaleFactor", 1).put("mobile", false));
            return c;
        } catch (Exception e) {
            p.destroyForcibly();
            deleteQuietly(profile);
            throw e;
        }
    }

    private static String log(Path profile) {
        try {
            String s = Files.readString(profile.resolve("chromium.log"));
            return s.length() > 2_000 ? s.substring(s.length() - 2_000) : s;
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Collects whole text messages (they arrive in parts) and hands them to the browser object. */
    private static final class Listener implements WebSocket.Listener {
        private final Chromium[] self;
        private final StringBuilder buf = new StringBuilder();

        Listener(Chromium[] self) {
            this.self = self;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            buf.append(data);
            if (last) {
                String text = buf.toString();
                buf.setLength(0);
                Chromium c = self[0];
                if (c != null) {
                    c.onMessage(new JsonObject(text));
                }
            }
            ws.request(1);
            return null;
        }
    }

    private void onMessage(JsonObject m) {
        Integer id = m.getInteger("id");
        if (id != null) {
            CompletableFuture<JsonObject> f = pending.remove(id);
            if (f != null) {
                f.complete(m);
            }
            return;
        }
        String method = m.getString("method", "");
        JsonObject params = m.getJsonObject("params", new JsonObject());
        switch (method) {
            case "Runtime.exceptionThrown" -> problems.add("exception: " + params.getJsonObject("exceptionDetails", new JsonObject())
                    .encode());
            case "Runtime.consoleAPICalled" -> {
                if ("error".equals(params.getString("type")) || "warning".equals(params.getString("type"))) {
                    problems.add("console." + params.getString("type") + ": " + params.getJsonArray("args", new JsonArray()).encode());
                }
            }
            case "Log.entryAdded" -> {
                JsonObject e = params.getJsonObject("entry", new JsonObject());
                if ("error".equals(e.getString("level"))) {
                    problems.add("log: " + e.getString("text") + " " + e.getString("url", ""));
                }
            }
            default -> {
            }
        }
    }

    /** Sends one DevTools command and waits for its answer; fails on a protocol error. */
    JsonObject send(String method, JsonObject params) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonObject> f = new CompletableFuture<>();
        pending.put(id, f);
        socket.sendText(new JsonObject().put("id", id).put("method", method).put("params", params).encode(), true)
                .get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        JsonObject answer = f.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (answer.containsKey("error")) {
            throw new IllegalStateException(method + " failed: " + answer.getJsonObject("error").encode());
        }
        return answer.getJsonObject("result", new JsonObject());
    }

    /** Opens {@code url} and waits (bounded) until its document has loaded. */
    void navigate(String url) throws Exception {
        send("Page.navigate", new JsonObject().put("url", url));
        waitFor("the page " + url + " loaded", "location.href === " + js(url) + " && document.readyState === 'complete'",
                Boolean.TRUE::equals, CALL_TIMEOUT);
    }

    /** Evaluates {@code expression} in the page (promises awaited) and returns its value as JSON-ish Java. */
    Object eval(String expression) throws Exception {
        JsonObject r = send("Runtime.evaluate", new JsonObject().put("expression", expression)
                .put("returnByValue", true).put("awaitPromise", true));
        if (r.containsKey("exceptionDetails")) {
            throw new IllegalStateException("page threw on '" + expression + "': " + r.getJsonObject("exceptionDetails").encode());
        }
        return r.getJsonObject("result", new JsonObject()).getValue("value");
    }

    String text(String selector) throws Exception {
        Object v = eval("(() => { const e = document.querySelector(" + js(selector) + "); return e ? e.textContent : null; })()");
        return v == null ? null : v.toString();
    }

    /** Polls {@code expression} (at most {@code timeout}) until {@code ok} accepts its value; returns that value. */
    Object waitFor(String what, String expression, Predicate<Object> ok, Duration timeout) throws Exception {
        Object[] last = new Object[1];
        try {
            return Wait.await(what, timeout).pollInterval(Duration.ofMillis(100)).until(() -> {
                try {
                    last[0] = eval(expression);
                } catch (IllegalStateException e) {
                    last[0] = e.getMessage(); // e.g. the element is not there yet
                }
                return last[0];
            }, ok::test);
        } catch (org.awaitility.core.ConditionTimeoutException late) {
            // described below, with the page
        }
        Object where = eval("location.href + ' | ' + document.title + ' | ' + document.body.innerText.substring(0, 300)");
        throw new AssertionError("not within " + timeout.toSeconds() + " s: " + what + " (last value: " + last[0] + "; page: "
                + where + "; problems: " + problems + ")");
    }

    /** A real mouse click (pressed and released) at the centre of the element {@code selector} selects. */
    void click(String selector) throws Exception {
        Object r = eval("(() => { const e = document.querySelector(" + js(selector) + "); if (!e) return null;"
                + " e.scrollIntoView({block: 'center'}); const b = e.getBoundingClientRect();"
                + " return {x: b.left + b.width / 2, y: b.top + b.height / 2}; })()");
        if (!(r instanceof JsonObject pos)) {
            throw new AssertionError("nothing to click: " + selector);
        }
        double x = pos.getDouble("x");
        double y = pos.getDouble("y");
        send("Input.dispatchMouseEvent", new JsonObject().put("type", "mouseMoved").put("x", x).put("y", y));
        send("Input.dispatchMouseEvent", new JsonObject().put("type", "mousePressed").put("x", x).put("y", y)
                .put("button", "left").put("clickCount", 1));
        send("Input.dispatchMouseEvent", new JsonObject().put("type", "mouseReleased").put("x", x).put("y", y)
                .put("button", "left").put("clickCount", 1));
    }

    /** Types {@code text} into the focused element, as a keyboard would. */
    void type(String text) throws Exception {
        send("Input.insertText", new JsonObject().put("text", text));
    }

    /** A PNG of the whole page (beyond the viewport). */
    byte[] screenshot() throws Exception {
        JsonObject r = send("Page.captureScreenshot", new JsonObject().put("format", "png").put("captureBeyondViewport", true));
        return Base64.getDecoder().decode(r.getString("data"));
    }

    static String js(String s) {
        return new JsonArray().add(s).encode().replaceAll("^\\[|\\]$", "");
    }

    @Override
    public void close() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the browser goes anyway
        }
        // the browser's own helper processes (renderer, zygote, ...) go with it: only processes this test started
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle h : children) {
                if (h.isAlive()) {
                    h.destroy();
                }
            }
            for (ProcessHandle h : children) {
                h.onExit().get(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        } catch (Exception e) {
            children.forEach(ProcessHandle::destroyForcibly);
        }
        for (int i = 0; i < 3 && Files.exists(profile); i++) {
            deleteQuietly(profile);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temp dir left behind
        }
    }
}
