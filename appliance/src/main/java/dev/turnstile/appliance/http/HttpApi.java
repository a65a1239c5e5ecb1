package dev.turnstile.appliance.http;

import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.lifecycle.Lifecycle;
import dev.turnstile.appliance.lifecycle.ListenFailure;
import dev.turnstile.appliance.log.LogText;
import dev.turnstile.appliance.metrics.ApplianceMetrics;
import dev.turnstile.appliance.metrics.SeatHistory;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the appliance (appliance/HTTP.md): the status page at {@code /}, the admin API
 * under {@code /v1/} (documented in {@code openapi.yaml}, served at {@code /openapi.yaml}), health,
 * {@code /metrics} and a server-sent event stream for live pages. Handlers read in-memory views and
 * never block an event loop: whatever costs O(leases) runs on a worker thread over a shared copy
 * taken at most once a second. Other components add their routes through {@link #addRoutes(Consumer)}
 * before {@link #start()}. Every error is {@code {"code": ..., "message": ...}} with a proper status.
 *
 * <p>A component ({@link Lifecycle}): it reads the appliance through {@link Views} (the status report, the ledger
 * read only, the meters) and changes seats only through the seat authority. The seat history is the metrics
 * component's: HTTP shows it and streams its samples, it does not start it.
 */
public final class HttpApi implements Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    public static final int MAX_PAGE = LeaseQuery.MAX_LIMIT;
    /** Where the page's files live on the classpath. */
    public static final String WEBROOT = "webroot";
    /** The OpenAPI document on the classpath (and its URL path). */
    public static final String OPENAPI = "openapi.yaml";
    /** Prometheus text exposition format 0.0.4. */
    public static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** Longest accepted force-release reason. */
    public static final int MAX_REASON = 200;
    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /**
     * What the HTTP side reads and asks: narrow views of the appliance, never the composition root.
     *
     * @param status    the summary behind {@code /v1/status}, the page and {@code /health/ready}
     * @param ledger    pools and leases, read only
     * @param authority decides a force-release (in a triad through the Raft log)
     * @param metrics   {@code /metrics}, the seat history, the shared lease copy
     * @param clock     the appliance's clock (ms)
     */
    public record Views(StatusReport status, LedgerView ledger, SeatAuthority authority, ApplianceMetrics metrics,
                        LongSupplier clock) {
    }

    private final Vertx vertx;
    private final Views views;
    private final HttpConfig config;
    private final Router router;
    private final List<Consumer<HttpApi>> extensions = new ArrayList<>();
    private HttpServer server;
    private StatusStream stream;
    private Consumer<SeatHistory.Sample> sampleListener;
    private Buffer openApi;

    public HttpApi(Vertx vertx, HttpConfig config, Views views) {
        this.vertx = vertx;
        this.views = views;
        this.config = config;
        this.router = Router.router(vertx);
    }

    @Override
    public String name() {
        return "http";
    }

    public Router router() {
        return router;
    }

    public Views views() {
        return views;
    }

    public HttpConfig config() {
        return config;
    }

    /** Registers a component's routes; they are mounted at start, after the core routes. */
    public void addRoutes(Consumer<HttpApi> mount) {
        extensions.add(mount);
    }

    /** Mounts the routes and listens; a taken port fails naming {@code http.port}. */
    @Override
    public Future<Void> start() {
        // dependencies first (Hono's lifecycle): a wiring mistake says what is missing instead of a NullPointerException
        return Lifecycle.require(name(), "the status report", views.status())
                .compose(v -> Lifecycle.require(name(), "the ledger", views.ledger()))
                .compose(v -> Lifecycle.require(name(), "the seat authority", views.authority()))
                .compose(v -> Lifecycle.require(name(), "the metrics", views.metrics()))
                .compose(v -> Lifecycle.require(name(), "the clock", views.clock()))
                .compose(v -> listen());
    }

    private Future<Void> listen() {
        ApplianceMetrics metrics = views.metrics();
        stream = new StatusStream(vertx, this::statusJson, config.liveIntervalMs());
        router.route().handler(HttpApi::commonHeaders);
        router.route().handler(BodyHandler.create(false).setBodyLimit(config.maxBodyBytes()));
        router.get("/health/live").handler(ctx -> ctx.json(new JsonObject().put("status", "UP")));
        router.get("/health/ready").handler(this::ready);
        router.get("/v1/status").handler(read(ctx -> ctx.json(statusJson())));
        router.get("/v1/pools").handler(read(ctx -> ctx.json(pools())));
        router.get("/v1/leases").handler(read(this::leases));
        router.get("/v1/leases/:leaseId").handler(read(this::lease));
        router.post("/v1/leases/:leaseId/release").handler(write(this::forceRelease));
        router.get("/v1/history").handler(read(this::history));
        router.get("/v1/events").handler(read(stream::subscribe));
        router.get("/metrics").handler(read(this::metrics));
        router.get("/" + OPENAPI).handler(this::openApi);
        for (Consumer<HttpApi> e : extensions) {
            e.accept(this);
        }
        // The status page: index.html at /, its script and style under /static/ (no CDN, no build step).
        router.get("/").handler(StaticHandler.create(WEBROOT).setCachingEnabled(false).setIndexPage("index.html"));
        router.get("/static/*").handler(StaticHandler.create(WEBROOT + "/static").setCachingEnabled(false));
        for (int status : new int[] {400, 401, 403, 404, 405, 406, 413, 415, 500, 501, 503}) {
            router.errorHandler(status, ctx -> onError(ctx, status));
        }
        HttpServerOptions options = new HttpServerOptions().setHost(config.host()).setPort(config.port())
                .setMaxInitialLineLength(8_192).setMaxHeaderSize(16_384);
        if (config.tls().enabled()) {
            options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                    .setCertPath(config.tls().certPath()).setKeyPath(config.tls().keyPath()));
        }
        return vertx.fileSystem().readFile(OPENAPI)
                .recover(e -> {
                    LOG.warn("{} not found on the classpath: /{} answers 404", OPENAPI, OPENAPI);
                    return Future.succeededFuture(null);
                })
                .compose(spec -> {
                    openApi = spec;
                    return vertx.createHttpServer(options).requestHandler(router).listen();
                })
                .recover(e -> Future.failedFuture(ListenFailure.explain(e, "http.port", config.host(), config.port())))
                .onSuccess(s -> {
                    server = s;
                    sampleListener = stream::sample;
                    metrics.onSample(sampleListener);
                    LOG.info("HTTP {}listening on {}:{} (status page /, admin API {}, reads {}, metrics /metrics)",
                            config.tls().enabled() ? "(TLS) " : "", config.host(), s.actualPort(),
                            config.apiToken().isEmpty() ? "read-only: no api_token" : "token",
                            config.readOpen() ? "open" : "token");
                }).mapEmpty();
    }

    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    @Override
    public Future<Void> stop() {
        if (stream != null) {
            stream.close();
            views.metrics().removeSampleListener(sampleListener);
        }
        return server == null ? Future.succeededFuture() : server.close();
    }

    // ------------------------------------------------------------------ auth

    /** A read route: open on a trusted LAN (read_open), otherwise the bearer token. */
    public Handler<RoutingContext> read(Handler<RoutingContext> h) {
        return ctx -> {
            if (!config.readOpen()) {
                requireToken(ctx);
            }
            h.handle(ctx);
        };
    }

    /** A mutating route: always the bearer token; with no token configured, mutations are off. */
    public Handler<RoutingContext> write(Handler<RoutingContext> h) {
        return ctx -> {
            requireToken(ctx);
            h.handle(ctx);
        };
    }

    private void requireToken(RoutingContext ctx) {
        if (config.apiToken().isEmpty()) {
            throw new ApiError(403, "adminApiDisabled", "no http.api_token is configured, so this call is disabled");
        }
        String header = ctx.request().getHeader("Authorization");
        String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : "";
        // Constant time: the comparison does not reveal where the tokens differ. Never logged.
        if (presented.isEmpty() || !MessageDigest.isEqual(presented.getBytes(StandardCharsets.UTF_8),
                config.apiToken().getBytes(StandardCharsets.UTF_8))) {
            ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"turnstile\"");
            throw new ApiError(401, "unauthorized", presented.isEmpty()
                    ? "this call needs the bearer token (Authorization: Bearer <http.api_token>)"
                    : "wrong bearer token");
        }
    }

    // ------------------------------------------------------------------ errors

    public static void render(RoutingContext ctx, ApiError e) {
        if (ctx.response().ended() || ctx.response().closed()) {
            return;
        }
        if (ctx.response().headWritten()) {
            ctx.response().end(); // a stream that already started cannot change its status
            return;
        }
        ctx.response().setStatusCode(e.status()).putHeader("Content-Type", "application/json")
                .end(e.toJson().encode());
    }

    private void onError(RoutingContext ctx, int status) {
        Throwable f = ctx.failure();
        if (f instanceof ApiError api) {
            render(ctx, api);
        } else if (f instanceof DecodeException) {
            render(ctx, new ApiError(400, "malformedJson", "the request body is not valid JSON"));
        } else if (f != null && status == 500) {
            LOG.error("HTTP {} {} failed", ctx.request().method(), ctx.request().path(), f);
            render(ctx, new ApiError(500, "internalError", "internal error (the appliance's log has the details)"));
        } else {
            render(ctx, switch (status) {
                case 400 -> ApiError.badRequest("bad request");
                case 401 -> new ApiError(401, "unauthorized", "this call needs the bearer token");
                case 403 -> new ApiError(403, "forbidden", "forbidden");
                case 404 -> ApiError.notFound("no route " + ctx.request().path());
                case 405 -> new ApiError(405, "methodNotAllowed",
                        ctx.request().method() + " is not allowed on " + ctx.request().path());
                case 406 -> new ApiError(406, "notAcceptable", "no acceptable representation");
                case 413 -> new ApiError(413, "bodyTooLarge", "request body over " + config.maxBodyBytes() + " bytes");
                case 415 -> new ApiError(415, "unsupportedMediaType", "unsupported content type");
                case 501 -> new ApiError(501, "notImplemented", ctx.request().method() + " is not implemented");
                case 503 -> new ApiError(503, "unavailable", "temporarily unavailable");
                default -> new ApiError(500, "internalError", "internal error");
            });
        }
    }

    private static void commonHeaders(RoutingContext ctx) {
        ctx.response().putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("Cache-Control", "no-cache")
                .putHeader("Referrer-Policy", "no-referrer")
                .putHeader("X-Frame-Options", "DENY")
                .putHeader("Content-Security-Policy", CSP);
        ctx.next();
    }

    // ------------------------------------------------------------------ status, health

    /**
     * {@code GET /v1/status}: the appliance's summary plus what the page needs around it: the store's
     * figures, the server role (null until the triad exists), whether the admin API takes writes, and
     * the heartbeat interval (the page marks leases whose last heartbeat is overdue).
     */
    public JsonObject statusJson() {
        JsonObject s = views.status().page();
        s.put("admin", new JsonObject().put("read_open", config.readOpen())
                .put("mutations_enabled", !config.apiToken().isEmpty()));
        s.put("heartbeat_interval_ms", views.status().heartbeatIntervalMs());
        return s;
    }

    /** Ready only once the TCP server listens, the configuration is bound and the license (if any) is loaded. */
    private void ready(RoutingContext ctx) {
        boolean serving = views.status().serving().ready();
        Object lic = views.status().summary().getValue("license");
        String license = lic instanceof JsonObject o && o.getString("state") != null ? o.getString("state") : "not_configured";
        boolean licenseLoaded = !"none".equals(license);
        boolean ready = serving && licenseLoaded;
        ctx.response().setStatusCode(ready ? 200 : 503);
        ctx.json(new JsonObject().put("status", ready ? "UP" : "DOWN")
                .put("checks", new JsonObject()
                        .put("tcp_listening", serving)
                        .put("config_loaded", true)
                        .put("license", license)
                        .put("draining", views.status().serving().draining())));
    }

    private void openApi(RoutingContext ctx) {
        if (openApi == null) {
            throw ApiError.notFound(OPENAPI + " is not packaged");
        }
        ctx.response().putHeader("Content-Type", "application/yaml; charset=utf-8").end(openApi);
    }

    private void metrics(RoutingContext ctx) {
        ApplianceMetrics m = views.metrics();
        vertx.executeBlocking(m::scrape, false).onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.response().putHeader("Content-Type", PROMETHEUS_CONTENT_TYPE).end(ar.result());
            } else {
                ctx.fail(ar.cause());
            }
        });
    }

    private void history(RoutingContext ctx) {
        SeatHistory h = views.metrics().history();
        if (h == null) {
            throw new ApiError(503, "unavailable", "the seat history has not started");
        }
        ctx.json(h.toJson());
    }

    // ------------------------------------------------------------------ pools and leases

    private JsonArray pools() {
        JsonArray out = new JsonArray();
        for (PoolView p : views.ledger().pools()) {
            out.add(poolJson(p));
        }
        return out;
    }

    public static JsonObject poolJson(PoolView p) {
        return new JsonObject()
                .put("entitlement_id", p.entitlementId())
                .put("tenant_id", p.tenantId())
                .put("product_id", p.productId())
                .put("enforcement", p.enforcement().configName())
                .put("max_seats", p.maxSeats())
                .put("used", p.used())
                .put("waiting", p.waiting())
                .put("high_water", p.highWater())
                .put("starts_at", p.startsAt() == null ? null : p.startsAt().toString())
                .put("ends_at", p.endsAt() == null ? null : p.endsAt().toString());
    }

    public static JsonObject leaseJson(LeaseView l) {
        return new JsonObject()
                .put("lease_id", l.leaseId().toString())
                .put("entitlement_id", l.entitlementId())
                .put("product_id", l.productId())
                .put("session_id", l.sessionId())
                .put("client_id", l.clientId())
                .put("hw_id", l.hwId())
                .put("host", l.remoteAddress())
                .put("quantity", l.quantity())
                .put("state", l.state().name().toLowerCase(Locale.ROOT))
                .put("checked_out_at", Instant.ofEpochMilli(l.checkedOutAtMs()).toString())
                .put("last_heartbeat", Instant.ofEpochMilli(l.lastHeartbeatMs()).toString())
                .put("expires_at", Instant.ofEpochMilli(l.deadlineMs()).toString());
    }

    /** {@code GET /v1/leases}: one page of the shared lease copy, filtered on a worker when it is large. */
    private void leases(RoutingContext ctx) {
        LeaseQuery q = LeaseQuery.parse(ctx.queryParams());
        views.metrics().leases().get()
                .compose(snap -> snap.leases().size() <= LeaseQuery.INLINE_LIMIT && !q.filters()
                        ? Future.succeededFuture(q.run(snap))
                        : vertx.executeBlocking(() -> q.run(snap), false))
                .onComplete(ar -> {
                    if (ar.succeeded()) {
                        ctx.json(ar.result());
                    } else {
                        ctx.fail(ar.cause());
                    }
                });
    }

    private void lease(RoutingContext ctx) {
        UUID id = leaseId(ctx);
        Optional<LeaseView> l = views.ledger().lease(id);
        if (l.isEmpty()) {
            throw new ApiError(404, ErrorCode.LEASE_ID_NOT_FOUND.wireName(), "lease " + id + " is not held");
        }
        ctx.json(leaseJson(l.get()));
    }

    private static UUID leaseId(RoutingContext ctx) {
        String raw = ctx.pathParam("leaseId");
        try {
            if (raw.length() != 36) {
                throw new IllegalArgumentException();
            }
            return UUID.fromString(raw);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("lease id must be a UUID, got '" + truncate(raw, 64) + "'");
        }
    }

    /**
     * {@code POST /v1/leases/{id}/release} with an optional JSON body {@code {"reason": "..."}}: frees
     * the seat now; the holder's session gets NOTICE LEASE_REVOKED with {@code forcedRelease}.
     */
    private void forceRelease(RoutingContext ctx) {
        UUID id = leaseId(ctx);
        String reason = "";
        JsonObject o = bodyObject(ctx, false, "{\"reason\": \"hung CAD session\"}");
        if (o != null) {
            Object r = o.getValue("reason");
            if (r != null && !(r instanceof String)) {
                throw ApiError.badRequest("reason must be a string, got " + jsonType(r));
            }
            reason = r == null ? "" : (String) r;
            if (reason.length() > MAX_REASON) {
                throw ApiError.badRequest("reason must be at most " + MAX_REASON + " characters");
            }
        }
        // the seat authority decides (in a triad a Raft log entry, proposed on the leader and answered after
        // commit; a follower refuses with 409 and the leader's address)
        Optional<LeaseView> before = views.ledger().lease(id);
        final String why = reason;
        views.authority().forceRelease(id, views.clock().getAsLong()).onComplete(ar -> {
            if (ar.failed()) {
                AuthorityRefusal refusal = AuthorityRefusal.of(ar.cause());
                render(ctx, refusal == null ? new ApiError(503, "internalError", "the release was not decided")
                        : new ApiError(refusal.code() == ErrorCode.NOT_MASTER || refusal.code() == ErrorCode.NO_QUORUM
                        ? 409 : 503, refusal.code().wireName(), refusal.getMessage()));
                return;
            }
            if (!ar.result().ok()) {
                render(ctx, new ApiError(404, ar.result().code().wireName(), "lease " + id + " is not held"));
                return;
            }
            views.metrics().leases().invalidate();
            LeaseView l = before.orElse(null);
            LOG.info("lease {} ({}, client={}, hw={}) force-released through the admin API{} by {}{}", id,
                    l == null ? "?" : l.productId(), l == null ? "?" : l.clientId(), l == null ? "?" : l.hwId(),
                    ar.result().term() == 0 ? "" : " (term " + ar.result().term() + ")",
                    ctx.request().remoteAddress(), why.isEmpty() ? "" : ": " + LogText.quote(why));
            JsonObject out = new JsonObject().put("lease_id", id.toString()).put("released", true);
            if (l != null) {
                out.put("product_id", l.productId()).put("client_id", l.clientId()).put("hw_id", l.hwId());
            }
            ctx.json(out);
        });
    }

    /**
     * The request body as a JSON object, for every route that takes one: 400 {@code malformedJson} when it
     * is not JSON (or not UTF-8), 400 {@code badRequest} when it is JSON but not an object ({@code []},
     * {@code "x"}, {@code 1}, {@code null}, {@code true}), or when it is empty and {@code required}.
     * Returns null for an empty optional body. A client's mistake is never a 500.
     *
     * @param example the shape to name in the error message, e.g. {@code {"resolution": "cloud"}}
     */
    public static JsonObject bodyObject(RoutingContext ctx, boolean required, String example) {
        Buffer body = ctx.body() == null ? null : ctx.body().buffer();
        if (body == null || body.length() == 0 || body.toString(StandardCharsets.UTF_8).isBlank()) {
            if (required) {
                throw ApiError.badRequest("send a JSON object as the request body, like " + example);
            }
            return null;
        }
        Object parsed;
        try {
            parsed = io.vertx.core.json.Json.decodeValue(body);
        } catch (DecodeException e) {
            throw new ApiError(400, "malformedJson", "the request body is not valid JSON");
        }
        if (!(parsed instanceof JsonObject o)) {
            throw ApiError.badRequest("the body must be a JSON object like " + example + ", got " + jsonType(parsed));
        }
        return o;
    }

    /** The JSON type of a decoded value, for error messages: never the value itself. */
    public static String jsonType(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof JsonObject) {
            return "an object";
        }
        if (v instanceof JsonArray) {
            return "an array";
        }
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof Boolean) {
            return "a boolean";
        }
        if (v instanceof Number) {
            return "a number";
        }
        return "a " + v.getClass().getSimpleName();
    }

    public static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }
}
