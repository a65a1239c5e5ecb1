package dev.turnstile.appliance.store.impl;

import io.vertx.core.Future;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waits for a Vert.x future on the store's own writer thread (never on an event loop). */
final class Await {
    private Await() {
    }

    static <T> T await(Future<T> f, long timeoutMs) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = PgFailures.unwrap(e);
            if (c instanceof Exception ex) {
                throw ex;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new TimeoutException("no answer within " + timeoutMs + " ms");
        }
    }
}
