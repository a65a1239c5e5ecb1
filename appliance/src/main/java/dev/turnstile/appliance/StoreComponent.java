package dev.turnstile.appliance;

import dev.turnstile.appliance.lifecycle.Lifecycle;
import dev.turnstile.appliance.store.PersistenceService;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.triad.TriadJournal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-behind store as a component (issue 3): PostgreSQL when the YAML has a {@code store:} section (connect,
 * migrate and replay the spill on {@link #start()}), else memory only; in a triad a {@link TriadJournal} over it
 * (keyed events buffered on every member, written by the leader only). {@link #current()} is the store the ledger
 * journals to: memory-only until the start finds a database. {@link #stop()} writes everything held and closes.
 */
final class StoreComponent implements Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(StoreComponent.class);

    private final Vertx vertx;
    private final Optional<StoreConfig> config;
    private final boolean triad;
    private volatile PersistenceService store = PersistenceService.memoryOnly();
    private volatile boolean memoryOnly = true;

    StoreComponent(Vertx vertx, Optional<StoreConfig> config, boolean triad) {
        this.vertx = vertx;
        this.config = config;
        this.triad = triad;
    }

    @Override
    public String name() {
        return "store";
    }

    /** The store now (memory-only until started with a {@code store:} section). */
    PersistenceService current() {
        return store;
    }

    boolean memoryOnly() {
        return memoryOnly;
    }

    @Override
    public Future<Void> start() {
        if (config.isEmpty()) {
            LOG.info("store: no store section configured: running on memory alone (seat history is not persisted "
                    + "and leases do not survive a restart)");
            return Future.succeededFuture();
        }
        StoreConfig sc = config.get(); // config: bound once
        return PersistenceService.start(vertx, sc)
                .map(s -> {
                    store = s;
                    if (triad) { // store: the triad's write-behind (issue 8), leader only
                        store = new TriadJournal(s, sc.triadBufferEvents(), sc.flushIntervalMs());
                    }
                    memoryOnly = false;
                    return null;
                });
    }

    @Override
    public Future<Void> stop() {
        return store.stop();
    }
}
