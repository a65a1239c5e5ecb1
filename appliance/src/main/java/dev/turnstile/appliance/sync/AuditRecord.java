package dev.turnstile.appliance.sync;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * One row of the sync audit: every sync attempt (and every license import), whatever its outcome.
 *
 * @param trigger  start, schedule, manual (POST /v1/sync/trigger), urgent:&lt;reason&gt;, import, file, retry
 * @param outcome  success, failed, auth_failed, invalid, breaker_open, store_failed, stopped
 * @param attempts HTTP exchanges made (retries included)
 * @param error    what went wrong, or {@code null}
 */
public record AuditRecord(long startedAtMs, long finishedAtMs, String trigger, String outcome, int attempts,
                          String tokenBefore, String tokenAfter, int created, int updated, int deleted, int conflicts,
                          String error) {

    /** The error text never carries a secret (it is shown by /v1/sync/status and the audit API). */
    public AuditRecord {
        error = dev.turnstile.appliance.log.Redaction.redact(error);
    }

    public boolean success() {
        return "success".equals(outcome);
    }

    public JsonObject toJson() {
        return new JsonObject()
                .put("started_at", Instant.ofEpochMilli(startedAtMs).toString())
                .put("finished_at", Instant.ofEpochMilli(finishedAtMs).toString())
                .put("trigger", trigger)
                .put("outcome", outcome)
                .put("attempts", attempts)
                .put("token_before", tokenBefore)
                .put("token_after", tokenAfter)
                .put("created", created)
                .put("updated", updated)
                .put("deleted", deleted)
                .put("conflicts", conflicts)
                .put("error", error);
    }

    public static AuditRecord fromJson(JsonObject o) {
        return new AuditRecord(Instant.parse(o.getString("started_at")).toEpochMilli(),
                Instant.parse(o.getString("finished_at")).toEpochMilli(), o.getString("trigger"), o.getString("outcome"),
                o.getInteger("attempts", 0), o.getString("token_before"), o.getString("token_after"),
                o.getInteger("created", 0), o.getInteger("updated", 0), o.getInteger("deleted", 0),
                o.getInteger("conflicts", 0), o.getString("error"));
    }
}
