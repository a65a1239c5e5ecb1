package dev.turnstile.appliance.store;

import dev.turnstile.appliance.log.Redaction;
import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code store:} section of the YAML file, bound and validated.
 *
 * <pre>
 * store:
 *   url: postgresql://turnstile@127.0.0.1:5432/turnstile   # or host / port / database / user below
 *   password: ${TURNSTILE_DB_PASSWORD}                     # or leave it out: the env variable is read
 *   flush_interval: 200ms      # a batch is written at least this often
 *   batch_size: 2000           # ... or as soon as this many events wait
 *   queue_capacity: 50000      # events held in memory while Postgres is behind; beyond: spill to disk
 *   spill_dir: /var/lib/turnstile/spill
 *   write_mode: write_behind   # or write_through: one transaction per event, no batching
 * </pre>
 *
 * <p>{@link #url()} stays a string: a URL that does not parse must not stop seat service (issue 3,
 * "Bad input"), so it is checked when the store connects, and reported in the log and the status.
 *
 * @param url              a {@code postgresql://} URL, or {@code null} when host/port/... are used
 * @param password         from the file, else from {@value #PASSWORD_ENV}; overrides one in the URL
 * @param flushIntervalMs  the longest an event waits in memory while Postgres is up
 * @param batchSize        events per transaction (and the count that triggers a write before the interval)
 * @param queueCapacity    events held in memory before spilling to {@link #spillDir()}
 * @param snapshotIntervalMs the period of one pool_snapshots row per pool
 * @param connectTimeoutMs TCP connect timeout to Postgres
 * @param writeTimeoutMs   the longest one batch transaction may take before the connection is dropped and the
 *                         batch retried (safe: every row is idempotent)
 * @param triadBufferEvents in a triad: the journal events of applied log entries each member keeps until the
 *                         leader confirms them written ({@code store.triad_buffer_events}; see TriadJournal)
 */
public record StoreConfig(String url, String host, int port, String database, String user, String password,
                          long flushIntervalMs, int batchSize, int queueCapacity, Path spillDir, WriteMode writeMode,
                          long snapshotIntervalMs, long connectTimeoutMs, long writeTimeoutMs,
                          int triadBufferEvents) {

    /** The environment variable read when {@code store.password} is not set. */
    public static final String PASSWORD_ENV = "TURNSTILE_DB_PASSWORD";

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 5432;
    public static final String DEFAULT_DATABASE = "turnstile";
    public static final String DEFAULT_USER = "turnstile";
    public static final long DEFAULT_FLUSH_INTERVAL_MS = 200;
    public static final int DEFAULT_BATCH_SIZE = 2_000;
    public static final int DEFAULT_QUEUE_CAPACITY = 50_000;
    public static final String DEFAULT_SPILL_DIR = "data/spill";
    public static final long DEFAULT_SNAPSHOT_INTERVAL_MS = 60_000;
    public static final long DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
    public static final long DEFAULT_WRITE_TIMEOUT_MS = 15_000;
    /** triad: about 15 MB of heap at the default (about 150 bytes per buffered event, see TriadJournal). */
    public static final int DEFAULT_TRIAD_BUFFER_EVENTS = 100_000;
    public static final int MIN_TRIAD_BUFFER_EVENTS = 100;
    public static final int MAX_TRIAD_BUFFER_EVENTS = 5_000_000;

    /** How ledger events reach Postgres. */
    public enum WriteMode {
        /** Batched, behind the ledger: a checkout never waits for the disk (the default). */
        WRITE_BEHIND,
        /** One transaction per event as soon as it arrives; for comparison and for sites that want it. */
        WRITE_THROUGH;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final ConfigKey STORE = ConfigKey.mapping("store",
            "PostgreSQL for seat history and restart recovery, written behind the ledger (appliance/STORE.md).");
    public static final ConfigKey URL = ConfigKey.string("store.url", null, "none (host, port, ... below)",
            "A postgresql:// URL; when set, it wins over host, port, database and user");
    public static final ConfigKey HOST = ConfigKey.string("store.host", DEFAULT_HOST, "PostgreSQL host");
    public static final ConfigKey PORT = ConfigKey.integer("store.port", DEFAULT_PORT, 1, 65_535, "PostgreSQL port");
    public static final ConfigKey DATABASE = ConfigKey.string("store.database", DEFAULT_DATABASE, "Database name");
    public static final ConfigKey USER = ConfigKey.string("store.user", DEFAULT_USER, "Database user");
    public static final ConfigKey PASSWORD = ConfigKey.secret("store.password", null,
            "the environment variable " + PASSWORD_ENV, "Database password; overrides one in store.url. Leave it out "
                    + "and set " + PASSWORD_ENV);
    public static final ConfigKey FLUSH_INTERVAL = ConfigKey.duration("store.flush_interval", DEFAULT_FLUSH_INTERVAL_MS,
            1, 60_000, "The longest an event waits in memory while PostgreSQL is up");
    public static final ConfigKey BATCH_SIZE = ConfigKey.integer("store.batch_size", DEFAULT_BATCH_SIZE, 1, 100_000,
            "Events per transaction; this many waiting trigger a write before the interval");
    public static final ConfigKey QUEUE_CAPACITY = ConfigKey.integer("store.queue_capacity", DEFAULT_QUEUE_CAPACITY, 1,
            10_000_000, "Events held in memory while PostgreSQL is behind (at least store.batch_size); beyond: spilled "
                    + "to store.spill_dir");
    public static final ConfigKey SPILL_DIR = ConfigKey.string("store.spill_dir", DEFAULT_SPILL_DIR,
            "Directory for events kept on disk while PostgreSQL is down, replayed at the next start");
    public static final ConfigKey WRITE_MODE = ConfigKey.choice("store.write_mode", "write_behind",
            List.of("write_behind", "write_through"), "write_behind: batched, a checkout never waits for the disk; "
                    + "write_through: one transaction per event, no batching");
    public static final ConfigKey SNAPSHOT_INTERVAL = ConfigKey.duration("store.snapshot_interval",
            DEFAULT_SNAPSHOT_INTERVAL_MS, 1_000, 86_400_000L, "One pool_snapshots row per pool this often");
    public static final ConfigKey CONNECT_TIMEOUT = ConfigKey.duration("store.connect_timeout",
            DEFAULT_CONNECT_TIMEOUT_MS, 100, 600_000, "TCP connect timeout to PostgreSQL");
    public static final ConfigKey WRITE_TIMEOUT = ConfigKey.duration("store.write_timeout", DEFAULT_WRITE_TIMEOUT_MS,
            100, 600_000, "The longest one batch transaction may take before the connection is dropped and the batch "
                    + "retried (every row is idempotent)");
    public static final ConfigKey TRIAD_BUFFER_EVENTS = ConfigKey.integer("store.triad_buffer_events",
            DEFAULT_TRIAD_BUFFER_EVENTS, MIN_TRIAD_BUFFER_EVENTS, MAX_TRIAD_BUFFER_EVENTS,
            "In a triad: journal events each member keeps until the leader confirms them written (about 150 bytes each)");

    public static ConfigSection section() {
        return ConfigSection.of(STORE, "Without this section the appliance runs in memory only and says so in "
                + "WELCOME and on the status page. A database that cannot be reached does not stop seat service: "
                + "events are held, then spilled. Changes need a restart.", URL, HOST, PORT, DATABASE, USER, PASSWORD,
                FLUSH_INTERVAL, BATCH_SIZE, QUEUE_CAPACITY, SPILL_DIR, WRITE_MODE, SNAPSHOT_INTERVAL, CONNECT_TIMEOUT,
                WRITE_TIMEOUT, TRIAD_BUFFER_EVENTS);
    }

    /**
     * Binds {@code store} (the section, not the whole tree). Problems go to {@code r}, each naming
     * its key under {@code store.}; the caller throws them together with the rest of the file.
     */
    public static StoreConfig bind(JsonObject store, ConfigReader r, Map<String, String> env) {
        String url = r.string(store, URL);
        if (url != null && url.isBlank()) {
            url = null;
        }
        String host = r.string(store, HOST);
        int port = (int) r.integer(store, PORT);
        String database = r.string(store, DATABASE);
        String user = r.string(store, USER);
        String password = r.string(store, PASSWORD);
        if (password == null) {
            password = env.get(PASSWORD_ENV);
        }
        long flush = r.durationMs(store, FLUSH_INTERVAL);
        int batch = (int) r.integer(store, BATCH_SIZE);
        int capacity = (int) r.integer(store, QUEUE_CAPACITY);
        if (capacity < batch) {
            r.problem("store.queue_capacity", "at least store.batch_size (" + batch + ")", capacity);
        }
        String spill = r.string(store, SPILL_DIR);
        Path spillDir = Path.of(DEFAULT_SPILL_DIR);
        try {
            spillDir = Path.of(spill);
        } catch (RuntimeException e) {
            r.problem("store.spill_dir", "a directory path", spill);
        }
        String mode = r.string(store, WRITE_MODE);
        WriteMode writeMode = WriteMode.WRITE_BEHIND;
        String m = mode.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (m.equals("write_through")) {
            writeMode = WriteMode.WRITE_THROUGH;
        } else if (!m.equals("write_behind")) {
            r.problem("store.write_mode", "write_behind or write_through", mode);
        }
        long snapshot = r.durationMs(store, SNAPSHOT_INTERVAL);
        long connectTimeout = r.durationMs(store, CONNECT_TIMEOUT);
        long writeTimeout = r.durationMs(store, WRITE_TIMEOUT);
        int triadBuffer = (int) r.integer(store, TRIAD_BUFFER_EVENTS);
        return new StoreConfig(url, host, port, database, user, password, flush, batch, capacity, spillDir,
                writeMode, snapshot, connectTimeout, writeTimeout, triadBuffer);
    }

    /** Binds and validates {@code store}; throws {@link dev.turnstile.appliance.config.ConfigException} on problems. */
    public static StoreConfig from(JsonObject store, Map<String, String> env) {
        ConfigReader r = new ConfigReader();
        StoreConfig c = bind(store, r, env);
        r.throwIfAny();
        return c;
    }

    /** Where the store points, for logs and the status page: never the password. */
    public String describeTarget() {
        if (url != null) {
            return describeUrl(url);
        }
        return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
    }

    /** {@code postgresql://user:secret@host/db} with the secret replaced by {@code ***}. */
    public static String describeUrl(String url) {
        if (url == null) {
            return "(none)";
        }
        return Redaction.redactUrl(url); // also when the password holds '/', '@' or '?' and the URL does not parse
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "StoreConfig[" + describeTarget() + ", flush_interval=" + flushIntervalMs + "ms, batch_size=" + batchSize
                + ", queue_capacity=" + queueCapacity + ", spill_dir=" + spillDir + ", write_mode="
                + writeMode.configName() + "]";
    }
}
