package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.log.Redaction;
import io.vertx.pgclient.PgException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/** Sorts what went wrong with Postgres into what the writer does about it, and says it in one line. */
final class PgFailures {

    /** What the writer does about a failure. */
    enum Kind {
        /** Postgres cannot be reached or went away: hold the events, reconnect with backoff. */
        CONNECTION,
        /** Wrong user or password: hold the events, log once per change, retry slowly. */
        AUTHENTICATION,
        /** A row Postgres refuses for its content (22xxx, 23xxx): split the batch and park that row. */
        DATA,
        /** The batch took longer than the write timeout: drop the connection and retry. */
        TIMEOUT,
        /** Anything else (a missing table, out of disk...): hold the events and retry with backoff. */
        OTHER,
        /** Vert.x itself was closed under the store: nothing will ever work again; spill and stop. */
        CLOSED
    }

    private PgFailures() {
    }

    static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof ExecutionException || c instanceof CompletionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    static Kind classify(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof TimeoutException) {
            return Kind.TIMEOUT;
        }
        if (c instanceof PgException pg) {
            String state = pg.getSqlState() == null ? "" : pg.getSqlState();
            if (state.startsWith("28")) {
                return Kind.AUTHENTICATION;
            }
            if (state.startsWith("08") || state.startsWith("57P") || state.equals("3D000")
                    || state.equals("53300")) {
                return Kind.CONNECTION; // connection exception, shutdown, no database, too many connections
            }
            if (state.startsWith("22") || state.startsWith("23")) {
                return Kind.DATA;
            }
            return Kind.OTHER;
        }
        if (c instanceof IllegalArgumentException || c instanceof ClassCastException
                || String.valueOf(c.getMessage()).contains("can not be coerced")) {
            return Kind.DATA; // a value the client cannot encode: refused for its content
        }
        if (c instanceof java.util.concurrent.RejectedExecutionException) {
            return Kind.CLOSED;
        }
        return Kind.CONNECTION; // I/O: refused, reset, closed
    }

    /** One line: Postgres's own message with its SQLSTATE and constraint, or the I/O cause; never a secret. */
    static String describe(Throwable t) {
        return Redaction.redact(describeRaw(t));
    }

    private static String describeRaw(Throwable t) {
        Throwable c = unwrap(t);
        if (c instanceof PgException pg) {
            StringBuilder sb = new StringBuilder();
            sb.append(pg.getErrorMessage() == null ? String.valueOf(pg.getMessage()) : pg.getErrorMessage());
            sb.append(" (SQLSTATE ").append(pg.getSqlState()).append(')');
            if (pg.getConstraint() != null) {
                sb.append(", constraint ").append(pg.getConstraint());
            }
            if (pg.getTable() != null) {
                sb.append(", table ").append(pg.getTable());
            }
            if (pg.getDetail() != null) {
                sb.append(": ").append(pg.getDetail());
            }
            if (pg.getPosition() != null) {
                sb.append(" (at character ").append(pg.getPosition()).append(')');
            }
            return sb.toString();
        }
        if (c instanceof TimeoutException) {
            return "no answer from Postgres in time" + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")");
        }
        String m = c.getMessage();
        String name = c.getClass().getSimpleName();
        return m == null || m.isBlank() ? name : name + ": " + m;
    }
}
