package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.protocol.ErrorCode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Counts the ledger's events for {@code /metrics}. It is a journal sink, so {@link #accept} runs
 * under the ledger's lock on the thread of the command: it only increments a {@link LongAdder}
 * found through one map lookup and one array slot, and never allocates on the steady path. The
 * first time a product, kind or error code shows up, a cell is created and marked; the Micrometer
 * meters for new cells are registered later, off the hot path, by {@link #registerNew}.
 */
final class LedgerCounters implements Consumer<LedgerEvent> {
    private static final ErrorCode[] CODES = ErrorCode.values();
    private static final LedgerEvent.Kind[] KINDS = LedgerEvent.Kind.values();
    /** The product label of denials that matched no pool (unknown product and the like). */
    static final String UNKNOWN_PRODUCT = "(none)";

    /** One product's counters: [kind] for grants and ends, [kind x code] for denials and ends by reason. */
    static final class ProductCells {
        final String product;
        final AtomicReferenceArray<LongAdder> byKind = new AtomicReferenceArray<>(KINDS.length);
        final AtomicReferenceArray<LongAdder> byKindAndCode = new AtomicReferenceArray<>(KINDS.length * CODES.length);

        ProductCells(String product) {
            this.product = product;
        }
    }

    private final ConcurrentHashMap<String, ProductCells> products = new ConcurrentHashMap<>();
    private final LongAdder heartbeats = new LongAdder();
    private final LongAdder events = new LongAdder();
    private volatile boolean unregistered;
    /** Cells whose meters exist already (touched only by {@link #registerNew}, which is synchronized). */
    private final java.util.Set<LongAdder> registered = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    @Override
    public void accept(LedgerEvent e) {
        events.increment();
        if (e.kind() == LedgerEvent.Kind.HEARTBEAT) {
            heartbeats.increment();
            return;
        }
        // A denial with no pool names whatever product the client asked for: one bucket for all of
        // those, so that a client cannot create a label value per made-up product name.
        String product = e.entitlementId() == null || e.entitlementId().isEmpty() || e.productId() == null
                ? UNKNOWN_PRODUCT : e.productId();
        ProductCells p = products.get(product);
        if (p == null) {
            p = products.computeIfAbsent(product, ProductCells::new);
        }
        int k = e.kind().ordinal();
        cell(p.byKind, k).increment();
        switch (e.kind()) {
            case DENIAL, QUEUE_TIMEOUT, EXPIRY, RELEASE, CHECKIN -> {
                ErrorCode reason = e.reason() == null ? ErrorCode.OK : e.reason();
                cell(p.byKindAndCode, k * CODES.length + reason.ordinal()).increment();
            }
            default -> {
            }
        }
    }

    private LongAdder cell(AtomicReferenceArray<LongAdder> cells, int i) {
        LongAdder a = cells.get(i);
        if (a == null) {
            cells.compareAndSet(i, null, new LongAdder());
            a = cells.get(i);
            unregistered = true;
        }
        return a;
    }

    long heartbeats() {
        return heartbeats.sum();
    }

    long events() {
        return events.sum();
    }

    /** The count of {@code kind} events of {@code product} (0 when none happened). */
    long count(String product, LedgerEvent.Kind kind) {
        ProductCells p = products.get(product);
        LongAdder a = p == null ? null : p.byKind.get(kind.ordinal());
        return a == null ? 0 : a.sum();
    }

    /** The count of {@code kind} events of {@code product} with {@code reason}. */
    long count(String product, LedgerEvent.Kind kind, ErrorCode reason) {
        ProductCells p = products.get(product);
        LongAdder a = p == null ? null : p.byKindAndCode.get(kind.ordinal() * CODES.length + reason.ordinal());
        return a == null ? 0 : a.sum();
    }

    /**
     * Registers a function counter for every cell that has none yet:
     * <ul>
     *   <li>{@code turnstile_checkouts_total{product_id, kind=checkout|reclaim}}: seats granted</li>
     *   <li>{@code turnstile_denials_total{product_id, code}}: checkouts refused (queue timeouts included)</li>
     *   <li>{@code turnstile_queued_total{product_id}}: checkouts that waited in a queue</li>
     *   <li>{@code turnstile_lease_ends_total{product_id, kind=checkin|expiry|release, reason}}</li>
     *   <li>{@code turnstile_lease_expiries_total{product_id}}: leases that expired for want of heartbeats</li>
     * </ul>
     * Returns the meters it registered (so that they can be removed when the registry is given back).
     */
    synchronized List<io.micrometer.core.instrument.Meter> registerNew(MeterRegistry registry) {
        List<io.micrometer.core.instrument.Meter> out = new ArrayList<>();
        if (!unregistered) {
            return out;
        }
        unregistered = false;
        for (ProductCells p : products.values()) {
            for (LedgerEvent.Kind kind : KINDS) {
                LongAdder a = p.byKind.get(kind.ordinal());
                if (a != null && registered.add(a)) {
                    String name = switch (kind) {
                        case CHECKOUT, RECLAIM -> "turnstile.checkouts";
                        case QUEUE -> "turnstile.queued";
                        case EXPIRY -> "turnstile.lease.expiries";
                        default -> null;
                    };
                    if (name != null) {
                        FunctionCounter.Builder<LongAdder> b = FunctionCounter.builder(name, a, LongAdder::sum)
                                .tag("product_id", p.product)
                                .description(description(kind));
                        if (kind == LedgerEvent.Kind.CHECKOUT || kind == LedgerEvent.Kind.RECLAIM) {
                            b.tag("kind", kind == LedgerEvent.Kind.CHECKOUT ? "checkout" : "reclaim");
                        }
                        out.add(b.register(registry));
                    }
                }
                for (ErrorCode code : CODES) {
                    LongAdder c = p.byKindAndCode.get(kind.ordinal() * CODES.length + code.ordinal());
                    if (c == null || !registered.add(c)) {
                        continue;
                    }
                    if (kind == LedgerEvent.Kind.DENIAL || kind == LedgerEvent.Kind.QUEUE_TIMEOUT) {
                        out.add(FunctionCounter.builder("turnstile.denials", c, LongAdder::sum)
                                .description("Checkouts refused, by error code (queue timeouts included)")
                                .tag("product_id", p.product).tag("code", code.wireName()).register(registry));
                    } else {
                        out.add(FunctionCounter.builder("turnstile.lease.ends", c, LongAdder::sum)
                                .description("Leases that ended, by how (checkin, expiry, release) and why")
                                .tag("product_id", p.product).tag("kind", kind.name().toLowerCase(java.util.Locale.ROOT))
                                .tag("reason", code.wireName()).register(registry));
                    }
                }
            }
        }
        return out;
    }

    private static String description(LedgerEvent.Kind kind) {
        return switch (kind) {
            case CHECKOUT, RECLAIM -> "Seats granted (checkout) or given back to their holder after a reconnect (reclaim)";
            case QUEUE -> "Checkouts that waited in a pool's queue";
            case EXPIRY -> "Leases that expired because their heartbeats stopped";
            default -> "";
        };
    }
}
