package dev.turnstile.appliance.lifecycle;

/**
 * A listener that cannot bind says which configuration key it came from:
 * {@code server.port: cannot listen on 0.0.0.0:7878: the port is already in use ...} instead of a bare
 * "Address already in use". Main exits with status 3 on it.
 */
public final class ListenFailure {
    private ListenFailure() {
    }

    /** {@code e} explained with {@code key} when a {@link java.net.BindException} is among its causes, else {@code e}. */
    public static Throwable explain(Throwable e, String key, String host, int port) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.BindException) {
                String why = t.getMessage() == null ? "" : t.getMessage();
                return new IllegalStateException(key + ": cannot listen on " + host + ":" + port + ": "
                        + (why.contains("in use") || why.contains("No available port")
                        ? "the port is already in use (another program, or another Turnstile, listens there)"
                        : why), e);
            }
        }
        return e;
    }
}
