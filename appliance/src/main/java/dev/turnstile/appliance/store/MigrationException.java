package dev.turnstile.appliance.store;

/**
 * A schema migration failed (or an applied one was changed afterwards). The appliance must not start:
 * the message names the file and carries Postgres's own message.
 */
public final class MigrationException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String file;

    public MigrationException(String file, String message, Throwable cause) {
        super("migration " + file + " failed: " + message, cause);
        this.file = file;
    }

    /** The migration's file name, e.g. {@code V2__pool_snapshots.sql}. */
    public String file() {
        return file;
    }
}
