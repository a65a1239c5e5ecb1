package dev.turnstile.client;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps tokens in a file, so that a restarted program can reclaim the leases of its previous run.
 *
 * <p>The file is a {@link Properties} file in UTF-8 (readable, and editable by an admin in an
 * emergency): a line {@code format=turnstile-lease-tokens/1}, then one group of
 * {@code <lease-id>.<field>=value} lines per token. A token's reclaim secret (protocol 1.1) is the
 * field {@code reclaim_secret} (64 hex digits); a token without it (a file written for protocol
 * 1.0 or by an older SDK) loads and reclaims as 1.0 would, and an older SDK reading a newer file
 * ignores the field. The file holds secrets: it is written with owner-only permissions, and the
 * directory should be the program's own. Every change rewrites the whole file
 * atomically: the new content goes to a temporary file in the same directory (owner-only
 * permissions on POSIX systems), is forced to disk, and is moved over the old file, so a crash
 * leaves either the old or the new file, never a mix.
 *
 * <p>A file that cannot be read (not a token file, broken encoding) does not stop the program: it
 * is logged at ERROR, moved aside to {@code <name>.corrupt-<epoch-ms>} for inspection, and the
 * manager starts empty. A single token with a missing or bad field is logged at WARN and skipped;
 * the others load.
 *
 * <p><b>Thread-safety:</b> thread-safe; every method holds the instance's lock, and a change
 * returns only once it is on disk. One file must have one manager: two managers or two
 * processes on the same file overwrite each other's changes.
 */
public final class FileTokenManager implements TokenManager {
    private static final Logger LOG = LoggerFactory.getLogger(FileTokenManager.class);
    /** The value of the {@code format} line. */
    public static final String FORMAT = "turnstile-lease-tokens/1";
    /** The field that holds a token's reclaim secret (protocol 1.1), as 64 hex digits; absent when it has none. */
    static final String SECRET_FIELD = "reclaim_secret";

    private final Path file;
    private final Map<UUID, LeaseToken> tokens = new LinkedHashMap<>();

    /**
     * Opens (or creates on the first store) the token file {@code file}, loading what it holds.
     *
     * @throws UncheckedIOException when the file exists but cannot be read at all (permissions)
     */
    public FileTokenManager(Path file) {
        this.file = Objects.requireNonNull(file, "file").toAbsolutePath();
        load();
    }

    /** The token file. */
    public Path file() {
        return file;
    }

    // ------------------------------------------------------------------ TokenManager

    @Override
    public synchronized void store(LeaseToken token) {
        Objects.requireNonNull(token, "token");
        LeaseToken before = tokens.put(token.leaseId(), token);
        try {
            write();
        } catch (IOException e) {
            restore(token.leaseId(), before);
            throw new UncheckedIOException("cannot write token file " + file, e);
        }
    }

    @Override
    public synchronized void storeAll(Collection<LeaseToken> batch) {
        if (batch.isEmpty()) {
            return;
        }
        Map<UUID, LeaseToken> before = new LinkedHashMap<>(tokens);
        for (LeaseToken t : batch) {
            tokens.put(Objects.requireNonNull(t, "token").leaseId(), t);
        }
        try {
            write();
        } catch (IOException e) {
            tokens.clear();
            tokens.putAll(before);
            throw new UncheckedIOException("cannot write token file " + file, e);
        }
    }

    @Override
    public synchronized Optional<LeaseToken> get(UUID leaseId) {
        return leaseId == null ? Optional.empty() : Optional.ofNullable(tokens.get(leaseId));
    }

    @Override
    public synchronized List<LeaseToken> all() {
        List<LeaseToken> list = new ArrayList<>(tokens.values());
        list.sort(Comparator.comparing(LeaseToken::checkedOutAt).thenComparing(LeaseToken::leaseId));
        return list;
    }

    @Override
    public synchronized boolean removeSafelyByLeaseId(UUID leaseId) {
        if (leaseId == null) {
            return false;
        }
        LeaseToken removed = tokens.remove(leaseId);
        if (removed == null) {
            return false;
        }
        try {
            write();
        } catch (IOException | RuntimeException e) {
            // The token stays removed in memory; the next successful write drops it from the file.
            LOG.error("token of lease {} removed, but the token file {} could not be rewritten: {}", leaseId, file,
                    e.toString());
        }
        return true;
    }

    @Override
    public synchronized String toString() {
        return "FileTokenManager[" + file + ", " + tokens.size() + " tokens]";
    }

    private void restore(UUID id, LeaseToken before) {
        if (before == null) {
            tokens.remove(id);
        } else {
            tokens.put(id, before);
        }
    }

    // ------------------------------------------------------------------ reading

    private void load() {
        if (Files.exists(file) && !Files.isReadable(file)) {
            throw new UncheckedIOException(new IOException("token file " + file + " exists but is not readable"));
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException | IllegalArgumentException e) {
            // MalformedInputException (not UTF-8), a malformed backslash-u escape, ...
            quarantine("it cannot be parsed (" + e + ")");
            return;
        }
        if (p.isEmpty()) {
            return;
        }
        if (!FORMAT.equals(p.getProperty("format"))) {
            quarantine("its format line is " + (p.getProperty("format") == null ? "missing"
                    : "'" + p.getProperty("format") + "'") + ", expected 'format=" + FORMAT + "'");
            return;
        }
        TreeSet<String> ids = new TreeSet<>();
        for (String key : p.stringPropertyNames()) {
            int dot = key.indexOf('.');
            if (dot > 0) {
                ids.add(key.substring(0, dot));
            }
        }
        for (String id : ids) {
            try {
                LeaseToken t = parse(id, p);
                tokens.put(t.leaseId(), t);
            } catch (RuntimeException e) {
                LOG.warn("token file {}: token '{}' skipped: {}", file, id, e.getMessage());
            }
        }
        LOG.debug("token file {}: {} tokens loaded", file, tokens.size());
    }

    private static LeaseToken parse(String id, Properties p) {
        UUID leaseId;
        try {
            leaseId = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + id + "' is not a lease id");
        }
        String enforcementName = field(p, id, "enforcement");
        Enforcement enforcement = Enforcement.ofName(enforcementName);
        if (enforcement == null) {
            throw new IllegalArgumentException("enforcement '" + enforcementName + "' is neither seats nor checkouts");
        }
        long quantity;
        try {
            quantity = Long.parseLong(field(p, id, "quantity"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("quantity is not a number");
        }
        Instant checkedOut = instant(p, id, "checked_out_at");
        String confirmed = p.getProperty(id + ".last_confirmed_at");
        return new LeaseToken(leaseId, field(p, id, "product"), p.getProperty(id + ".license_key", ""),
                p.getProperty(id + ".entitlement_id", ""), quantity, enforcement, field(p, id, "server"),
                field(p, id, "hw_id"), checkedOut,
                confirmed == null || confirmed.isEmpty() ? checkedOut : instant(p, id, "last_confirmed_at"),
                secret(p.getProperty(id + "." + SECRET_FIELD, "")));
    }

    /** The reclaim secret (64 hex digits), or null when absent (a token of protocol 1.0 or an older SDK). */
    private static byte[] secret(String hex) {
        if (hex.isEmpty()) {
            return null;
        }
        // The value is never quoted in the error: it is a secret.
        if (hex.length() != 2 * Limits.RECLAIM_SECRET) {
            throw new IllegalArgumentException("field " + SECRET_FIELD + " is not " + 2 * Limits.RECLAIM_SECRET
                    + " hex digits");
        }
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field " + SECRET_FIELD + " is not " + 2 * Limits.RECLAIM_SECRET
                    + " hex digits");
        }
    }

    private static String field(Properties p, String id, String name) {
        String v = p.getProperty(id + "." + name);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("field " + name + " is missing");
        }
        return v;
    }

    private static Instant instant(Properties p, String id, String name) {
        String v = field(p, id, name);
        try {
            return Instant.parse(v);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("field " + name + " '" + v + "' is not an ISO-8601 instant");
        }
    }

    private void quarantine(String why) {
        Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + System.currentTimeMillis());
        try {
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            LOG.error("token file {} is corrupt: {}. It was moved to {}; starting with no stored tokens, so leases "
                    + "of the previous run cannot be reclaimed (the server releases them when they time out)",
                    file, why, aside);
        } catch (IOException e) {
            LOG.error("token file {} is corrupt: {}. Starting with no stored tokens; the file will be overwritten "
                    + "at the next change (moving it aside failed: {})", file, why, e.toString());
        }
    }

    // ------------------------------------------------------------------ writing

    private void write() throws IOException {
        Properties p = new Properties();
        p.setProperty("format", FORMAT);
        for (LeaseToken t : tokens.values()) {
            String k = t.leaseId() + ".";
            p.setProperty(k + "product", t.product());
            p.setProperty(k + "license_key", t.licenseKey());
            p.setProperty(k + "entitlement_id", t.entitlementId());
            p.setProperty(k + "quantity", Long.toString(t.quantity()));
            p.setProperty(k + "enforcement", t.enforcement().configName());
            p.setProperty(k + "server", t.server());
            p.setProperty(k + "hw_id", t.hwId());
            p.setProperty(k + "checked_out_at", t.checkedOutAt().toString());
            p.setProperty(k + "last_confirmed_at", t.lastConfirmedAt().toString());
            byte[] secret = t.reclaimSecret();
            if (secret != null) {
                p.setProperty(k + SECRET_FIELD, HexFormat.of().formatHex(secret));
            }
        }
        StringWriter text = new StringWriter();
        p.store(text, "Turnstile lease tokens: written by the Java client SDK, rewritten on every change");
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);

        Path dir = file.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        forceDirectory(dir);
    }

    /** Makes the rename durable where the platform allows opening a directory (Linux does). */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException ignored) {
            // Not supported on this platform: the rename is still atomic, only its durability is weaker.
        }
    }
}
