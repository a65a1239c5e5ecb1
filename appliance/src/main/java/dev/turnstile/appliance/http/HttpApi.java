package dev.turnstile.appliance.http;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of the appliance: health, the admin API under {@code /v1/} and (later) the status
 * page and metrics. Every handler reads in-memory views and never blocks the event loop. Other
 * components add their routes through {@link #addRoutes(Consumer)} before {@link #start()}.
 */
public final class HttpApi {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    public static final int MAX_PAGE = 1_000;

    private final Appliance appliance;
    private final HttpConfig config;
    private final Router router;
    private final List<Consumer<HttpApi>> extensions = new ArrayList<>();
    private HttpServer server;

    public HttpApi(Appliance appliance, HttpConfig config) {
        this.appliance = appliance;
        this.config = config;
        this.router = Router.router(appliance.vertx());
    }

    public Router router() {
        return router;
    }

    public Appliance appliance() {
        return appliance;
    }

    public HttpConfig config() {
        return config;
    }

    /** Registers a component's routes; they are mounted at start, after the core routes. */
    public void addRoutes(Consumer<HttpApi> mount) {
        extensions.add(mount);
    }

    public Future<HttpServer> start() {
        router.route().handler(BodyHandler.create(false).setBodyLimit(config.maxBodyBytes()));
        router.get("/health/live").handler(ctx -> ctx.json(new JsonObject().put("status", "UP")));
        router.get("/health/ready").handler(ctx -> {
            boolean ready = appliance.isReady();
            ctx.response().setStatusCode(ready ? 200 : 503);
            ctx.json(new JsonObject().put("status", ready ? "UP" : "DOWN"));
        });
        router.get("/v1/status").handler(read(ctx -> ctx.json(appliance.statusJson())));
        router.get("/v1/pools").handler(read(ctx -> ctx.json(pools())));
        router.get("/v1/leases").handler(read(this::leases));
        router.post("/v1/leases/:leaseId/release").handler(write(this::forceRelease));
        for (Consumer<HttpApi> e : extensions) {
            e.accept(this);
        }
        router.errorHandler(405, ctx -> render(ctx, new ApiError(405, "methodNotAllowed",
                ctx.request().method() + " is not allowed on " + ctx.request().path())));
        router.errorHandler(413, ctx -> render(ctx, new ApiError(413, "bodyTooLarge",
                "request body over " + config.maxBodyBytes() + " bytes")));
        router.errorHandler(404, ctx -> render(ctx, new ApiError(404, "notFound", "no route " + ctx.request().path())));
        router.errorHandler(500, ctx -> {
            Throwable f = ctx.failure();
            if (f instanceof ApiError api) {
                render(ctx, api);
            } else if (f instanceof io.vertx.core.json.DecodeException) {
                render(ctx, ApiError.badRequest("malformed JSON: " + f.getMessage()));
            } else {
                LOG.error("HTTP {} {} failed", ctx.request().method(), ctx.request().path(), f);
                render(ctx, new ApiError(500, "internalError", "internal error"));
            }
        });
        HttpServerOptions options = new HttpServerOptions().setHost(config.host()).setPort(config.port())
                .setMaxInitialLineLength(8_192).setMaxHeaderSize(16_384);
        if (config.tls().enabled()) {
            options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                    .setCertPath(config.tls().certPath()).setKeyPath(config.tls().keyPath()));
        }
        return appliance.vertx().createHttpServer(options).requestHandler(router).listen()
                .onSuccess(s -> {
                    server = s;
                    LOG.info("HTTP {}listening on {}:{} (admin API {}, reads {})", config.tls().enabled() ? "(TLS) " : "",
                            config.host(), s.actualPort(), config.apiToken().isEmpty() ? "DISABLED: no api_token" : "token",
                            config.readOpen() ? "open" : "token");
                });
    }

    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    public Future<Void> stop() {
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
            ctx.response().putHeader("WWW-Authenticate", "Bearer");
            throw new ApiError(401, "unauthorized", "missing or wrong bearer token");
        }
    }

    public static void render(RoutingContext ctx, ApiError e) {
        if (ctx.response().ended()) {
            return;
        }
        ctx.response().setStatusCode(e.status()).putHeader("Content-Type", "application/json")
                .end(e.toJson().encode());
    }

    // ------------------------------------------------------------------ core routes

    private JsonArray pools() {
        JsonArray out = new JsonArray();
        for (PoolView p : appliance.ledger().pools()) {
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

    private void leases(RoutingContext ctx) {
        String product = ctx.queryParams().get("product");
        String q = ctx.queryParams().get("q");
        int offset = intParam(ctx, "offset", 0, 0, Integer.MAX_VALUE);
        int limit = intParam(ctx, "limit", 100, 1, MAX_PAGE);
        String needle = q == null ? null : q.toLowerCase(Locale.ROOT);
        List<LeaseView> all = appliance.ledger().leases();
        JsonArray page = new JsonArray();
        int matched = 0;
        for (LeaseView l : all) {
            if (product != null && !product.isEmpty() && !l.productId().equals(product)) {
                continue;
            }
            if (needle != null && !needle.isEmpty() && !(l.clientId().toLowerCase(Locale.ROOT).contains(needle)
                    || l.hwId().toLowerCase(Locale.ROOT).contains(needle)
                    || l.remoteAddress().toLowerCase(Locale.ROOT).contains(needle)
                    || l.leaseId().toString().contains(needle))) {
                continue;
            }
            if (matched >= offset && page.size() < limit) {
                page.add(leaseJson(l));
            }
            matched++;
        }
        ctx.json(new JsonObject().put("total", matched).put("offset", offset).put("limit", limit).put("leases", page));
    }

    private static int intParam(RoutingContext ctx, String name, int def, int min, int max) {
        String v = ctx.queryParams().get(name);
        if (v == null || v.isEmpty()) {
            return def;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw ApiError.badRequest(name + " must be between " + min + " and " + max + ", got " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be an integer, got '" + v + "'");
        }
    }

    private void forceRelease(RoutingContext ctx) {
        UUID id;
        try {
            id = UUID.fromString(ctx.pathParam("leaseId"));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("lease id must be a UUID, got '" + ctx.pathParam("leaseId") + "'");
        }
        ErrorCode code = appliance.ledger().forceRelease(id, appliance.nowMs());
        if (code != ErrorCode.OK) {
            throw new ApiError(404, code.wireName(), "lease " + id + " is not held");
        }
        LOG.info("lease {} force-released through the admin API", id);
        ctx.json(new JsonObject().put("lease_id", id.toString()).put("released", true));
    }
}
