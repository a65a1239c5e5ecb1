package dev.turnstile.harness.cloud;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stand-in for the vendor's cloud license server, for tests and demos: serves
 * {@code POST /v1/sync/entitlements} (appliance/SYNC.md, "The exchange") from an in-memory set of
 * entitlements (optionally read from a directory of JSON files at every request), answers with
 * the changes since the token the appliance presents and a license signed with the key it was
 * given, and can be told to fail: 5xx, timeouts, 401/403, garbage, slow answers, bad signatures,
 * tampered or invalid change data.
 *
 * <p>Control API (JSON, loopback tools only, no auth): {@code GET /control/state},
 * {@code PUT|PATCH|DELETE /control/entitlements/{id}}, {@code POST /control/fail
 * {"mode": "5xx", "count": 3}} ({@code count -1}: until healed), {@code POST /control/heal},
 * {@code POST /control/license {"local_server_id": ..., "validity_ms": ...}} (a signed license
 * file for air-gapped imports).
 *
 * <p>Thread-safe: tests change it from their own thread while the server answers.
 */
public final class FakeCloud {
    private static final Logger LOG = LoggerFactory.getLogger(FakeCloud.class);
    public static final long DEFAULT_VALIDITY_MS = 14L * 86_400_000L;

    /** Ways to fail, as {@code --fail} and {@code /control/fail} name them. */
    public enum Failure {
        SERVER_ERROR("5xx"), TIMEOUT("timeout"), UNAUTHORIZED("401"), FORBIDDEN("403"), GARBAGE("garbage"),
        SLOW("slow"), BAD_SIGNATURE("bad-signature"), TAMPERED("tampered"), INVALID_CHANGE("invalid-change");

        private final String cliName;

        Failure(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Failure ofName(String name) {
            for (Failure f : values()) {
                if (f.cliName.equalsIgnoreCase(name) || f.name().equalsIgnoreCase(name)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("unknown failure '" + name + "': one of 5xx, timeout, 401, 403, garbage, "
                    + "slow, bad-signature, tampered, invalid-change");
        }
    }

    /** One request as the cloud saw it. */
    public record Request(long atMs, String lastSyncToken, String localServerId, String authorization, String outcome) {
    }

    /** Settings; all optional. */
    public static final class Options {
        public String host = "127.0.0.1";
        public int port = 0;
        /** Entitlements read from {@code *.json} here (one object or a list per file) before every answer. */
        public Path entitlementsDir;
        public CloudSigner signer = CloudSigner.demo();
        public long validityMs = DEFAULT_VALIDITY_MS;
        public Clock clock = Clock.systemUTC();
        /** The bearer token the appliance must send; {@code null}: any. */
        public String expectedToken;
        /** The appliance the licenses are for; {@code null}: the one that asks ({@code local_server_id}). */
        public String serverId;
        public long slowMs = 3_000;
    }

    private final Vertx vertx;
    private final Options options;
    private HttpServer server;

    private final TreeMap<String, JsonObject> current = new TreeMap<>();
    private final Map<String, Long> updatedAt = new HashMap<>();
    private final Map<String, TreeMap<String, JsonObject>> versions = new HashMap<>();
    private long version;
    private final Deque<Failure> nextFailures = new ArrayDeque<>();
    private Failure alwaysFail;
    private final List<Request> requests = new ArrayList<>();
    private final List<HttpServerRequest> held = new ArrayList<>();
    private final AtomicLong licenses = new AtomicLong();
    private String lastDirContent = "";

    private FakeCloud(Vertx vertx, Options options) {
        this.vertx = vertx;
        this.options = options;
        versions.put(token(0), new TreeMap<>());
    }

    public static Future<FakeCloud> start(Vertx vertx, Options options) {
        FakeCloud c = new FakeCloud(vertx, options);
        return vertx.createHttpServer(new HttpServerOptions().setHost(options.host).setPort(options.port))
                .requestHandler(c::handle)
                .listen()
                .map(s -> {
                    c.server = s;
                    LOG.info("fake cloud listening on http://{}:{} (key {}, validity {} ms{})", options.host, s.actualPort(),
                            options.signer.keyId(), options.validityMs,
                            options.entitlementsDir == null ? "" : ", entitlements from " + options.entitlementsDir);
                    return c;
                });
    }

    public int port() {
        return server.actualPort();
    }

    /** {@code http://host:port}: the appliance's {@code sync.cloud_server_url}. */
    public String url() {
        return "http://" + options.host + ":" + port();
    }

    public Future<Void> close() {
        synchronized (this) {
            held.clear();
        }
        return server == null ? Future.succeededFuture() : server.close();
    }

    // ------------------------------------------------------------------ what tests change

    /** Creates or replaces an entitlement (a full object); a new version. */
    public synchronized FakeCloud put(JsonObject entitlement) {
        String id = Objects.requireNonNull(entitlement.getString("entitlement_id"), "entitlement_id");
        if (!entitlement.equals(current.get(id))) {
            current.put(id, entitlement.copy());
            updatedAt.put(id, options.clock.millis());
            newVersion();
        }
        return this;
    }

    /** Changes some fields of an entitlement: {@code {"policy": {"max_seats": 5}, "ends_at": ...}}. */
    public synchronized FakeCloud patch(String id, JsonObject fields) {
        JsonObject e = current.get(id);
        if (e == null) {
            throw new IllegalArgumentException("no entitlement " + id);
        }
        JsonObject n = e.copy();
        for (String k : fields.fieldNames()) {
            if (k.equals("policy")) {
                JsonObject p = n.getJsonObject("policy", new JsonObject()).copy();
                fields.getJsonObject("policy").forEach(x -> p.put(x.getKey(), x.getValue()));
                n.put("policy", p);
            } else {
                n.put(k, fields.getValue(k));
            }
        }
        return put(n);
    }

    public synchronized FakeCloud remove(String id) {
        if (current.remove(id) != null) {
            updatedAt.put(id, options.clock.millis());
            newVersion();
        }
        return this;
    }

    /** The next {@code count} answers fail this way (they queue after failures already planned). */
    public synchronized FakeCloud failNext(Failure f, int count) {
        for (int i = 0; i < count; i++) {
            nextFailures.add(f);
        }
        return this;
    }

    /** Every answer fails this way until {@link #heal()}. */
    public synchronized FakeCloud failAlways(Failure f) {
        alwaysFail = f;
        return this;
    }

    public synchronized FakeCloud heal() {
        nextFailures.clear();
        alwaysFail = null;
        return this;
    }

    public synchronized FakeCloud signer(CloudSigner signer) {
        options.signer = signer;
        return this;
    }

    public synchronized List<Request> requests() {
        return new ArrayList<>(requests);
    }

    public synchronized int requestCount() {
        return requests.size();
    }

    public synchronized String currentToken() {
        return token(version);
    }

    /** A signed license for an air-gapped appliance: the current entitlements, no sync token. */
    public synchronized JsonObject licenseFile(String localServerId, long validityMs) {
        return options.signer.sign(payload(localServerId, validityMs, null, null));
    }

    private void newVersion() {
        version++;
        TreeMap<String, JsonObject> snap = new TreeMap<>();
        current.forEach((k, v) -> snap.put(k, v.copy()));
        versions.put(token(version), snap);
    }

    private static String token(long v) {
        return "v" + v;
    }

    // ------------------------------------------------------------------ HTTP

    private void handle(HttpServerRequest req) {
        String path = req.path();
        if (path.startsWith("/control/")) {
            req.body().onSuccess(b -> control(req, b)).onFailure(e -> reply(req, 400, new JsonObject().put("error", e.toString())));
            return;
        }
        if (!"/v1/sync/entitlements".equals(path)) {
            reply(req, 404, new JsonObject().put("error", "no route " + path));
            return;
        }
        if (req.method() != io.vertx.core.http.HttpMethod.POST) {
            reply(req, 405, new JsonObject().put("error", "POST only"));
            return;
        }
        req.body().onSuccess(b -> {
            if (options.entitlementsDir == null) {
                sync(req, b);
                return;
            }
            vertx.executeBlocking(this::readDirectory).onComplete(ar -> {
                if (ar.failed()) {
                    LOG.error("fake cloud: cannot read {}: {}", options.entitlementsDir, ar.cause().toString());
                }
                sync(req, b);
            });
        });
    }

    private void sync(HttpServerRequest req, Buffer body) {
        JsonObject in;
        try {
            in = body.length() == 0 ? new JsonObject() : new JsonObject(body);
        } catch (RuntimeException e) {
            record(null, null, req, "bad request");
            reply(req, 400, new JsonObject().put("error", "the body is not JSON"));
            return;
        }
        String token = in.getString("last_sync_token");
        String server = options.serverId != null ? options.serverId : in.getString("local_server_id", "unknown");
        Failure f;
        synchronized (this) {
            f = nextFailures.isEmpty() ? alwaysFail : nextFailures.poll();
        }
        String auth = req.getHeader("Authorization");
        if (f == null && options.expectedToken != null && !("Bearer " + options.expectedToken).equals(auth)) {
            f = Failure.UNAUTHORIZED;
        }
        record(token, server, req, f == null ? "ok" : f.cliName());
        if (f == null) {
            reply(req, 200, answer(token, server, null));
            return;
        }
        switch (f) {
            case SERVER_ERROR -> reply(req, 503, new JsonObject().put("error", "service unavailable (fake cloud)"));
            case UNAUTHORIZED -> reply(req, 401, new JsonObject().put("error", "invalid token (fake cloud)"));
            case FORBIDDEN -> reply(req, 403, new JsonObject().put("error", "forbidden (fake cloud)"));
            case GARBAGE -> req.response().setStatusCode(200).putHeader("Content-Type", "text/html")
                    .end("<html><body>502 Bad Gateway (a proxy, not the cloud)</body>");
            case TIMEOUT -> {
                synchronized (this) {
                    held.add(req); // never answered; the connection closes with the server
                }
            }
            case SLOW -> vertx.setTimer(Math.max(1, options.slowMs), id -> reply(req, 200, answer(token, server, null)));
            case BAD_SIGNATURE -> reply(req, 200, answer(token, server, new CloudSigner(CloudSigner.newKeyPair().getPrivate(),
                    options.signer.keyId())));
            case TAMPERED -> {
                JsonObject a = answer(token, server, null);
                JsonArray changes = a.getJsonArray("changes");
                changes.add(new JsonObject().put("action", "delete").put("entitlement_id", "tampered-after-signing"));
                reply(req, 200, a);
            }
            case INVALID_CHANGE -> reply(req, 200, answerWith(token, server, new JsonObject().put("action", "update")
                    .put("entitlement", new JsonObject().put("entitlement_id", "broken-entitlement")
                            .put("policy", new JsonObject().put("max_seats", -5)))));
            default -> reply(req, 500, new JsonObject().put("error", "unknown failure"));
        }
    }

    private synchronized void record(String token, String server, HttpServerRequest req, String outcome) {
        requests.add(new Request(System.currentTimeMillis(), token, server, req.getHeader("Authorization"), outcome));
    }

    /** The changes since {@code token} and a license signed for them. */
    private synchronized JsonObject answer(String token, String server, CloudSigner otherSigner) {
        JsonArray changes = changesSince(token);
        return envelope(changes, server, otherSigner);
    }

    private synchronized JsonObject answerWith(String token, String server, JsonObject extraChange) {
        JsonArray changes = changesSince(token);
        changes.add(extraChange);
        return envelope(changes, server, null);
    }

    private JsonObject envelope(JsonArray changes, String server, CloudSigner otherSigner) {
        String newToken = token(version);
        JsonObject payload = payload(server, options.validityMs, newToken, CloudSigner.digest(changes));
        CloudSigner s = otherSigner != null ? otherSigner : options.signer;
        return new JsonObject()
                .put("sync_token", newToken)
                .put("sync_timestamp", Instant.ofEpochMilli(options.clock.millis()).toString())
                .put("changes", changes)
                .put("license", s.sign(payload));
    }

    private JsonObject payload(String server, long validityMs, String syncToken, String changesDigest) {
        long now = options.clock.millis();
        JsonArray ents = new JsonArray();
        current.values().forEach(e -> ents.add(e.copy()));
        JsonObject p = new JsonObject()
                .put("license_id", "fake-" + server + "-" + version + "-" + licenses.incrementAndGet())
                .put("key_id", options.signer.keyId())
                .put("local_server_id", server)
                .put("issued_at", Instant.ofEpochMilli(now).toString())
                .put("valid_until", Instant.ofEpochMilli(now + validityMs).toString())
                .put("entitlements", ents);
        if (syncToken != null) {
            p.put("sync_token", syncToken).put("changes_digest", changesDigest);
        }
        return p;
    }

    private JsonArray changesSince(String token) {
        TreeMap<String, JsonObject> base = token == null ? new TreeMap<>() : versions.get(token);
        if (base == null) {
            base = new TreeMap<>(); // an unknown token: everything, as for a first sync
        }
        JsonArray out = new JsonArray();
        for (Map.Entry<String, JsonObject> e : current.entrySet()) {
            JsonObject was = base.get(e.getKey());
            String at = Instant.ofEpochMilli(updatedAt.getOrDefault(e.getKey(), options.clock.millis())).toString();
            if (was == null) {
                out.add(new JsonObject().put("action", "create").put("entitlement", e.getValue().copy()).put("updated_at", at));
            } else if (!was.equals(e.getValue())) {
                JsonObject partial = diff(was, e.getValue());
                out.add(new JsonObject().put("action", "update").put("entitlement", partial).put("updated_at", at));
            }
        }
        for (String id : base.keySet()) {
            if (!current.containsKey(id)) {
                out.add(new JsonObject().put("action", "delete").put("entitlement_id", id)
                        .put("updated_at", Instant.ofEpochMilli(updatedAt.getOrDefault(id, options.clock.millis())).toString()));
            }
        }
        return out;
    }

    /** {@code entitlement_id} plus only the fields that changed (policy fields inside {@code policy}). */
    static JsonObject diff(JsonObject was, JsonObject now) {
        JsonObject out = new JsonObject().put("entitlement_id", now.getString("entitlement_id"));
        for (String k : now.fieldNames()) {
            if (k.equals("policy")) {
                JsonObject a = was.getJsonObject("policy", new JsonObject());
                JsonObject b = now.getJsonObject("policy", new JsonObject());
                JsonObject p = new JsonObject();
                for (String pk : b.fieldNames()) {
                    if (!Objects.equals(a.getValue(pk), b.getValue(pk))) {
                        p.put(pk, b.getValue(pk));
                    }
                }
                if (!p.isEmpty()) {
                    out.put("policy", p);
                }
            } else if (!k.equals("entitlement_id") && !Objects.equals(was.getValue(k), now.getValue(k))) {
                out.put(k, now.getValue(k));
            }
        }
        for (String k : was.fieldNames()) {
            if (!now.containsKey(k)) {
                out.put(k, null);
            }
        }
        return out;
    }

    private Void readDirectory() throws IOException {
        Map<String, JsonObject> found = new LinkedHashMap<>();
        StringBuilder all = new StringBuilder();
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(options.entitlementsDir, "*.json")) {
            ds.forEach(files::add);
        }
        files.sort(null);
        for (Path p : files) {
            String text = Files.readString(p, StandardCharsets.UTF_8);
            all.append(p.getFileName()).append('\n').append(text);
            Object v = io.vertx.core.json.Json.decodeValue(text);
            if (v instanceof JsonObject o) {
                found.put(o.getString("entitlement_id"), o);
            } else if (v instanceof JsonArray a) {
                for (Object x : a) {
                    JsonObject o = (JsonObject) x;
                    found.put(o.getString("entitlement_id"), o);
                }
            }
        }
        synchronized (this) {
            if (all.toString().equals(lastDirContent)) {
                return null;
            }
            lastDirContent = all.toString();
            for (String id : new ArrayList<>(current.keySet())) {
                if (!found.containsKey(id)) {
                    remove(id);
                }
            }
            found.values().forEach(this::put);
        }
        return null;
    }

    private void control(HttpServerRequest req, Buffer body) {
        String path = req.path();
        String method = req.method().name();
        try {
            JsonObject in = body.length() == 0 ? new JsonObject() : new JsonObject(body);
            if (path.equals("/control/state") && method.equals("GET")) {
                synchronized (this) {
                    JsonArray ents = new JsonArray();
                    current.values().forEach(ents::add);
                    reply(req, 200, new JsonObject().put("token", token(version)).put("entitlements", ents)
                            .put("requests", requests.size()).put("pending_failures", nextFailures.size())
                            .put("always_fail", alwaysFail == null ? null : alwaysFail.cliName()));
                }
            } else if (path.startsWith("/control/entitlements/")) {
                String id = path.substring("/control/entitlements/".length());
                switch (method) {
                    case "PUT" -> put(in.put("entitlement_id", id));
                    case "PATCH" -> patch(id, in);
                    case "DELETE" -> remove(id);
                    default -> throw new IllegalArgumentException("PUT, PATCH or DELETE");
                }
                reply(req, 200, new JsonObject().put("token", currentToken()));
            } else if (path.equals("/control/fail") && method.equals("POST")) {
                Failure f = Failure.ofName(in.getString("mode", "5xx"));
                int count = in.getInteger("count", 1);
                if (in.containsKey("delay_ms")) {
                    options.slowMs = in.getLong("delay_ms");
                }
                if (count < 0) {
                    failAlways(f);
                } else {
                    failNext(f, count);
                }
                reply(req, 200, new JsonObject().put("mode", f.cliName()).put("count", count));
            } else if (path.equals("/control/heal") && method.equals("POST")) {
                heal();
                reply(req, 200, new JsonObject().put("healed", true));
            } else if (path.equals("/control/license") && method.equals("POST")) {
                reply(req, 200, licenseFile(in.getString("local_server_id", options.serverId == null ? "unknown" : options.serverId),
                        in.getLong("validity_ms", options.validityMs)));
            } else {
                reply(req, 404, new JsonObject().put("error", "no control route " + method + " " + path));
            }
        } catch (RuntimeException e) {
            reply(req, 400, new JsonObject().put("error", e.getMessage()));
        }
    }

    private static void reply(HttpServerRequest req, int status, JsonObject body) {
        req.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    /** For logs. */
    @Override
    public String toString() {
        return "FakeCloud[" + (server == null ? "stopped" : url()) + ", version " + version + "]";
    }

    /** A private key from a PEM file or the DEMO key ("DEMO"). */
    public static CloudSigner signerFor(String keyFileOrDemo, String keyId) throws IOException {
        if (keyFileOrDemo == null || keyFileOrDemo.equals("DEMO")) {
            return CloudSigner.demo();
        }
        return CloudSigner.fromFile(Path.of(keyFileOrDemo), keyId == null ? "vendor" : keyId);
    }
}
