package dev.turnstile.appliance.config;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the YAML file, then applies the environment:
 * <ul>
 *   <li>{@code ${NAME}} and {@code ${NAME:-default}} inside string values are replaced by the
 *       environment variable (so secrets live in the environment, never in the file);</li>
 *   <li>{@code TURNSTILE_<SECTION>__<KEY>=value} overrides a key; {@code __} separates levels,
 *       e.g. {@code TURNSTILE_SERVER__PORT=7879} sets {@code server.port}.</li>
 * </ul>
 * The file is parsed here with SnakeYAML (what vertx-config-yaml uses) rather than through
 * vertx-config, for three things vertx-config cannot give: a duplicate key is an error naming both
 * lines (vertx-config keeps the last one silently), every key's line is kept for the error messages
 * ({@link ConfigSource#origins()}), and an empty file is an error rather than an empty configuration.
 */
public final class ConfigLoader {
    public static final String ENV_PREFIX = "TURNSTILE_";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
    /** Files larger than this are not configuration files. */
    private static final int MAX_FILE_BYTES = 4 * 1024 * 1024;

    /**
     * The configuration tree and where each key came from: dotted key ({@code server.port},
     * {@code entitlements[0].policy}) to {@code "line 12 of /etc/turnstile/turnstile.yaml"} or
     * {@code "environment variable TURNSTILE_SERVER__PORT"}. {@code problems}: what is wrong with the
     * file itself (duplicate keys), reported together with the binding's problems; the tree then
     * holds the last of each duplicate.
     */
    public record ConfigSource(JsonObject tree, Map<String, String> origins, List<String> problems) {
        public ConfigSource {
            origins = Map.copyOf(origins);
            problems = List.copyOf(problems);
        }

        /** The tree, or a {@link ConfigException} when the file itself has problems. */
        public JsonObject checkedTree() {
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
            return tree;
        }
    }

    private ConfigLoader() {
    }

    /** The tree only (tests, tools); {@link #read} keeps where each key came from. */
    public static Future<JsonObject> load(Vertx vertx, String path, Map<String, String> env) {
        return read(vertx, path, env).map(ConfigSource::checkedTree);
    }

    /** Reads and parses {@code path} on a worker thread, then applies {@code env}. */
    public static Future<ConfigSource> read(Vertx vertx, String path, Map<String, String> env) {
        return vertx.<ConfigSource>executeBlocking(() -> read(Path.of(path), env), false);
    }

    /** Blocking: reads, parses and applies the environment; a {@link ConfigException} names what is wrong. */
    public static ConfigSource read(Path file, Map<String, String> env) {
        String text;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new ConfigException(List.of("cannot read " + file + ": larger than " + MAX_FILE_BYTES
                        + " bytes, not a configuration file"));
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(List.of("cannot read " + file + ": no such file"));
        } catch (IOException e) {
            throw new ConfigException(List.of("cannot read " + file + ": " + e));
        }
        return parse(text, file.toString(), env);
    }

    /** Parses YAML {@code text} (named {@code name} in messages) and applies {@code env}. */
    public static ConfigSource parse(String text, String name, Map<String, String> env) {
        Map<String, String> origins = new LinkedHashMap<>();
        List<String> duplicates = new ArrayList<>();
        JsonObject tree = parseYaml(text, name, origins, duplicates);
        ConfigSource s = applyEnvironment(tree, env, origins);
        return new ConfigSource(s.tree(), s.origins(), duplicates);
    }

    private static JsonObject parseYaml(String text, String name, Map<String, String> origins, List<String> duplicates) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false); // the walk below reports each one with both lines, then drops the first
        options.setCodePointLimit(MAX_FILE_BYTES);
        Node root;
        Object data;
        try {
            TreeConstructor constructor = new TreeConstructor(options);
            root = new Yaml(constructor).compose(new java.io.StringReader(text));
            if (root == null) {
                throw empty(name);
            }
            if (!(root instanceof MappingNode)) {
                throw new ConfigException(List.of(name + ": expected a mapping of sections (server:, clients:, "
                        + "entitlements:, ...) at the top of the file, got " + kind(root) + " at line " + line(root)));
            }
            locate(root, "", name, origins, duplicates);
            data = constructor.construct(root);
        } catch (YAMLException e) {
            throw new ConfigException(List.of("cannot parse " + name + ": " + e.getMessage()));
        }
        if (!(data instanceof Map<?, ?> map) || map.isEmpty()) {
            throw empty(name);
        }
        return (JsonObject) toJson(data);
    }

    private static ConfigException empty(String name) {
        return new ConfigException(List.of(name + ": the file is empty (no keys, or only comments); an empty "
                + "configuration would start an appliance that serves nothing. Start from the example in "
                + "systemd/turnstile.yaml or `turnstile check-config --demo`"));
    }

    /** Records every key's line and collects duplicate keys (a second block silently replacing the first). */
    private static void locate(Node node, String path, String file, Map<String, String> origins, List<String> duplicates) {
        if (node instanceof MappingNode m) {
            Map<String, Integer> seen = new TreeMap<>();
            Map<String, NodeTuple> tuples = new TreeMap<>();
            List<NodeTuple> replaced = new ArrayList<>();
            for (NodeTuple t : m.getValue()) {
                if (!(t.getKeyNode() instanceof ScalarNode k)) {
                    duplicates.add((path.isEmpty() ? "" : path + ": ") + "a key that is not a plain name at line "
                            + line(t.getKeyNode()) + " of " + file);
                    continue;
                }
                String name = k.getValue();
                if (name.equals("<<")) { // a YAML merge key: its entries are located where they are written
                    locate(t.getValueNode(), path, file, origins, duplicates);
                    continue;
                }
                String key = path.isEmpty() ? name : path + "." + name;
                Integer first = seen.putIfAbsent(name, line(k));
                if (first != null) { // the tree keeps the last one (as YAML loaders do), reported above all
                    duplicates.add(key + ": duplicate key at line " + line(k) + " of " + file + " (first at line " + first
                            + "); the second would silently replace the first: merge them into one");
                    replaced.add(tuples.get(name));
                }
                tuples.put(name, t);
                origins.put(key, "line " + line(k) + " of " + file);
                locate(t.getValueNode(), key, file, origins, duplicates);
            }
            m.getValue().removeAll(replaced);
        } else if (node instanceof SequenceNode s) {
            List<Node> items = s.getValue();
            for (int i = 0; i < items.size(); i++) {
                origins.put(path + "[" + i + "]", "line " + line(items.get(i)) + " of " + file);
                locate(items.get(i), path + "[" + i + "]", file, origins, duplicates);
            }
        }
    }

    /** SnakeYAML's safe constructor, building the values of a node tree composed (and checked) before. */
    private static final class TreeConstructor extends SafeConstructor {
        TreeConstructor(LoaderOptions options) {
            super(options);
        }

        Object construct(Node root) {
            return constructDocument(root);
        }
    }

    private static int line(Node n) {
        return n.getStartMark() == null ? 0 : n.getStartMark().getLine() + 1;
    }

    private static String kind(Node n) {
        return n instanceof SequenceNode ? "a list" : "a single value";
    }

    /** SnakeYAML's maps and lists as Vert.x JSON; timestamps as ISO-8601 text (as vertx-config-yaml did). */
    private static Object toJson(Object v) {
        if (v instanceof Map<?, ?> m) {
            JsonObject o = new JsonObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                o.put(String.valueOf(e.getKey()), toJson(e.getValue()));
            }
            return o;
        }
        if (v instanceof List<?> l) {
            JsonArray a = new JsonArray();
            for (Object e : l) {
                a.add(toJson(e));
            }
            return a;
        }
        if (v instanceof Date d) {
            return DateTimeFormatter.ISO_INSTANT.format(d.toInstant());
        }
        return v;
    }

    /** Interpolates placeholders and applies {@code TURNSTILE_A__B} overrides; returns a new tree. */
    public static JsonObject applyEnvironment(JsonObject tree, Map<String, String> env) {
        return applyEnvironment(tree, env, new LinkedHashMap<>()).checkedTree();
    }

    private static ConfigSource applyEnvironment(JsonObject tree, Map<String, String> env, Map<String, String> origins) {
        List<String> missing = new ArrayList<>();
        JsonObject out = (JsonObject) interpolate(tree.copy(), env, missing, "");
        if (!missing.isEmpty()) {
            throw new ConfigException(missing);
        }
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || !name.contains("__")) {
                continue;
            }
            String[] path = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("__");
            String origin = "environment variable " + name;
            JsonObject node = out;
            String key = "";
            for (int i = 0; i < path.length - 1; i++) {
                key = key.isEmpty() ? path[i] : key + "." + path[i];
                Object child = node.getValue(path[i]);
                if (!(child instanceof JsonObject)) {
                    child = new JsonObject();
                    node.put(path[i], child);
                    origins.put(key, origin);
                }
                node = (JsonObject) child;
            }
            key = key.isEmpty() ? path[path.length - 1] : key + "." + path[path.length - 1];
            node.put(path[path.length - 1], e.getValue());
            origins.put(key, origin);
        }
        return new ConfigSource(out, origins, List.of());
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
