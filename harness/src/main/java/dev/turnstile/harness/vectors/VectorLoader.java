package dev.turnstile.harness.vectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads the golden frames: {@code valid/NAME.hex} + {@code valid/NAME.json} and
 * {@code invalid/NAME.hex} + {@code invalid/NAME.json}, from a directory or from the
 * {@code vectors/} folder the harness jar carries.
 */
public final class VectorLoader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where the build copies {@code protocol-spec/vectors} inside the harness jar. */
    public static final String CLASSPATH_FOLDER = "vectors";

    private VectorLoader() {
    }

    /** Loads every vector under {@code dir} (which holds {@code valid/} and {@code invalid/}), sorted by name. */
    public static List<Vector> fromDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("vectors folder " + dir + " does not exist");
        }
        List<Vector> out = new ArrayList<>();
        out.addAll(loadKind(dir.resolve("valid"), true));
        out.addAll(loadKind(dir.resolve("invalid"), false));
        return out;
    }

    /** Loads the vectors packed into the harness jar (or its classes folder when run from the build). */
    public static List<Vector> fromClasspath() throws IOException {
        URI root = classpathRoot();
        if (root == null) {
            throw new IOException("no '" + CLASSPATH_FOLDER + "/' folder on the class path");
        }
        if ("jar".equals(root.getScheme())) {
            FileSystem fs;
            boolean mine = false;
            try {
                fs = FileSystems.newFileSystem(root, Map.of());
                mine = true;
            } catch (FileSystemAlreadyExistsException e) {
                fs = FileSystems.getFileSystem(root);
            }
            try {
                return fromDirectory(fs.getPath("/" + CLASSPATH_FOLDER));
            } finally {
                if (mine) {
                    fs.close();
                }
            }
        }
        return fromDirectory(Path.of(root).resolve(CLASSPATH_FOLDER));
    }

    private static URI classpathRoot() throws IOException {
        try {
            URL url = VectorLoader.class.getClassLoader().getResource(CLASSPATH_FOLDER + "/");
            if (url == null) {
                url = VectorLoader.class.getClassLoader().getResource(CLASSPATH_FOLDER);
            }
            if (url != null) {
                URI uri = url.toURI();
                if ("jar".equals(uri.getScheme())) {
                    String s = uri.toString();
                    return URI.create(s.substring(0, s.indexOf("!/") + 2));
                }
                return Path.of(uri).getParent().toUri();
            }
            // Some jars carry no directory entries: find the jar (or folder) holding this class.
            URL code = VectorLoader.class.getProtectionDomain().getCodeSource().getLocation();
            Path p = Path.of(code.toURI());
            if (Files.isDirectory(p)) {
                return Files.isDirectory(p.resolve(CLASSPATH_FOLDER)) ? p.toUri() : null;
            }
            return URI.create("jar:" + p.toUri() + "!/");
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate the vectors on the class path: " + e.getMessage(), e);
        }
    }

    private static List<Vector> loadKind(Path dir, boolean valid) throws IOException {
        List<Vector> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        List<Path> hexFiles;
        try (Stream<Path> s = Files.list(dir)) {
            hexFiles = s.filter(p -> p.getFileName().toString().endsWith(".hex"))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        }
        for (Path hex : hexFiles) {
            String file = hex.getFileName().toString();
            String name = file.substring(0, file.length() - ".hex".length());
            Path jsonFile = dir.resolve(name + ".json");
            if (!Files.exists(jsonFile)) {
                throw new IOException("vector " + hex + " has no " + name + ".json next to it");
            }
            byte[] bytes = parseHex(Files.readString(hex, StandardCharsets.UTF_8), hex.toString());
            JsonNode json;
            try {
                json = JSON.readTree(Files.readAllBytes(jsonFile));
            } catch (IOException e) {
                throw new IOException("vector " + jsonFile + " is not valid JSON: " + e.getMessage(), e);
            }
            out.add(new Vector(name, valid, bytes, json));
        }
        return out;
    }

    /** Hex digits with any whitespace between them; {@code #} starts a comment running to the end of the line. */
    public static byte[] parseHex(String text, String where) {
        StringBuilder digits = new StringBuilder(text.length());
        for (String line : text.split("\n", -1)) {
            int hash = line.indexOf('#');
            String l = hash >= 0 ? line.substring(0, hash) : line;
            for (int i = 0; i < l.length(); i++) {
                char c = l.charAt(i);
                if (Character.isWhitespace(c)) {
                    continue;
                }
                if (Character.digit(c, 16) < 0) {
                    throw new UncheckedIOException(new IOException(where + ": '" + c + "' is not a hex digit"));
                }
                digits.append(c);
            }
        }
        if (digits.length() % 2 != 0) {
            throw new UncheckedIOException(new IOException(where + ": odd number of hex digits"));
        }
        byte[] out = new byte[digits.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(digits.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }
}
