package dev.turnstile.appliance.store;

import dev.turnstile.appliance.log.Redaction;
import io.vertx.pgclient.PgConnectOptions;

/**
 * Where the {@code store:} section points: the connection options, parsed once (by {@link PgConnectOptions#fromUri}),
 * or why they cannot be. The one parser of {@code store.url}: the store's writer and the sync state store both use it.
 *
 * <p>A URL that does not parse does not stop seat service (STORE.md, "Bad input"), so it is not an exception here but
 * a {@link #problem()}: the store logs it and holds its events; the sync falls back to its files.
 *
 * @param options the connection options (a copy for each use: {@link #newOptions()}); {@code null} when {@link #problem()}
 * @param problem one line naming {@code store.url} and why it does not parse, never the password; {@code null} when fine
 */
public record PgTarget(PgConnectOptions options, String problem) {

    /** Parses {@code c}: its {@code url}, else {@code host} / {@code port} / {@code database} / {@code user}, and the password. */
    public static PgTarget of(StoreConfig c) {
        try {
            return new PgTarget(parse(c), null);
        } catch (IllegalArgumentException e) {
            return new PgTarget(null, "store.url " + StoreConfig.describeUrl(c.url()) + " does not parse: "
                    + Redaction.redact(e.getMessage()) + " (expected postgresql://user:password@host:port/database)");
        }
    }

    /** True when {@link #options()} can be used. */
    public boolean usable() {
        return options != null;
    }

    /** A fresh copy of the options (the pg client's builders keep what they are given). */
    public PgConnectOptions newOptions() {
        if (options == null) {
            throw new IllegalStateException(problem);
        }
        return new PgConnectOptions(options);
    }

    private static PgConnectOptions parse(StoreConfig c) {
        PgConnectOptions o;
        if (c.url() != null) {
            String u = c.url().trim();
            if (u.startsWith("jdbc:")) {
                u = u.substring("jdbc:".length());
            }
            if (!u.startsWith("postgresql://") && !u.startsWith("postgres://")) {
                throw new IllegalArgumentException("it does not start with postgresql://");
            }
            try {
                o = PgConnectOptions.fromUri(u);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
            }
            if (o.getHost() == null || o.getHost().isBlank()) {
                throw new IllegalArgumentException("it names no host");
            }
            boolean urlHasPassword = u.matches("^[a-z]+://[^/@]*:[^/@]*@.*") || u.contains("password=");
            if (!urlHasPassword && c.password() != null) {
                o.setPassword(c.password()); // store.password or TURNSTILE_DB_PASSWORD; one inside the URL wins
            }
        } else {
            o = new PgConnectOptions().setHost(c.host()).setPort(c.port()).setDatabase(c.database()).setUser(c.user());
            if (c.password() != null) {
                o.setPassword(c.password());
            }
        }
        o.setReconnectAttempts(0); // the store reconnects itself, with backoff, and says so
        o.setCachePreparedStatements(true);
        return o;
    }

    /** Never the password. */
    @Override
    public String toString() {
        return options == null ? "PgTarget[" + problem + "]"
                : "PgTarget[postgresql://" + options.getUser() + "@" + options.getHost() + ":" + options.getPort() + "/"
                        + options.getDatabase() + "]";
    }
}
