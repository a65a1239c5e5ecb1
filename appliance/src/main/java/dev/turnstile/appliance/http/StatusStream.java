package dev.turnstile.appliance.http;

import dev.turnstile.appliance.metrics.SeatHistory;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/events}: server-sent events for live pages. Every {@code live_interval} one
 * {@code status} event (the body of {@code GET /v1/status}) is computed once and written to every
 * subscriber; each new history sample is pushed as a {@code sample} event. The timer runs only while
 * somebody listens. A subscriber whose connection cannot keep up is skipped (its write queue is
 * full) and dropped after {@value #MAX_SKIPS} skipped events in a row; at most
 * {@value #MAX_SUBSCRIBERS} streams are open at once (503 beyond).
 *
 * <pre>
 * retry: 3000
 *
 * event: status
 * data: {"server_id": "...", "pools": [...], ...}
 *
 * event: sample
 * data: {"at": "2026-11-23T10:00:00Z", "used": {"cad-pro": 3}, "max": {"cad-pro": 5}}
 * </pre>
 */
final class StatusStream {
    private static final Logger LOG = LoggerFactory.getLogger(StatusStream.class);
    static final int MAX_SUBSCRIBERS = 64;
    static final int MAX_SKIPS = 30;

    private final Vertx vertx;
    private final Supplier<JsonObject> status;
    private final long intervalMs;
    private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
    private long timer = -1;
    private boolean closed;

    private static final class Subscriber {
        final HttpServerResponse response;
        final Context context;
        final String remote;
        int skipped;

        Subscriber(HttpServerResponse response, Context context, String remote) {
            this.response = response;
            this.context = context;
            this.remote = remote;
        }
    }

    StatusStream(Vertx vertx, Supplier<JsonObject> status, long intervalMs) {
        this.vertx = vertx;
        this.status = status;
        this.intervalMs = intervalMs;
    }

    int subscribers() {
        return subscribers.size();
    }

    void subscribe(RoutingContext ctx) {
        if (subscribers.size() >= MAX_SUBSCRIBERS) {
            throw new ApiError(503, "tooManyStreams", "at most " + MAX_SUBSCRIBERS + " event streams may be open");
        }
        HttpServerResponse r = ctx.response();
        r.setChunked(true)
                .putHeader("Content-Type", "text/event-stream; charset=utf-8")
                .putHeader("Cache-Control", "no-store")
                .putHeader("X-Accel-Buffering", "no");
        Subscriber s = new Subscriber(r, vertx.getOrCreateContext(), String.valueOf(ctx.request().remoteAddress()));
        r.closeHandler(v -> remove(s));
        r.exceptionHandler(e -> remove(s));
        r.write("retry: 3000\n\n" + event("status", status.get()));
        subscribers.add(s);
        ensureTimer();
    }

    private void remove(Subscriber s) {
        subscribers.remove(s);
    }

    private synchronized void ensureTimer() {
        if (timer < 0 && !closed) {
            timer = vertx.setPeriodic(intervalMs, id -> tick());
        }
    }

    private void tick() {
        if (subscribers.isEmpty()) {
            synchronized (this) {
                if (subscribers.isEmpty() && timer >= 0) {
                    vertx.cancelTimer(timer);
                    timer = -1;
                }
            }
            return;
        }
        broadcast(event("status", status.get()));
    }

    /** A new history sample (called on an event loop by the metrics' sampler). */
    void sample(SeatHistory.Sample sample) {
        if (!subscribers.isEmpty()) {
            broadcast(event("sample", sample.toJson()));
        }
    }

    private void broadcast(String text) {
        for (Subscriber s : subscribers) {
            s.context.runOnContext(v -> {
                if (s.response.closed() || s.response.ended()) {
                    remove(s);
                    return;
                }
                if (s.response.writeQueueFull()) {
                    if (++s.skipped > MAX_SKIPS) {
                        LOG.info("closing an event stream to {} that has not read for {} events", s.remote, MAX_SKIPS);
                        remove(s);
                        s.response.reset();
                    }
                    return;
                }
                s.skipped = 0;
                s.response.write(text);
            });
        }
    }

    private static String event(String name, JsonObject data) {
        return "event: " + name + "\ndata: " + data.encode() + "\n\n";
    }

    synchronized void close() {
        closed = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        for (Subscriber s : subscribers) {
            s.context.runOnContext(v -> {
                if (!s.response.ended() && !s.response.closed()) {
                    s.response.end();
                }
            });
        }
        subscribers.clear();
    }
}
