package dev.turnstile.appliance.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The meters one component made in the registry it was given, removed again when it stops: a component that
 * stops leaves nothing behind, and a restart in the same JVM (tests start several appliances) registers fresh
 * meters. The registry is injected (the one the composition root made, behind {@code /metrics}); nothing goes
 * through Micrometer's global registry. Thread-safe.
 */
public final class MeterSet {
    private final MeterRegistry registry;
    private final Set<Meter> meters = ConcurrentHashMap.newKeySet();

    public MeterSet(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Where the meters go. */
    public MeterRegistry registry() {
        return registry;
    }

    /** Keeps {@code meter} (already registered in {@link #registry()}) to remove it at {@link #removeAll()}. */
    public <M extends Meter> M add(M meter) {
        meters.add(meter);
        return meter;
    }

    public void addAll(Collection<? extends Meter> more) {
        meters.addAll(more);
    }

    /** Removes one meter now (a pool that went away). */
    public void remove(Meter meter) {
        meters.remove(meter);
        registry.remove(meter);
    }

    /** Removes every meter kept here from the registry. */
    public void removeAll() {
        for (Meter m : meters) {
            registry.remove(m);
        }
        meters.clear();
    }

    public int size() {
        return meters.size();
    }
}
