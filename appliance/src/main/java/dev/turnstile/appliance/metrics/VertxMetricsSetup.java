package dev.turnstile.appliance.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Creates the process's {@link Vertx} with vertx-micrometer-metrics enabled, writing into one
 * {@link PrometheusMeterRegistry}: Vert.x's own meters (HTTP server requests, TCP connections and
 * bytes, worker pools), the JVM's (memory, GC, threads, classes, CPU) and Netty's (pending tasks per
 * event loop, allocator). An {@link ApplianceMetrics} started on that Vert.x adds the appliance's
 * meters to the same registry, so {@code /metrics} shows all of them. A Vert.x created any other
 * way (tests) gets a registry of the appliance's own: the appliance's meters work there too.
 */
public final class VertxMetricsSetup {
    /** {@code -Dturnstile.vertx-metrics=false}: no Vert.x meters (HTTP, TCP, pools). */
    public static final String DISABLE_PROPERTY = "turnstile.vertx-metrics";
    private static final Map<Vertx, PrometheusMeterRegistry> REGISTRIES = new WeakHashMap<>();

    private VertxMetricsSetup() {
    }

    /** The Vert.x options' metrics part: Micrometer with the Prometheus backend, JVM and Netty meters on. */
    public static MicrometerMetricsOptions metricsOptions() {
        return new MicrometerMetricsOptions()
                .setEnabled(true)
                .setJvmMetricsEnabled(true)
                .setNettyMetricsEnabled(true)
                .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true));
    }

    /**
     * A Vert.x whose metrics go to a new Prometheus registry, found again with {@link #registryOf}.
     * With the system property {@value #DISABLE_PROPERTY}{@code =false} Vert.x's own meters are off (a
     * plain Vert.x; the appliance's, JVM and event-loop meters still work): for measuring their cost.
     */
    public static Vertx vertx(VertxOptions options) {
        if ("false".equals(System.getProperty(DISABLE_PROPERTY))) {
            return Vertx.vertx(options);
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Vertx vertx = Vertx.builder().with(options.setMetricsOptions(metricsOptions()))
                .withMetrics(new MicrometerMetricsFactory(registry)).build();
        synchronized (REGISTRIES) {
            REGISTRIES.put(vertx, registry);
        }
        return vertx;
    }

    /** The registry {@link #vertx} made for {@code vertx}, or null for a Vert.x made otherwise. */
    public static PrometheusMeterRegistry registryOf(Vertx vertx) {
        synchronized (REGISTRIES) {
            return REGISTRIES.get(vertx);
        }
    }
}
