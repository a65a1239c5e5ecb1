package dev.turnstile.appliance.store;

import java.util.UUID;

/**
 * store (triad): a write of a triad member was refused by the fence in Postgres ({@code triad_fence}): a leader of a
 * newer Raft term has resumed the write-behind of the same triad journal, so this member's writes of an older term
 * must not land (see {@link PersistenceService#raiseFence}).
 */
public final class FencedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final transient UUID journalId;
    private final long storedTerm;
    private final long writerTerm;

    public FencedException(UUID journalId, long storedTerm, long writerTerm) {
        super("triad fence: journal " + journalId + " is at term " + storedTerm + "; a writer of term " + writerTerm
                + " is refused (a newer leader resumed the write-behind)");
        this.journalId = journalId;
        this.storedTerm = storedTerm;
        this.writerTerm = writerTerm;
    }

    public UUID journalId() {
        return journalId;
    }

    /** The term stored in {@code triad_fence}: the newest leader's. */
    public long storedTerm() {
        return storedTerm;
    }

    /** The term of the refused writer. */
    public long writerTerm() {
        return writerTerm;
    }
}
