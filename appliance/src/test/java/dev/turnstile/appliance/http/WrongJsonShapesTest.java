package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.SyncFixture;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * 400, never 500, for a client mistake (issue 12, finding 8), driven from {@code openapi.yaml}: every
 * operation that takes a request body gets every wrong JSON shape, with the admin token: each
 * non-object JSON value, each documented property (from the schema's {@code properties} and its
 * examples, nested ones included) set to a value of every other JSON type, odd numbers, an empty
 * body, malformed JSON, deep nesting, invalid UTF-8 and a body over {@code http.max_body}. Every
 * answer must be a 4xx that the document declares for the operation, with the API's error JSON.
 * Operations added to the document later are covered without touching this test.
 */
class WrongJsonShapesTest {
    private static final int MAX_BODY = 65_536;
    /** A valid value of every JSON type but object (an object is what every body must be). */
    private static final List<String> NOT_OBJECTS = List.of("[]", "[1, 2]", "[{}]", "\"x\"", "\"\"", "0", "1", "-1", "1.5",
            "1e400", "null", "true", "false");
    private static final List<String> MALFORMED = List.of("{", "}", "{\"a\":", "{\"a\" 1}", "nul", "tru", "{'a': 1}",
            "{\"a\": 1} trailing", "{\"a\": 1}{}", "\u0000\u0001", "[1, 2", "{\"a\": NaN}", "{\"a\": .5}", "\"unterminated",
            "[".repeat(5_000) + "]".repeat(5_000), "{\"a\":".repeat(3_000) + "1" + "}".repeat(3_000));
    /** Values of every JSON type, for the properties: each property gets those of another type than its own. */
    private static final Map<String, List<String>> OTHER_TYPES = new LinkedHashMap<>();

    static {
        OTHER_TYPES.put("string", List.of("\"x\"", "\"\"", "\"" + "s".repeat(10_000) + "\"", "\"\\u0000\\n\\u001b[31m\""));
        OTHER_TYPES.put("integer", List.of("7", "-1", "0", "2147483648", "99999999999999999999999999", "-9223372036854775809"));
        OTHER_TYPES.put("number", List.of("1.5", "1e400", "-0.0"));
        OTHER_TYPES.put("boolean", List.of("true", "false"));
        OTHER_TYPES.put("array", List.of("[]", "[1]", "[\"x\", {}]"));
        OTHER_TYPES.put("object", List.of("{}", "{\"x\": 1}", "{\"max_seats\": {}}"));
        OTHER_TYPES.put("null", List.of("null"));
    }

    private static SyncFixture s;
    private static final HttpFixture f = new HttpFixture();
    private static OpenApi api;

    @BeforeAll
    static void start() throws Exception {
        // GIVEN an appliance with the sync and license routes and an entitlement the sync manages (so an
        // edit gets past "not managed" into the checks of its fields)
        s = new SyncFixture("wrong-shapes", Instant.parse("2027-03-01T00:00:00Z"));
        s.startCloud();
        s.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 3));
        JsonObject c = s.config();
        c.getJsonObject("http").put("max_body", MAX_BODY);
        s.start(c);
        s.syncUntilSuccess();
        f.appliance = s.appliance;
        api = OpenApi.load(f.vertx);
    }

    @AfterAll
    static void stop() throws Exception {
        f.appliance = null;
        f.close();
        s.close();
    }

    /** One operation that takes a body: its method, a callable path, and its body schema. */
    record BodyOperation(String id, String method, String path, JsonObject schema, boolean required) {
    }

    /** Every operation of {@code openapi.yaml} with a JSON request body, path parameters filled in. */
    static List<BodyOperation> bodyOperations(JsonObject doc) {
        List<BodyOperation> out = new ArrayList<>();
        JsonObject paths = doc.getJsonObject("paths");
        for (String p : paths.fieldNames()) {
            JsonObject item = paths.getJsonObject(p);
            for (String method : item.fieldNames()) {
                if (!(item.getValue(method) instanceof JsonObject op) || !op.containsKey("requestBody")) {
                    continue;
                }
                JsonObject body = resolve(doc, op.getJsonObject("requestBody"));
                JsonObject media = body.getJsonObject("content", new JsonObject()).getJsonObject("application/json");
                JsonObject schema = media == null ? new JsonObject() : resolve(doc, media.getJsonObject("schema", new JsonObject()));
                String path = p.replace("{leaseId}", UUID.randomUUID().toString())
                        .replace("{entitlementId}", "ent-cad")
                        .replaceAll("\\{[A-Za-z]+}", "1");
                out.add(new BodyOperation(op.getString("operationId"), method.toUpperCase(), path, schema,
                        body.getBoolean("required", false)));
            }
        }
        return out;
    }

    static JsonObject resolve(JsonObject doc, JsonObject node) {
        JsonObject n = node;
        while (n != null && n.containsKey("$ref")) {
            JsonObject at = doc;
            for (String part : n.getString("$ref").substring(2).split("/")) {
                at = at.getJsonObject(part);
            }
            n = at;
        }
        return n;
    }

    /**
     * The property paths a body may hold, each with its schema: the schema's {@code properties}
     * (recursively) and the keys of its examples (recursively, typed by their example value).
     */
    static Map<List<String>, JsonObject> properties(JsonObject doc, JsonObject schema) {
        Map<List<String>, JsonObject> out = new LinkedHashMap<>();
        collect(doc, schema, List.of(), out);
        List<Object> examples = new ArrayList<>();
        if (schema.getValue("examples") instanceof JsonArray a) {
            a.forEach(examples::add);
        }
        if (schema.getValue("example") != null) {
            examples.add(schema.getValue("example"));
        }
        for (Object e : examples) {
            if (e instanceof JsonObject o) {
                fromExample(o, List.of(), out);
            }
        }
        return out;
    }

    private static void collect(JsonObject doc, JsonObject schema, List<String> at, Map<List<String>, JsonObject> out) {
        JsonObject props = schema.getJsonObject("properties");
        if (props == null) {
            return;
        }
        for (String k : props.fieldNames()) {
            JsonObject ps = resolve(doc, props.getJsonObject(k));
            List<String> path = append(at, k);
            out.put(path, ps);
            collect(doc, ps, path, out);
        }
    }

    private static void fromExample(JsonObject o, List<String> at, Map<List<String>, JsonObject> out) {
        for (String k : o.fieldNames()) {
            List<String> path = append(at, k);
            Object v = o.getValue(k);
            String type = v instanceof JsonObject ? "object" : v instanceof String ? "string"
                    : v instanceof Integer || v instanceof Long ? "integer" : v instanceof Number ? "number"
                    : v instanceof Boolean ? "boolean" : v instanceof JsonArray ? "array" : "null";
            out.putIfAbsent(path, new JsonObject().put("type", type));
            if (v instanceof JsonObject child) {
                fromExample(child, path, out);
            }
        }
    }

    /** The JSON types a property's schema allows ({@code type: x} or {@code type: [x, "null"]}); empty: any. */
    static Set<String> types(JsonObject schema) {
        Object t = schema.getValue("type");
        Set<String> out = new LinkedHashSet<>();
        if (t instanceof String s1) {
            out.add(s1);
        } else if (t instanceof JsonArray a) {
            a.forEach(x -> out.add(String.valueOf(x)));
        }
        if (out.contains("number")) {
            out.add("integer");
        }
        return out;
    }

    /**
     * The values of its own type that a property's schema still refuses: strings when it has a format, an
     * enum, a pattern or a maximum length (none of the test strings is a date-time, an enum value, or short
     * enough for the long one); integers outside its minimum and maximum.
     */
    static List<String> refusedOfOwnType(JsonObject schema, String type) {
        List<String> out = new ArrayList<>();
        if (type.equals("string") && (schema.containsKey("format") || schema.containsKey("enum")
                || schema.containsKey("pattern"))) {
            out.addAll(OTHER_TYPES.get("string"));
        } else if (type.equals("string") && schema.containsKey("maxLength")) {
            out.add("\"" + "s".repeat(schema.getInteger("maxLength") + 1) + "\"");
        } else if (type.equals("integer")) {
            for (String v : OTHER_TYPES.get("integer")) {
                java.math.BigInteger n = new java.math.BigInteger(v);
                if ((schema.getValue("minimum") instanceof Number min && n.compareTo(java.math.BigInteger.valueOf(min.longValue())) < 0)
                        || (schema.getValue("maximum") instanceof Number max
                        && n.compareTo(java.math.BigInteger.valueOf(max.longValue())) > 0)) {
                    out.add(v);
                }
            }
        }
        return out;
    }

    private static List<String> append(List<String> at, String k) {
        List<String> p = new ArrayList<>(at);
        p.add(k);
        return List.copyOf(p);
    }

    /** {@code {"a": {"b": VALUE}}} for the path [a, b]. */
    static String nest(List<String> path, String value) {
        String json = value;
        for (int i = path.size() - 1; i >= 0; i--) {
            json = "{" + io.vertx.core.json.Json.encode(path.get(i)) + ": " + json + "}";
        }
        return json;
    }

    /** Every wrong body for {@code op}, each with a label. */
    static Map<String, byte[]> wrongBodies(JsonObject doc, BodyOperation op) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String b : NOT_OBJECTS) {
            out.put("not an object: " + b, b.getBytes(StandardCharsets.UTF_8));
        }
        for (String b : MALFORMED) {
            out.put("malformed: " + HttpApi.truncate(b, 40), b.getBytes(StandardCharsets.UTF_8));
        }
        out.put("invalid UTF-8", new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'});
        if (op.required()) {
            out.put("empty body", new byte[0]);
            out.put("blank body", " \n\t ".getBytes(StandardCharsets.UTF_8));
        }
        for (Map.Entry<List<String>, JsonObject> p : properties(doc, op.schema()).entrySet()) {
            Set<String> own = types(p.getValue());
            for (Map.Entry<String, List<String>> t : OTHER_TYPES.entrySet()) {
                List<String> values = own.isEmpty() ? List.of()
                        : own.contains(t.getKey()) ? refusedOfOwnType(p.getValue(), t.getKey()) : t.getValue();
                for (String v : values) {
                    out.put(String.join(".", p.getKey()) + " = " + HttpApi.truncate(v, 40),
                            nest(p.getKey(), v).getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }

    @Test
    @DisplayName("GIVEN every operation of openapi.yaml that takes a JSON body WHEN sent every wrong shape with the admin "
            + "token THEN every answer is a documented 4xx with the error JSON, never a 5xx")
    void every_wrong_json_shape_on_every_body_route_is_a_4xx_with_the_error_json() throws Exception {
        List<BodyOperation> ops = bodyOperations(api.raw);
        Set<String> ids = new LinkedHashSet<>();
        ops.forEach(o -> ids.add(o.id()));
        assertTrue(ids.containsAll(Set.of("releaseLease", "editEntitlement", "resolveSyncConflict", "importLicense")),
                "the operations with a body: " + ids);
        List<String> failures = new ArrayList<>();
        int calls = 0;
        for (BodyOperation op : ops) {
            for (Map.Entry<String, byte[]> b : wrongBodies(api.raw, op).entrySet()) {
                String what = op.method() + " " + op.path() + " (" + op.id() + ") with " + b.getKey();
                HttpFixture.Reply r = f.call(op.method(), op.path(), HttpRequest.BodyPublishers.ofByteArray(b.getValue()),
                        SyncFixture.API_TOKEN, "application/json");
                calls++;
                check(op, what, r, failures);
            }
            // and a body over http.max_body
            byte[] huge = ("{\"reason\": \"" + "x".repeat(MAX_BODY + 10) + "\"}").getBytes(StandardCharsets.UTF_8);
            HttpFixture.Reply r = f.call(op.method(), op.path(), HttpRequest.BodyPublishers.ofByteArray(huge),
                    SyncFixture.API_TOKEN, "application/json");
            calls++;
            check(op, op.method() + " " + op.path() + " with a body over http.max_body", r, failures);
            if (r.status() != 413) {
                failures.add(op.id() + ": an oversized body answered " + r.status() + ", not 413");
            }
        }
        System.out.printf("wrong JSON shapes: %d calls on %d operations, %d failures%n", calls, ops.size(), failures.size());
        assertTrue(failures.isEmpty(), failures.size() + " of " + calls + " calls went wrong:\n" + String.join("\n",
                failures.subList(0, Math.min(60, failures.size()))));
        // AND nothing was changed by any of them
        JsonObject ent = s.get("/v1/entitlements").getJsonArray("entitlements").stream().map(JsonObject.class::cast)
                .filter(e -> "ent-cad".equals(e.getString("entitlement_id"))).findFirst().orElseThrow();
        assertEquals(null, ent.getValue("local_edit"), "a wrong body changed the entitlement: " + ent.encode());
    }

    private static void check(BodyOperation op, String what, HttpFixture.Reply r, List<String> failures) {
        if (r.status() < 400 || r.status() >= 500) {
            failures.add(what + " -> " + r.status() + " " + HttpApi.truncate(r.body(), 300));
            return;
        }
        try {
            HttpBadInputTest.assertJsonError(r, r.status(), what);
            api.check(op.method(), op.path(), r);
        } catch (AssertionError e) {
            failures.add(what + " -> " + r.status() + ": " + HttpApi.truncate(String.valueOf(e.getMessage()), 300));
        }
    }
}
