package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.session.SessionLimits;
import dev.turnstile.appliance.session.SessionRegistry;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The meters of the listener's limits (issue 12; HTTP.md lists them):
 * {@code turnstile_connections_by_state{state}}, {@code turnstile_session_limit},
 * {@code turnstile_session_limit_per_address}, {@code turnstile_session_refusals_total{reason}},
 * {@code turnstile_session_evictions_total{reason}}, {@code turnstile_session_evictions_cancelled_total},
 * {@code turnstile_partial_frame_bytes}, {@code turnstile_partial_frame_budget_bytes},
 * {@code turnstile_auth_failures_total}, {@code turnstile_auth_backoffs_total},
 * {@code turnstile_auth_backoff_refusals_total}, {@code turnstile_auth_backoff_addresses}.
 * Read when scraped; nothing here runs on the session path.
 */
final class SessionLimitMeters {
    private static final long STATE_COUNT_MAX_AGE_MS = 1_000;

    private final SessionRegistry sessions;
    private final LongSupplier nowMs;
    private Map<String, Long> byState = Map.of();
    private long byStateAtMs = Long.MIN_VALUE / 2;

    private SessionLimitMeters(SessionRegistry sessions, LongSupplier nowMs) {
        this.sessions = sessions;
        this.nowMs = nowMs;
    }

    static List<Meter> register(MeterRegistry registry, SessionRegistry sessions, LongSupplier nowMs) {
        SessionLimitMeters m = new SessionLimitMeters(sessions, nowMs);
        List<Meter> out = new ArrayList<>();
        for (String state : List.of("preamble", "hello", "ready", "closing")) {
            out.add(Gauge.builder("turnstile.connections.by.state", m, x -> x.countIn(state))
                    .description("Open client connections by session state (preamble: before the client's preamble; "
                            + "hello: before HELLO; ready: past HELLO; closing: told why and being closed)")
                    .tag("state", state).strongReference(true).register(registry));
        }
        out.add(Gauge.builder("turnstile.session.limit", m, x -> x.limits().maxSessions())
                .description("Connections the listener admits at most: server.max_sessions, lowered to keep "
                        + "server.fd_headroom file descriptors free").strongReference(true).register(registry));
        out.add(Gauge.builder("turnstile.session.limit.per.address", m,
                        x -> x.limits().config().maxSessionsPerAddress())
                .description("Connections one source address may hold open (server.max_sessions_per_address)")
                .strongReference(true).register(registry));
        for (SessionLimits.Refusal r : SessionLimits.Refusal.values()) {
            out.add(FunctionCounter.builder("turnstile.session.refusals", m, x -> x.limits().refusals(r))
                    .description("Connections closed before the server's preamble, by reason (per_address: the "
                            + "address is at its cap; session_limit: full and no idle session to evict; draining)")
                    .tag("reason", r.label).register(registry));
        }
        for (SessionLimits.Eviction e : SessionLimits.Eviction.values()) {
            out.add(FunctionCounter.builder("turnstile.session.evictions", m, x -> x.limits().evictions(e))
                    .description("Open sessions closed by the limits, by reason (idle_before_hello, idle_without_lease: "
                            + "evicted to admit a new connection; partial_frame_budget, "
                            + "partial_frame_budget_per_address: shed for holding the largest incomplete frames)")
                    .tag("reason", e.label).register(registry));
        }
        out.add(FunctionCounter.builder("turnstile.session.evictions.cancelled", m, x -> x.limits().evictionsCancelled())
                .description("Sessions chosen for eviction that sent something or took a lease first, and stayed")
                .register(registry));
        out.add(Gauge.builder("turnstile.partial.frame", m, x -> x.limits().partialFrameBytes())
                .description("Bytes buffered for incomplete frames across all sessions").baseUnit("bytes")
                .strongReference(true).register(registry));
        out.add(Gauge.builder("turnstile.partial.frame.budget", m, x -> x.limits().config().partialFrameBudget())
                .description("server.partial_frame_budget: incomplete-frame bytes above which sessions are shed")
                .baseUnit("bytes").strongReference(true).register(registry));
        out.add(FunctionCounter.builder("turnstile.auth.failures", m, x -> x.limits().authFailures())
                .description("HELLOs refused with authenticationFailed (token checked and wrong)").register(registry));
        out.add(FunctionCounter.builder("turnstile.auth.backoffs", m, x -> x.limits().authBackoffs())
                .description("Authentication back-offs started (an address failed server.auth_failures_before_backoff "
                        + "times or more)").register(registry));
        out.add(FunctionCounter.builder("turnstile.auth.backoff.refusals", m, x -> x.limits().authBackoffRefusals())
                .description("HELLOs refused unchecked (GOODBYE serverBusy) because their address was in back-off")
                .register(registry));
        out.add(Gauge.builder("turnstile.auth.backoff.addresses", m,
                        x -> x.limits().addressesInBackoff(x.nowMs.getAsLong()))
                .description("Source addresses whose HELLOs are refused unchecked right now").strongReference(true)
                .register(registry));
        return out;
    }

    private SessionLimits limits() {
        return sessions.limits();
    }

    private synchronized double countIn(String state) {
        long now = nowMs.getAsLong();
        if (now - byStateAtMs > STATE_COUNT_MAX_AGE_MS) {
            byState = sessions.countByState();
            byStateAtMs = now;
        }
        return byState.getOrDefault(state, 0L);
    }
}
