package dev.turnstile.testsupport;

import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The result of a Vert.x future on a test thread (never on an event loop), bounded in time. A failed future throws
 * its cause (wrapped in an {@link ExecutionException}); a late one a {@link java.util.concurrent.TimeoutException}.
 * The module that calls this brings vertx-core itself.
 */
public final class VertxAwait {
    public static final Duration DEFAULT = Duration.ofSeconds(60);

    private VertxAwait() {
    }

    public static <T> T result(Future<T> f) throws Exception {
        return result(f, DEFAULT);
    }

    public static <T> T result(Future<T> f, Duration max) throws Exception {
        if (io.vertx.core.Context.isOnEventLoopThread()) { // a wait here would block the loop the future needs
            throw new IllegalStateException("VertxAwait.result called on an event loop; compose the future instead");
        }
        return f.toCompletionStage().toCompletableFuture().get(max.toMillis(), TimeUnit.MILLISECONDS);
    }
}
