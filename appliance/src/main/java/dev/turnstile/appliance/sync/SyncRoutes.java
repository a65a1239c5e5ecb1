package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.http.ApiError;
import dev.turnstile.appliance.http.HttpApi;
import dev.turnstile.appliance.license.LicenseDocument;
import dev.turnstile.appliance.license.LicenseException;
import dev.turnstile.appliance.log.Redaction;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.NoSuchElementException;

/**
 * The admin API of the sync and the license (appliance/SYNC.md, "Admin API"). Reads follow
 * {@code http.read_open}; every mutating call needs the bearer token ({@link HttpApi#write}).
 * <pre>
 * GET    /v1/sync/status                       status, last/next sync, counts, breaker, alerts
 * POST   /v1/sync/trigger[?wait=true]          run a sync now (202, or 200 with its audit row when waiting)
 * GET    /v1/sync/audit[?limit=50]             the newest audit rows
 * GET    /v1/sync/conflicts[?status=all]       pending conflicts (or all kept)
 * POST   /v1/sync/conflicts/{id}/resolve       {"resolution": "cloud" | "local"}
 * GET    /v1/entitlements                      entitlements the sync manages: served, cloud, local edit
 * PATCH  /v1/entitlements/{id}                 local edit: {"policy": {"max_seats": 7}, "ends_at": "..."}
 * DELETE /v1/entitlements/{id}/local-edit      drop the local edit (serve the cloud's version again)
 * GET    /v1/license                           the installed license and its validity
 * POST   /v1/license                           import a signed license document (air-gapped sites)
 * </pre>
 */
final class SyncRoutes {
    private SyncRoutes() {
    }

    static void mount(HttpApi api, SyncVerticle v) {
        var r = api.router();
        r.get("/v1/sync/status").handler(api.read(ctx -> ctx.json(v.sync().statusJson())));
        r.post("/v1/sync/trigger").handler(api.write(ctx -> {
            if (!v.sync().config().enabled()) {
                throw new ApiError(409, "syncDisabled", "sync is disabled (sync.enabled: false)");
            }
            Future<AuditRecord> f = v.sync().trigger("manual");
            if ("true".equals(ctx.queryParams().get("wait"))) {
                reply(ctx, f.map(AuditRecord::toJson));
            } else {
                ctx.response().setStatusCode(202);
                ctx.json(new JsonObject().put("accepted", true).put("status", v.sync().statusJson()));
            }
        }));
        r.get("/v1/sync/audit").handler(api.read(ctx -> {
            int limit = 50;
            String l = ctx.queryParams().get("limit");
            if (l != null) {
                try {
                    limit = Integer.parseInt(l);
                } catch (NumberFormatException e) {
                    limit = -1;
                }
                if (limit < 1 || limit > 1_000) {
                    throw ApiError.badRequest("limit must be between 1 and 1000, got '" + l + "'");
                }
            }
            reply(ctx, v.sync().audit(limit).map(rows -> {
                JsonArray a = new JsonArray();
                rows.forEach(x -> a.add(x.toJson()));
                return new JsonObject().put("audit", a);
            }));
        }));
        r.get("/v1/sync/conflicts").handler(api.read(ctx -> reply(ctx,
                v.sync().conflicts(!"all".equals(ctx.queryParams().get("status"))).map(a -> new JsonObject().put("conflicts", a)))));
        r.post("/v1/sync/conflicts/:id/resolve").handler(api.write(ctx -> {
            long id;
            try {
                id = Long.parseLong(ctx.pathParam("id"));
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("conflict id must be a number, got '" + ctx.pathParam("id") + "'");
            }
            JsonObject body = HttpApi.bodyObject(ctx, true, "{\"resolution\": \"cloud\"}");
            Object resolution = body.getValue("resolution");
            if (!(resolution instanceof String res) || !(res.equals("cloud") || res.equals("local"))) {
                throw ApiError.badRequest("resolution must be \"cloud\" or \"local\", got "
                        + (resolution instanceof String ? "'" + HttpApi.truncate((String) resolution, 64) + "'"
                        : HttpApi.jsonType(resolution)));
            }
            reply(ctx, v.sync().resolveConflict(id, res));
        }));
        r.get("/v1/entitlements").handler(api.read(ctx -> reply(ctx,
                v.sync().entitlements().map(a -> new JsonObject().put("entitlements", a)))));
        r.patch("/v1/entitlements/:id").handler(api.write(ctx ->
                reply(ctx, v.sync().editLocally(ctx.pathParam("id"), HttpApi.bodyObject(ctx, true,
                        "{\"policy\": {\"max_seats\": 7}, \"ends_at\": \"2027-06-30T00:00:00Z\"}")))));
        r.delete("/v1/entitlements/:id/local-edit").handler(api.write(ctx ->
                reply(ctx, v.sync().revertLocalEdit(ctx.pathParam("id")))));
        r.get("/v1/license").handler(api.read(ctx -> ctx.json(v.license().statusJson(v.nowMs()))));
        r.post("/v1/license").handler(api.write(ctx -> {
            String text = ctx.body() == null ? null : ctx.body().asString();
            if (text == null || text.isBlank()) {
                throw ApiError.badRequest("send the license document (JSON) as the request body");
            }
            reply(ctx, v.license().importText(text, "import (POST /v1/license)").map(LicenseDocument::summary));
        }));
    }

    private static void reply(RoutingContext ctx, Future<?> f) {
        f.onComplete(ar -> {
            if (ar.succeeded()) {
                ctx.json(ar.result());
            } else {
                ApiError e = toApiError(ar.cause());
                if (e == null) {
                    ctx.fail(ar.cause()); // a bug, not the client's mistake: logged, answered with a plain 500
                } else {
                    ctx.fail(e);
                }
            }
        });
    }

    /** The API error for a failure the client can act on (with its redacted message); null for anything else. */
    static ApiError toApiError(Throwable t) {
        if (t instanceof ApiError a) {
            return a;
        }
        if (t instanceof LicenseException le) {
            return new ApiError(422, le.reason().code(), Redaction.redact(le.getMessage()));
        }
        if (t instanceof NoSuchElementException) {
            return ApiError.notFound(Redaction.redact(t.getMessage()));
        }
        if (t instanceof IllegalArgumentException) {
            return new ApiError(400, "invalidRequest", Redaction.redact(t.getMessage()));
        }
        if (t instanceof IllegalStateException) {
            return new ApiError(409, "conflict", Redaction.redact(t.getMessage()));
        }
        return null;
    }
}
