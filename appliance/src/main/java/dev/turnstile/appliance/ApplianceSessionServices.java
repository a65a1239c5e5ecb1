package dev.turnstile.appliance;

import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.lifecycle.ServingState;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.session.SessionRegistry;
import dev.turnstile.appliance.session.SessionServices;
import dev.turnstile.appliance.sync.SyncVerticle;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import java.time.Clock;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What the sessions get of the appliance (wiring, made by the composition root): the seat authority, the ledger,
 * the registry, the settings of {@code server:}, the client policy (which a reload replaces), the serving state,
 * and what the sync says about the license (validity in WELCOME, the licenseExpired refusal). Not the root itself.
 */
final class ApplianceSessionServices implements SessionServices {
    private final ServerConfig server;
    private final Clock clock;
    private final SeatAuthority authority;
    private final ConcurrentLedger ledger;
    private final SessionRegistry registry;
    private final LedgerListener listener;
    private final ServingState serving;
    private final Supplier<ClientPolicy> clients;
    private final BooleanSupplier memoryOnly;
    private final Supplier<SyncVerticle> sync;
    private final Supplier<List<String>> peers;

    ApplianceSessionServices(ServerConfig server, Clock clock, SeatAuthority authority, ConcurrentLedger ledger,
                             SessionRegistry registry, LedgerListener listener, ServingState serving,
                             Supplier<ClientPolicy> clients, BooleanSupplier memoryOnly, Supplier<SyncVerticle> sync,
                             Supplier<List<String>> peers) {
        this.server = server;
        this.clock = clock;
        this.authority = authority;
        this.ledger = ledger;
        this.registry = registry;
        this.listener = listener;
        this.serving = serving;
        this.clients = clients;
        this.memoryOnly = memoryOnly;
        this.sync = sync;
        this.peers = peers;
    }

    @Override
    public SeatAuthority authority() {
        return authority;
    }

    @Override
    public ConcurrentLedger ledger() {
        return ledger;
    }

    @Override
    public SessionRegistry registry() {
        return registry;
    }

    @Override
    public void journal(LedgerEvent event) {
        listener.journal(event);
    }

    @Override
    public ClientPolicy clientPolicy() {
        return clients.get();
    }

    @Override
    public long nowMs() {
        return clock.millis();
    }

    @Override
    public long helloTimeoutMs() {
        return server.helloTimeoutMs();
    }

    @Override
    public long slowConsumerTimeoutMs() {
        return server.slowConsumerTimeoutMs();
    }

    @Override
    public long leaseTimeoutMs() {
        return server.leaseTimeoutMs();
    }

    @Override
    public int maxInFlight() {
        return server.maxInFlight();
    }

    @Override
    public Message.Welcome welcome() {
        SyncVerticle sv = sync.get();
        boolean memory = memoryOnly.getAsBoolean();
        return new Message.Welcome(server.id(), server.heartbeatIntervalMs(), server.leaseTimeoutMs(), nowMs(),
                sv == null ? 0 : sv.licenseValidUntilMs(), // sync: validity
                (memory ? Message.Welcome.FLAG_MEMORY_ONLY : 0) | (sv == null ? 0 : sv.welcomeFlags()),
                peers.get()); // triad: the members' client addresses, else server.peers
    }

    @Override
    public boolean draining() {
        return serving.draining();
    }

    // sync: every checkout is refused with licenseExpired while no valid license is installed (issue 4)
    @Override
    public ErrorCode checkoutRefusal() {
        SyncVerticle sv = sync.get();
        return sv == null ? null : sv.checkoutRefusal();
    }

    @Override
    public String checkoutRefusalMessage() {
        SyncVerticle sv = sync.get();
        return sv == null ? "" : sv.checkoutRefusalMessage();
    }
}
