package dev.turnstile.appliance;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * ports: the ports file of {@code run --ports-file PATH}: one JSON object, {@code {"client":N,"http":M,"raft":R}},
 * written once every listener is bound, so a configuration with {@code server.port: 0} / {@code http.port: 0} can be
 * started and then found (tests, scripts, a supervisor). The file is written whole or not at all: a temporary file
 * in the same directory, then an atomic rename, so a reader that sees the file sees all of it.
 */
public final class PortsFile {
    private PortsFile() {
    }

    /** Writes {@code ports} to {@code file} atomically (blocking file I/O: never on an event loop). */
    public static void write(Path file, JsonObject ports) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            Files.writeString(tmp, ports.encode() + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
