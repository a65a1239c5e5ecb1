package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.license.AtomicFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The sync state in the state directory, for appliances without a database:
 * <ul>
 *   <li>{@code sync-state.json}: the whole {@link SyncState} and the committed token, replaced
 *       atomically ({@link AtomicFiles}: write, fsync, rename) on every save;</li>
 *   <li>{@code sync-audit.jsonl}: one JSON line per audit row, appended and forced to disk; over
 *       {@value #AUDIT_ROTATE_BYTES} bytes it is renamed to {@code sync-audit.jsonl.1} (replacing the
 *       previous one) and a new file begins.</li>
 * </ul>
 * All file I/O runs on one dedicated worker thread, in call order, never on an event loop.
 */
public final class FileSyncStore implements SyncStore {
    public static final String STATE_FILE = "sync-state.json";
    public static final String AUDIT_FILE = "sync-audit.jsonl";
    public static final String FORMAT = "turnstile-sync-state/1";
    static final long AUDIT_ROTATE_BYTES = 4L * 1024 * 1024;

    private final Path dir;
    private final WorkerExecutor worker;
    /** The token on disk: saveState rewrites the file and must keep it. Touched on the worker thread only. */
    private String diskToken;
    private long diskSyncAtMs = -1;

    public FileSyncStore(Vertx vertx, Path dir) {
        this.dir = dir;
        this.worker = vertx.createSharedWorkerExecutor("turnstile-sync-store-" + dir.toAbsolutePath(), 1);
    }

    private <T> Future<T> io(Callable<T> work) {
        return worker.executeBlocking(work, true);
    }

    @Override
    public Future<SyncState> load() {
        return io(() -> {
            Path f = dir.resolve(STATE_FILE);
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                return new SyncState();
            }
            JsonObject o;
            try {
                o = new JsonObject(text);
            } catch (RuntimeException e) {
                throw new IOException("the sync state file " + f.toAbsolutePath() + " is not JSON (" + e.getMessage()
                        + "); move it away to start from a full sync", e);
            }
            if (!FORMAT.equals(o.getString("format"))) {
                throw new IOException("the sync state file " + f.toAbsolutePath() + " has format " + o.getValue("format")
                        + ", expected " + FORMAT);
            }
            diskToken = o.getString("last_sync_token");
            diskSyncAtMs = o.getLong("last_sync_at_ms", -1L);
            return SyncState.fromJson(o.getJsonObject("state", new JsonObject()), diskToken, diskSyncAtMs);
        });
    }

    private void write(JsonObject state) throws IOException {
        JsonObject o = new JsonObject()
                .put("format", FORMAT)
                .put("last_sync_token", diskToken)
                .put("last_sync_at_ms", diskSyncAtMs)
                .put("state", state);
        AtomicFiles.write(dir.resolve(STATE_FILE), o.encodePrettily() + "\n");
    }

    @Override
    public Future<Void> saveState(SyncState state) {
        JsonObject snapshot = state.toJson(); // taken now, on the caller's context
        return io(() -> {
            write(snapshot);
            return null;
        });
    }

    @Override
    public Future<Void> commitToken(String token, long syncAtMs) {
        return io(() -> {
            Path f = dir.resolve(STATE_FILE);
            JsonObject current = Files.exists(f)
                    ? new JsonObject(Files.readString(f, StandardCharsets.UTF_8)).getJsonObject("state", new JsonObject())
                    : new JsonObject();
            diskToken = token;
            diskSyncAtMs = syncAtMs;
            write(current);
            return null;
        });
    }

    @Override
    public Future<Void> appendAudit(AuditRecord record) {
        String line = record.toJson().encode() + "\n";
        return io(() -> {
            Files.createDirectories(dir);
            Path f = dir.resolve(AUDIT_FILE);
            if (Files.exists(f) && Files.size(f) > AUDIT_ROTATE_BYTES) {
                Files.move(f, dir.resolve(AUDIT_FILE + ".1"), StandardCopyOption.REPLACE_EXISTING);
            }
            try (var ch = java.nio.channels.FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                var b = java.nio.ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(false);
            }
            return null;
        });
    }

    @Override
    public Future<List<AuditRecord>> recentAudit(int limit) {
        return io(() -> {
            Path f = dir.resolve(AUDIT_FILE);
            List<String> lines;
            try {
                lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                return List.of();
            }
            List<AuditRecord> out = new ArrayList<>();
            for (int i = lines.size() - 1; i >= 0 && out.size() < limit; i--) {
                String l = lines.get(i).trim();
                if (l.isEmpty()) {
                    continue;
                }
                try {
                    out.add(AuditRecord.fromJson(new JsonObject(l)));
                } catch (RuntimeException ignored) {
                    // a line torn by a crash mid-append: skipped
                }
            }
            return out;
        });
    }

    @Override
    public String describe() {
        return "files in " + dir.toAbsolutePath();
    }

    @Override
    public Future<Void> close() {
        return worker.close();
    }
}
