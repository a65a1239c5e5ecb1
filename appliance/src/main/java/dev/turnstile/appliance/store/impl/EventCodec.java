package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.util.UUID;

/**
 * One event as one line of JSON, for the spill file and the parked-events file. Readable by an
 * admin with {@code jq}; the field names are short because a spill file may hold millions of lines.
 *
 * <pre>{"run":"…","seq":42,"enq":1795…,["by":"…","fence":"…","term":7,]"kind":"CHECKOUT","at":1795…,"lease":"…","ent":"ent-cad",
 *  "prod":"cad-pro","sess":7,"client":"c1","hw":"hw1","qty":1,"reason":"ok","used":1,"high":1[,"sh":"…"]}</pre>
 *
 * {@code sh}: the spill file only ({@link #encodeSpilled}): a CHECKOUT's or RECLAIM's reclaim secret hash (hex), so a
 * lease spilled during an outage keeps its proof of ownership through a restart. {@link #encode} (log lines, the
 * parked-events file) leaves it out: no hash ever reaches a log.
 */
final class EventCodec {
    private EventCodec() {
    }

    /** One line without the secret hash: for log lines and the parked-events file. */
    static String encode(QueuedEvent q) {
        StringBuilder sb = new StringBuilder(256);
        encodeTo(sb, q, false);
        return sb.toString();
    }

    /** Appends one spill line (without the newline), with the secret hash. */
    static void encodeSpilled(StringBuilder sb, QueuedEvent q) {
        encodeTo(sb, q, true);
    }

    /**
     * Appends one line (without the newline). Written by hand rather than through a JSON tree: the
     * spill must keep up with the ledger when Postgres is away, so this is on the hot path.
     */
    private static void encodeTo(StringBuilder sb, QueuedEvent q, boolean withSecretHash) {
        LedgerEvent e = q.event;
        sb.append("{\"run\":\"").append(q.runId).append("\",\"seq\":").append(q.seq)
                .append(",\"enq\":").append(q.enqueuedAtMs);
        if (q.queuedBy != null) {
            sb.append(",\"by\":\"").append(q.queuedBy).append('"'); // triad: keyed by the journal id
        }
        if (q.fence != null) { // triad: the fence and the term of the leadership that queued it
            sb.append(",\"fence\":\"").append(q.fence).append("\",\"term\":").append(q.term);
        }
        sb
                .append(",\"kind\":\"").append(e.kind().name()).append('"')
                .append(",\"at\":").append(e.atMs());
        if (e.leaseId() != null) {
            sb.append(",\"lease\":\"").append(e.leaseId()).append('"');
        }
        string(sb, "ent", e.entitlementId());
        string(sb, "prod", e.productId());
        sb.append(",\"sess\":").append(e.sessionId());
        string(sb, "client", e.clientId());
        string(sb, "hw", e.hwId());
        sb.append(",\"qty\":").append(e.quantity());
        string(sb, "reason", e.reason() == null ? null : e.reason().wireName());
        sb.append(",\"used\":").append(e.poolUsed())
                .append(",\"high\":").append(e.poolHighWater());
        if (withSecretHash && e.secretHash() != null) {
            sb.append(",\"sh\":\"").append(HEX.formatHex(e.secretHash().bytes())).append('"');
        }
        sb.append('}');
    }

    private static final java.util.HexFormat HEX = java.util.HexFormat.of();

    private static void string(StringBuilder sb, String name, String value) {
        sb.append(",\"").append(name).append("\":");
        if (value == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20 || ch == 0x2028 || ch == 0x2029) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static dev.turnstile.appliance.seat.SecretHash secretHash(String hex) {
        return hex == null ? null : dev.turnstile.appliance.seat.SecretHash.fromBytes(HEX.parseHex(hex));
    }

    /** @throws IllegalArgumentException for a line that is not one of ours (reported with its place by the caller) */
    static QueuedEvent decode(String line) {
        try {
            JsonObject o = new JsonObject(line);
            String lease = o.getString("lease");
            String reason = o.getString("reason");
            ErrorCode code = reason == null ? ErrorCode.OK : ErrorCode.ofName(reason);
            if (code == null) {
                code = ErrorCode.INTERNAL_ERROR;
            }
            LedgerEvent e = new LedgerEvent(LedgerEvent.Kind.valueOf(o.getString("kind")), o.getLong("at"),
                    lease == null ? null : UUID.fromString(lease), o.getString("ent"), o.getString("prod"),
                    o.getLong("sess", 0L), o.getString("client"), o.getString("hw"), o.getLong("qty", 0L), code,
                    o.getLong("used", 0L), o.getLong("high", 0L), secretHash(o.getString("sh")));
            QueuedEvent q = new QueuedEvent(e, o.getLong("enq"), UUID.fromString(o.getString("run")), o.getLong("seq"));
            String by = o.getString("by");
            q.queuedBy = by == null ? null : UUID.fromString(by);
            String fence = o.getString("fence");
            if (fence != null) {
                q.fence = UUID.fromString(fence);
                q.term = o.getLong("term", 0L);
            }
            return q;
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException("not a spilled event: " + ex.getMessage(), ex);
        }
    }
}
