package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.validation.ResponseValidator;
import io.vertx.openapi.validation.ValidatableResponse;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.Yaml;

/**
 * The appliance's {@code openapi.yaml} (from the classpath, as shipped) loaded into vertx-openapi, and a
 * check of real responses against it: the request's path and method must name a documented operation,
 * the status code must be one that operation declares, and the body must match the declared schema
 * for its content type. Only JSON bodies are validated (vertx-openapi does not know text/html,
 * text/event-stream or application/yaml, and fails on text/plain bodies), so the other media types are
 * taken out of the loaded copy; the operations whose success answer is not JSON ({@link #notValidatable})
 * are checked by the tests that call them.
 */
final class OpenApi {
    final JsonObject raw;
    final OpenAPIContract contract;
    private final ResponseValidator validator;
    /** Operation ids a response was validated against. */
    final Set<String> validated = new ConcurrentSkipListSet<>();
    /** Operation ids whose success answer is not JSON (the page, the stream, the metrics, this document). */
    final Set<String> notValidatable = new TreeSet<>();

    private OpenApi(JsonObject raw, OpenAPIContract contract, ResponseValidator validator, Set<String> notValidatable) {
        this.raw = raw;
        this.contract = contract;
        this.validator = validator;
        this.notValidatable.addAll(notValidatable);
    }

    static JsonObject document() throws Exception {
        try (InputStream in = OpenApi.class.getClassLoader().getResourceAsStream(HttpApi.OPENAPI)) {
            assertNotNull(in, HttpApi.OPENAPI + " is on the classpath");
            Object tree = new Yaml().load(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            return new JsonObject(Json.encode(tree)); // plain JSON types all the way down
        }
    }

    static OpenApi load(Vertx vertx) throws Exception {
        JsonObject raw = document();
        JsonObject copy = raw.copy();
        Set<String> stripped = new TreeSet<>();
        JsonObject paths = copy.getJsonObject("paths");
        for (String p : paths.fieldNames()) {
            JsonObject item = paths.getJsonObject(p);
            for (String method : item.fieldNames()) {
                if (!(item.getValue(method) instanceof JsonObject op) || !op.containsKey("responses")) {
                    continue;
                }
                JsonObject responses = op.getJsonObject("responses");
                for (String code : responses.fieldNames()) {
                    if (!strip(responses.getJsonObject(code)) && code.startsWith("2")) {
                        stripped.add(op.getString("operationId"));
                    }
                }
            }
        }
        OpenAPIContract contract = OpenAPIContract.from(vertx, copy).await(30, TimeUnit.SECONDS);
        return new OpenApi(raw, contract, ResponseValidator.create(vertx, contract), stripped);
    }

    /** Removes the media types vertx-openapi does not support; true when a validatable one (or a $ref) is left. */
    private static boolean strip(JsonObject response) {
        if (response.containsKey("$ref")) {
            return true;
        }
        JsonObject content = response.getJsonObject("content");
        if (content == null) {
            return false;
        }
        for (String type : Set.copyOf(content.fieldNames())) {
            // JSON only: vertx-openapi 5.0.8 cannot validate a text/plain body held in a Buffer
            if (!MediaType.isMediaTypeSupported(type) || !type.contains("json")) {
                content.remove(type);
            }
        }
        if (content.isEmpty()) {
            response.remove("content");
            return false;
        }
        return true;
    }

    /** Fails unless {@code reply} to {@code method path} is what the document promises. Returns the operation id. */
    String check(String method, String pathAndQuery, HttpFixture.Reply reply) {
        String path = pathAndQuery.contains("?") ? pathAndQuery.substring(0, pathAndQuery.indexOf('?')) : pathAndQuery;
        Operation op = contract.findOperation(path, HttpMethod.valueOf(method));
        if (op == null) {
            fail("not in openapi.yaml: " + method + " " + path);
        }
        String type = reply.contentType();
        if (type.startsWith("application/json")) {
            type = "application/json";
        } else if (type.startsWith("text/plain")) {
            type = "text/plain";
        }
        ValidatableResponse r = reply.body().isEmpty() && type.isEmpty()
                ? ValidatableResponse.create(reply.status(), Map.of())
                : ValidatableResponse.create(reply.status(), Map.of(), Buffer.buffer(reply.body()), type);
        try {
            validator.validate(r, op.getOperationId()).await(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            fail(method + " " + pathAndQuery + " -> " + reply.status() + " does not match openapi.yaml (" + op.getOperationId()
                    + "): " + e.getMessage() + "\nbody: " + HttpApi.truncate(reply.body(), 2_000));
        }
        validated.add(op.getOperationId());
        return op.getOperationId();
    }

    /** Every operation id in the document. */
    Set<String> operationIds() {
        Set<String> ids = new TreeSet<>();
        for (Operation op : contract.operations()) {
            ids.add(op.getOperationId());
        }
        return ids;
    }
}
