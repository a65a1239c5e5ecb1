package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.metrics.MeterSet;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToDoubleFunction;

/**
 * The member's meters on {@code /metrics} (Prometheus names): {@code turnstile_triad_leader} (1 while this member
 * leads), {@code turnstile_triad_quorum} (1 while a leader is known and a majority is in view),
 * {@code turnstile_triad_term}, {@code turnstile_triad_fenced} (1 while this leader renews no lease: fenced
 * heartbeats), {@code turnstile_triad_fenced_heartbeats_total}, {@code turnstile_triad_leaderships_total} (elections
 * this member won), {@code turnstile_triad_applied_index}. Registered when the member joins, removed when it leaves.
 */
public final class TriadMeters {
    private final MeterSet meters;

    public TriadMeters(MeterRegistry registry, TriadNode node) {
        this.meters = new MeterSet(registry);
        gauge("turnstile.triad.leader", node, n -> n.isLeader() ? 1 : 0, "1 while this member is the triad's leader");
        gauge("turnstile.triad.quorum", node, n -> n.hasQuorum() ? 1 : 0,
                "1 while a leader is known and a majority of the triad is in this member's view");
        gauge("turnstile.triad.term", node, TriadNode::term, "The Raft term this member is in");
        gauge("turnstile.triad.applied.index", node, TriadNode::appliedIndex, "The last log entry this member applied");
        gauge("turnstile.triad.fenced", node, n -> n.isLeader() && n.fenced(n.nowMs()) ? 1 : 0,
                "1 while this leader renews no lease: no majority acknowledged it within the fence bound "
                        + "(triad.failure_timeout)");
        meters.add(FunctionCounter.builder("turnstile.triad.fenced.heartbeats", node, TriadNode::fencedHeartbeats)
                .description("Heartbeats this member answered as a fenced leader (renewing nothing)")
                .register(registry));
        meters.add(FunctionCounter.builder("turnstile.triad.leaderships", node, TriadNode::leadershipsWon)
                .description("Elections this member won since it started").register(registry));
    }

    private void gauge(String name, TriadNode node, ToDoubleFunction<TriadNode> f, String description) {
        meters.add(Gauge.builder(name, node, f).description(description).strongReference(true)
                .register(meters.registry()));
    }

    /** Removes every meter this member registered. */
    public void close() {
        meters.removeAll();
    }
}
