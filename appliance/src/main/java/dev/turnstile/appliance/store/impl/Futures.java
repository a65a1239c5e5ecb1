package dev.turnstile.appliance.store.impl;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** Composition helpers for the store's asynchronous steps (no blocking waits anywhere). */
final class Futures {
    private Futures() {
    }

    /**
     * Runs {@code step} for each item in order, the next once the previous succeeded with {@code true}. Completes
     * with {@code true} when all did, {@code false} at the first {@code false} (the rest are not run), or fails with
     * the first failure. Steps that complete at once are run in a loop (no stack growth).
     */
    static <E> Future<Boolean> inOrder(List<E> items, Function<E, Future<Boolean>> step) {
        Promise<Boolean> p = Promise.promise();
        next(items.iterator(), step, p);
        return p.future();
    }

    private static <E> void next(Iterator<E> it, Function<E, Future<Boolean>> step, Promise<Boolean> p) {
        while (it.hasNext()) {
            Future<Boolean> f;
            try {
                f = step.apply(it.next());
            } catch (RuntimeException e) {
                p.fail(e);
                return;
            }
            if (!f.isComplete()) {
                f.onComplete(ar -> {
                    if (ar.failed()) {
                        p.fail(ar.cause());
                    } else if (!Boolean.TRUE.equals(ar.result())) {
                        p.complete(false);
                    } else {
                        next(it, step, p);
                    }
                });
                return;
            }
            if (f.failed()) {
                p.fail(f.cause());
                return;
            }
            if (!Boolean.TRUE.equals(f.result())) {
                p.complete(false);
                return;
            }
        }
        p.complete(true);
    }

    /**
     * {@code f}, or a failure with a {@link java.util.concurrent.TimeoutException} ("no answer within N ms") when it
     * takes longer than {@code ms}. The operation itself is not cancelled: the caller drops the connection.
     */
    static <T> Future<T> within(Future<T> f, long ms) {
        return f.timeout(ms, TimeUnit.MILLISECONDS).recover(e -> e instanceof java.util.concurrent.TimeoutException
                && !f.isComplete()
                ? Future.failedFuture(new java.util.concurrent.TimeoutException("no answer within " + ms + " ms"))
                : Future.failedFuture(e));
    }
}
