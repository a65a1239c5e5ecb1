package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.store.PersistenceService;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.Collection;
import java.util.List;

/** The store of an appliance configured without {@code store:}: seat counts live in memory only. */
public final class MemoryOnlyPersistence implements PersistenceService {
    public static final MemoryOnlyPersistence INSTANCE = new MemoryOnlyPersistence();

    private MemoryOnlyPersistence() {
    }

    @Override
    public boolean persistent() {
        return false;
    }

    @Override
    public void journal(LedgerEvent event) {
    }

    @Override
    public void recordEntitlements(Collection<Entitlement> current) {
    }

    @Override
    public Future<List<LeaseView>> loadActiveLeases() {
        return Future.succeededFuture(List.of());
    }

    @Override
    public Future<Void> flush() {
        return Future.succeededFuture();
    }

    @Override
    public JsonObject status() {
        return new JsonObject()
                .put("mode", "memory-only")
                .put("persistent", false)
                .put("message", "no store section configured: seats and usage live in memory only and are lost "
                        + "on restart");
    }

    @Override
    public Future<Void> stop() {
        return Future.succeededFuture();
    }
}
