package dev.turnstile.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ports in tests. A server under test binds port 0 and says what it bound: the appliance writes a ports file
 * ({@code run --ports-file PATH}: {@code {"client":N,"http":M,"raft":R}}), which {@link #awaitFile} reads. No test
 * picks a free port and binds it a moment later (another process may take it in between).
 */
public final class Ports {
    private static final Pattern ENTRY = Pattern.compile("\"([a-z_]+)\"\\s*:\\s*(\\d+)");

    private Ports() {
    }

    /**
     * A loopback port nothing listens on: one the kernel handed out and that was closed again, for "the peer is not
     * there" (a connect is refused). Never bind it: another process may have it by then.
     */
    public static int closed() {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits (at most {@code max}) for the ports file a process writes once every listener is bound, and returns its
     * entries (e.g. {@code client -> 40123}). Fails at once when the process exits first, with {@code log} (its output
     * so far) in the message.
     */
    public static Map<String, Integer> awaitFile(Path file, Process process, Duration max, Supplier<String> log) {
        try {
            Wait.until("the ports file " + file, max, () -> {
                if (Files.exists(file)) {
                    return true;
                }
                if (!process.isAlive()) {
                    throw new AssertionError("the process exited with " + process.exitValue()
                            + " before writing its ports file:\n" + log.get());
                }
                return false;
            });
        } catch (AssertionError e) {
            if (e.getMessage() != null && e.getMessage().contains("before writing")) {
                throw e;
            }
            throw new AssertionError(e.getMessage() + "; output so far:\n" + log.get(), e);
        }
        return read(file);
    }

    /** The entries of a ports file ({@code {"client":N,...}}; the file is written whole, by an atomic rename). */
    public static Map<String, Integer> read(Path file) {
        try {
            Matcher m = ENTRY.matcher(Files.readString(file, StandardCharsets.UTF_8));
            Map<String, Integer> out = new LinkedHashMap<>();
            while (m.find()) {
                out.put(m.group(1), Integer.parseInt(m.group(2)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
