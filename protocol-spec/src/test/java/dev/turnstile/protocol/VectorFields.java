package dev.turnstile.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import dev.turnstile.protocol.Message.CheckedIn;
import dev.turnstile.protocol.Message.Checkin;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Denied;
import dev.turnstile.protocol.Message.Goodbye;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.Heartbeat;
import dev.turnstile.protocol.Message.HeartbeatResult;
import dev.turnstile.protocol.Message.Hello;
import dev.turnstile.protocol.Message.LeaseStatus;
import dev.turnstile.protocol.Message.Notice;
import dev.turnstile.protocol.Message.Queued;
import dev.turnstile.protocol.Message.Welcome;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The "fields" object of a valid vector (vectors/README.md): a message as the snake_case field names of
 * PROTOCOL.md, in wire order. Numbers are {@link BigInteger} (so u32 and u64 keep their unsigned value),
 * lease ids lowercase UUID text, lists {@link List}. Count fields (peer_count, lease_count, result_count)
 * are implied by the list length and do not appear.
 */
final class VectorFields {
    private VectorFields() {
    }

    static Map<String, Object> toFields(Message message) {
        Map<String, Object> f = new LinkedHashMap<>();
        switch (message.type()) {
            case HELLO -> {
                Hello m = (Hello) message;
                f.put("client_id", m.clientId());
                f.put("hw_id", m.hwId());
                f.put("client_version", m.clientVersion());
                f.put("auth_token", m.authToken());
            }
            case WELCOME -> {
                Welcome m = (Welcome) message;
                f.put("server_id", m.serverId());
                f.put("heartbeat_interval_ms", n(m.heartbeatIntervalMs()));
                f.put("lease_timeout_ms", n(m.leaseTimeoutMs()));
                f.put("server_time_ms", u64(m.serverTimeMs()));
                f.put("license_valid_until_ms", u64(m.licenseValidUntilMs()));
                f.put("flags", n(m.flags()));
                f.put("peers", new ArrayList<Object>(m.peers()));
            }
            case CHECKOUT -> {
                Checkout m = (Checkout) message;
                f.put("product", m.product());
                f.put("license_key", m.licenseKey());
                f.put("quantity", n(m.quantity()));
                f.put("enforcement", n(m.enforcement()));
                f.put("flags", n(m.flags()));
                f.put("wait_timeout_ms", n(m.waitTimeoutMs()));
                f.put("reclaim_lease_id", id(m.reclaimLeaseId()));
                secret(f, m.reclaimSecret());
            }
            case GRANTED -> {
                Granted m = (Granted) message;
                f.put("lease_id", id(m.leaseId()));
                f.put("entitlement_id", m.entitlementId());
                f.put("product", m.product());
                f.put("quantity", n(m.quantity()));
                f.put("lease_timeout_ms", n(m.leaseTimeoutMs()));
                f.put("term", u64(m.term()));
                f.put("log_index", u64(m.logIndex()));
                f.put("flags", n(m.flags()));
                secret(f, m.reclaimSecret());
            }
            case QUEUED -> {
                Queued m = (Queued) message;
                f.put("position", n(m.position()));
                f.put("wait_timeout_ms", n(m.waitTimeoutMs()));
            }
            case DENIED -> {
                Denied m = (Denied) message;
                f.put("code", n(m.code()));
                f.put("retry_after_ms", n(m.retryAfterMs()));
                f.put("leader", m.leader());
                f.put("message", m.message());
            }
            case HEARTBEAT -> {
                List<Object> ids = new ArrayList<>();
                for (UUID u : ((Heartbeat) message).leaseIds()) {
                    ids.add(id(u));
                }
                f.put("lease_ids", ids);
            }
            case HEARTBEAT_RESULT -> {
                List<Object> results = new ArrayList<>();
                for (LeaseStatus s : ((HeartbeatResult) message).results()) {
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("lease_id", id(s.leaseId()));
                    r.put("code", n(s.code()));
                    r.put("remaining_ms", n(s.remainingMs()));
                    results.add(r);
                }
                f.put("results", results);
            }
            case CHECKIN -> {
                f.put("lease_id", id(((Checkin) message).leaseId()));
                secret(f, ((Checkin) message).reclaimSecret());
            }
            case CHECKED_IN -> f.put("lease_id", id(((CheckedIn) message).leaseId()));
            case NOTICE -> {
                Notice m = (Notice) message;
                f.put("kind", n(m.kind()));
                f.put("lease_id", id(m.leaseId()));
                f.put("code", n(m.code()));
                f.put("product", m.product());
                f.put("deadline_ms", u64(m.deadlineMs()));
                f.put("text", m.text());
            }
            case GOODBYE -> {
                Goodbye m = (Goodbye) message;
                f.put("code", n(m.code()));
                f.put("message", m.message());
            }
            case ERROR -> {
                Message.Error m = (Message.Error) message;
                f.put("code", n(m.code()));
                f.put("message", m.message());
            }
        }
        return f;
    }

    /** Builds the message a vector's "fields" describe; independent of {@link #toFields}. */
    static Message fromFields(MessageType type, JsonNode f) {
        return switch (type) {
            case HELLO -> new Hello(s(f, "client_id"), s(f, "hw_id"), s(f, "client_version"), s(f, "auth_token"));
            case WELCOME -> {
                List<String> peers = new ArrayList<>();
                for (JsonNode p : req(f, "peers")) {
                    peers.add(p.textValue());
                }
                yield new Welcome(s(f, "server_id"), l(f, "heartbeat_interval_ms"), l(f, "lease_timeout_ms"),
                        l(f, "server_time_ms"), l(f, "license_valid_until_ms"), i(f, "flags"), peers);
            }
            case CHECKOUT -> new Checkout(s(f, "product"), s(f, "license_key"), l(f, "quantity"), i(f, "enforcement"),
                    i(f, "flags"), l(f, "wait_timeout_ms"), uuid(req(f, "reclaim_lease_id")), secret(f));
            case GRANTED -> new Granted(uuid(req(f, "lease_id")), s(f, "entitlement_id"), s(f, "product"),
                    l(f, "quantity"), l(f, "lease_timeout_ms"), l(f, "term"), l(f, "log_index"), i(f, "flags"),
                    secret(f));
            case QUEUED -> new Queued(l(f, "position"), l(f, "wait_timeout_ms"));
            case DENIED -> new Denied(i(f, "code"), l(f, "retry_after_ms"), s(f, "leader"), s(f, "message"));
            case HEARTBEAT -> {
                List<UUID> ids = new ArrayList<>();
                for (JsonNode u : req(f, "lease_ids")) {
                    ids.add(uuid(u));
                }
                yield new Heartbeat(ids);
            }
            case HEARTBEAT_RESULT -> {
                List<LeaseStatus> results = new ArrayList<>();
                for (JsonNode r : req(f, "results")) {
                    results.add(new LeaseStatus(uuid(req(r, "lease_id")), i(r, "code"), l(r, "remaining_ms")));
                }
                yield new HeartbeatResult(results);
            }
            case CHECKIN -> new Checkin(uuid(req(f, "lease_id")), secret(f));
            case CHECKED_IN -> new CheckedIn(uuid(req(f, "lease_id")));
            case NOTICE -> new Notice(i(f, "kind"), uuid(req(f, "lease_id")), i(f, "code"), s(f, "product"),
                    l(f, "deadline_ms"), s(f, "text"));
            case GOODBYE -> new Goodbye(i(f, "code"), s(f, "message"));
            case ERROR -> new Message.Error(i(f, "code"), s(f, "message"));
        };
    }

    /** A version 2 reclaim_secret as lowercase hex (64 digits); absent in version 1. */
    private static void secret(Map<String, Object> f, byte[] secret) {
        if (secret != null) {
            f.put("reclaim_secret", java.util.HexFormat.of().formatHex(secret));
        }
    }

    private static byte[] secret(JsonNode f) {
        JsonNode s = f.get("reclaim_secret");
        return s == null ? null : java.util.HexFormat.of().parseHex(s.textValue());
    }

    /** Turns parsed JSON (Jackson with big integers) into the shapes {@link #toFields} produces. */
    @SuppressWarnings("unchecked")
    static Object normalise(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put((String) e.getKey(), normalise(e.getValue()));
            }
            return out;
        }
        if (o instanceof List<?> list) {
            List<Object> out = new ArrayList<>();
            for (Object x : list) {
                out.add(normalise(x));
            }
            return out;
        }
        if (o instanceof Number num) {
            return new BigInteger(num.toString());
        }
        return o;
    }

    // ------------------------------------------------------------------ JSON writing (flat, one key a line)

    /** Writes a vector's JSON in the fixed layout of vectors/README.md. */
    static String json(Map<String, Object> top) {
        StringBuilder sb = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, Object> e : top.entrySet()) {
            sb.append("  ").append(str(e.getKey())).append(": ");
            if (e.getValue() instanceof Map<?, ?> fields) {
                sb.append("{\n");
                int j = 0;
                for (Map.Entry<?, ?> fe : fields.entrySet()) {
                    sb.append("    ").append(str((String) fe.getKey())).append(": ").append(value(fe.getValue()));
                    sb.append(++j < fields.size() ? ",\n" : "\n");
                }
                sb.append("  }");
            } else {
                sb.append(value(e.getValue()));
            }
            sb.append(++i < top.size() ? ",\n" : "\n");
        }
        return sb.append("}\n").toString();
    }

    private static String value(Object v) {
        if (v instanceof String s) {
            return str(s);
        }
        if (v instanceof Boolean || v instanceof Number) {
            return v.toString();
        }
        if (v instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            for (int k = 0; k < list.size(); k++) {
                sb.append(k == 0 ? "" : ", ").append(value(list.get(k)));
            }
            return sb.append(']').toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            int k = 0;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(k++ == 0 ? "" : ", ").append(str((String) e.getKey())).append(": ").append(value(e.getValue()));
            }
            return sb.append('}').toString();
        }
        throw new IllegalArgumentException("cannot write " + v);
    }

    /** Raw UTF-8 text; only '"', '\\' and control characters are escaped. */
    private static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    // ------------------------------------------------------------------ helpers

    private static BigInteger n(long v) {
        return BigInteger.valueOf(v);
    }

    private static BigInteger u64(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    private static String id(UUID u) {
        return u.toString();
    }

    private static JsonNode req(JsonNode f, String name) {
        JsonNode v = f.get(name);
        if (v == null) {
            throw new IllegalArgumentException("vector lacks field " + name);
        }
        return v;
    }

    private static String s(JsonNode f, String name) {
        JsonNode v = req(f, name);
        if (!v.isTextual()) {
            throw new IllegalArgumentException(name + " is not a string");
        }
        return v.textValue();
    }

    private static long l(JsonNode f, String name) {
        JsonNode v = req(f, name);
        if (!v.isIntegralNumber()) {
            throw new IllegalArgumentException(name + " is not an integer");
        }
        return v.bigIntegerValue().longValue(); // u64 above 2^63-1 wraps to the same 64 bits
    }

    private static int i(JsonNode f, String name) {
        return Math.toIntExact(l(f, name));
    }

    private static UUID uuid(JsonNode v) {
        String text = v.textValue();
        if (text == null || !text.equals(text.toLowerCase(Locale.ROOT)) || text.length() != 36) {
            throw new IllegalArgumentException("lease id must be lowercase 8-4-4-4-12 UUID text: " + v);
        }
        return UUID.fromString(text);
    }
}
