package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.store.MigrationException;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Versioned schema migrations: files {@code V<n>__<what>.sql} under a classpath folder (the
 * appliance's are in {@code db/migration}), applied in version order, each in its own transaction
 * together with its row in {@code schema_migrations} (version, file, SHA-256, when, how long).
 * Applied files are never run again, so applying twice, or on every start, changes nothing; an
 * applied file whose content changed stops the start, as does a failing one, naming the file and
 * quoting Postgres. A session-level advisory lock keeps two appliances (a triad) from migrating
 * one database at the same time.
 */
public final class Migrations {
    private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
    private static final Pattern NAME = Pattern.compile("V(\\d+)__([A-Za-z0-9_\\-]+)\\.sql");
    /** Arbitrary, fixed: the advisory lock id of "turnstile migrations". */
    private static final long LOCK_ID = 0x7475726e_7374696cL;
    public static final String DEFAULT_LOCATION = "db/migration";

    static final String CREATE_HISTORY = """
            CREATE TABLE schema_migrations (
                version      integer     PRIMARY KEY,
                file         text        NOT NULL,
                checksum     text        NOT NULL,
                applied_at   timestamptz NOT NULL DEFAULT now(),
                execution_ms integer     NOT NULL
            )""";

    /** One migration file. */
    public record Migration(int version, String file, String sql, String checksum) {
    }

    private final List<Migration> migrations;

    private Migrations(List<Migration> migrations) {
        this.migrations = List.copyOf(migrations);
    }

    public List<Migration> list() {
        return migrations;
    }

    /** The migrations under classpath folder {@code location}, in version order. */
    public static Migrations fromClasspath(String location) {
        ClassLoader cl = Migrations.class.getClassLoader();
        Map<Integer, Migration> byVersion = new TreeMap<>();
        try {
            Enumeration<URL> roots = cl.getResources(location);
            while (roots.hasMoreElements()) {
                for (String file : listFolder(roots.nextElement(), location)) {
                    Matcher m = NAME.matcher(file);
                    if (!m.matches()) {
                        if (file.endsWith(".sql")) {
                            throw new MigrationException(file, "its name must look like V<n>__<what>.sql", null);
                        }
                        continue;
                    }
                    String sql;
                    try (InputStream in = cl.getResourceAsStream(location + "/" + file)) {
                        if (in == null) {
                            throw new IOException("cannot read " + location + "/" + file);
                        }
                        sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    }
                    int version = Integer.parseInt(m.group(1));
                    Migration mig = new Migration(version, file, sql, sha256(sql));
                    Migration other = byVersion.putIfAbsent(version, mig);
                    if (other != null && !other.file().equals(file)) {
                        throw new MigrationException(file, "version " + version + " is also used by " + other.file(),
                                null);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list migrations in " + location, e);
        }
        return new Migrations(new ArrayList<>(byVersion.values()));
    }

    private static List<String> listFolder(URL root, String location) throws IOException {
        List<String> out = new ArrayList<>();
        if ("file".equals(root.getProtocol())) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of(root.toURI()))) {
                for (Path p : ds) {
                    out.add(p.getFileName().toString());
                }
            } catch (URISyntaxException e) {
                throw new IOException(e);
            }
        } else if ("jar".equals(root.getProtocol())) {
            JarURLConnection conn = (JarURLConnection) root.openConnection();
            conn.setUseCaches(false);
            try (JarFile jar = conn.getJarFile()) {
                String prefix = location.endsWith("/") ? location : location + "/";
                Enumeration<JarEntry> entries = jar.entries();
                while (entries.hasMoreElements()) {
                    String name = entries.nextElement().getName();
                    if (name.startsWith(prefix) && name.length() > prefix.length()
                            && name.indexOf('/', prefix.length()) < 0) {
                        out.add(name.substring(prefix.length()));
                    }
                }
            }
        }
        return out;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Applies what is missing, asynchronously, on one connection of {@code pool}, under the advisory lock. Completes
     * with how many files were applied; fails with {@link MigrationException} when a file failed or was changed after
     * it was applied, and with the pg client's error when Postgres could not be reached (the caller retries later).
     * Every step is bounded by {@code timeoutMs} (waiting for the lock: 4 times that; one file: at least 10 minutes).
     */
    public Future<Integer> apply(Pool pool, long timeoutMs) {
        return Futures.within(pool.getConnection(), timeoutMs).compose(conn -> Futures.within(
                        conn.preparedQuery("SELECT pg_advisory_lock($1)").execute(Tuple.of(LOCK_ID)), timeoutMs * 4)
                .compose(locked -> applyLocked(conn, timeoutMs).transform(ar -> Futures.within(conn
                                .preparedQuery("SELECT pg_advisory_unlock($1)").execute(Tuple.of(LOCK_ID)), timeoutMs)
                        .transform(unlocked -> ar.succeeded() ? Future.succeededFuture(ar.result())
                                : Future.<Integer>failedFuture(ar.cause()))))
                .transform(ar -> conn.close().transform(closed -> ar.succeeded()
                        ? Future.succeededFuture(ar.result()) : Future.<Integer>failedFuture(ar.cause()))));
    }

    private Future<Integer> applyLocked(SqlConnection conn, long timeoutMs) {
        Map<Integer, Row> applied = new HashMap<>();
        int[] count = {0};
        return Futures.within(conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL").execute(), timeoutMs)
                .compose(rows -> rows.iterator().next().getBoolean(0) ? Future.succeededFuture()
                        : Futures.within(conn.query(CREATE_HISTORY).execute(), timeoutMs).mapEmpty())
                .compose(v -> Futures.within(conn.query("SELECT version, file, checksum FROM schema_migrations")
                        .execute(), timeoutMs))
                .compose(rows -> {
                    for (Row r : rows) {
                        applied.put(r.getInteger("version"), r);
                    }
                    return Futures.inOrder(migrations, m -> {
                        Row done = applied.remove(m.version());
                        if (done == null) {
                            return applyOne(conn, m, timeoutMs).map(v -> {
                                count[0]++;
                                return true;
                            });
                        }
                        if (!done.getString("checksum").equals(m.checksum())) {
                            return Future.failedFuture(new MigrationException(m.file(), "it was changed after it was "
                                    + "applied (recorded as " + done.getString("file") + " with SHA-256 "
                                    + done.getString("checksum") + "); never edit an applied migration, add a new one",
                                    null));
                        }
                        return Future.succeededFuture(true);
                    });
                })
                .map(all -> {
                    for (Row unknown : applied.values()) {
                        LOG.warn("store: the database has migration {} that this build does not know: a newer "
                                + "appliance has used it", unknown.getString("file"));
                    }
                    return count[0];
                });
    }

    /** One file and its row in schema_migrations, in one transaction. */
    private static Future<Void> applyOne(SqlConnection conn, Migration m, long timeoutMs) {
        long t0 = System.nanoTime();
        return Futures.within(conn.begin(), timeoutMs).compose(tx -> Futures.within(conn.query(m.sql()).execute(),
                        Math.max(timeoutMs, 600_000))
                .recover(e -> {
                    Future<Void> rolledBack = Futures.within(tx.rollback(), timeoutMs).otherwiseEmpty();
                    if (PgFailures.classify(e) == PgFailures.Kind.CONNECTION
                            || PgFailures.classify(e) == PgFailures.Kind.TIMEOUT) {
                        return rolledBack.compose(v -> Future.failedFuture(e)); // not the file's fault: retried later
                    }
                    return rolledBack.compose(v -> Future.failedFuture(
                            new MigrationException(m.file(), PgFailures.describe(e), PgFailures.unwrap(e))));
                })
                .compose(done -> {
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    return Futures.within(conn.preparedQuery("INSERT INTO schema_migrations (version, file, checksum, "
                                    + "execution_ms) VALUES ($1, $2, $3, $4)").execute(Tuple.of(m.version(), m.file(),
                                    m.checksum(), (int) Math.min(ms, Integer.MAX_VALUE))), timeoutMs)
                            .compose(v -> Futures.within(tx.commit(), timeoutMs))
                            .onSuccess(v -> LOG.info("store: applied migration {} in {} ms", m.file(), ms));
                }));
    }
}
