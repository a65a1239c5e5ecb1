package dev.turnstile.appliance.config;

import io.vertx.config.ConfigRetriever;
import io.vertx.config.ConfigRetrieverOptions;
import io.vertx.config.ConfigStoreOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the YAML file through vertx-config, then applies the environment:
 * <ul>
 *   <li>{@code ${NAME}} and {@code ${NAME:-default}} inside string values are replaced by the
 *       environment variable (so secrets live in the environment, never in the file);</li>
 *   <li>{@code TURNSTILE_<SECTION>__<KEY>=value} overrides a key; {@code __} separates levels,
 *       e.g. {@code TURNSTILE_SERVER__PORT=7879} sets {@code server.port}.</li>
 * </ul>
 */
public final class ConfigLoader {
    public static final String ENV_PREFIX = "TURNSTILE_";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private ConfigLoader() {
    }

    public static Future<JsonObject> load(Vertx vertx, String path, Map<String, String> env) {
        ConfigRetriever retriever = ConfigRetriever.create(vertx, new ConfigRetrieverOptions()
                .setScanPeriod(0)
                .addStore(new ConfigStoreOptions().setType("file").setFormat("yaml")
                        .setConfig(new JsonObject().put("path", path))));
        return retriever.getConfig()
                .andThen(ar -> retriever.close())
                .recover(e -> Future.failedFuture(new ConfigException(List.of(
                        "cannot read " + path + ": " + rootMessage(e)))))
                .map(tree -> applyEnvironment(tree, env));
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** Interpolates placeholders and applies {@code TURNSTILE_A__B} overrides; returns a new tree. */
    public static JsonObject applyEnvironment(JsonObject tree, Map<String, String> env) {
        List<String> missing = new ArrayList<>();
        JsonObject out = (JsonObject) interpolate(tree.copy(), env, missing, "");
        if (!missing.isEmpty()) {
            throw new ConfigException(missing);
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || !name.contains("__")) {
                continue;
            }
            String[] path = name.substring(ENV_PREFIX.length()).toLowerCase(java.util.Locale.ROOT).split("__");
            JsonObject node = out;
            for (int i = 0; i < path.length - 1; i++) {
                Object child = node.getValue(path[i]);
                if (!(child instanceof JsonObject)) {
                    child = new JsonObject();
                    node.put(path[i], child);
                }
                node = (JsonObject) child;
            }
            node.put(path[path.length - 1], e.getValue());
        }
        return out;
    }

    private static Object interpolate(Object v, Map<String, String> env, List<String> missing, String key) {
        if (v instanceof JsonObject o) {
            for (String k : List.copyOf(o.fieldNames())) {
                o.put(k, interpolate(o.getValue(k), env, missing, key.isEmpty() ? k : key + "." + k));
            }
            return o;
        }
        if (v instanceof JsonArray a) {
            for (int i = 0; i < a.size(); i++) {
                a.set(i, interpolate(a.getValue(i), env, missing, key + "[" + i + "]"));
            }
            return a;
        }
        if (v instanceof String s && s.contains("${")) {
            Matcher m = PLACEHOLDER.matcher(s);
            StringBuilder sb = new StringBuilder();
            while (m.find()) {
                String value = env.get(m.group(1));
                if (value == null) {
                    value = m.group(2);
                }
                if (value == null) {
                    missing.add(key + ": environment variable " + m.group(1) + " is not set (write ${"
                            + m.group(1) + ":-} to make it optional)");
                    value = "";
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(value));
            }
            m.appendTail(sb);
            return sb.toString();
        }
        return v;
    }
}
