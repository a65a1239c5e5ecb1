-- Turnstile store (issue 8, triad): fencing of a deposed leader's late writes in the shared site database.
-- Applied with the other migrations (dev.turnstile.appliance.store.impl.Migrations), in its own transaction.
-- Never edit this file once released: add a new version instead.

-- One row per triad journal id (usage_journal.run_id of the triad's keyed events): the highest Raft term whose
-- leader has resumed the write-behind. A member that becomes leader raises it to its term (never lowers it) before
-- it writes anything; every write transaction of a triad member checks it first (triad_fence_check) and is refused
-- when a newer term has raised it. See appliance/STORE.md, "In a triad".
CREATE TABLE triad_fence (
    journal_id uuid        PRIMARY KEY,
    term       bigint      NOT NULL CONSTRAINT triad_fence_term_positive CHECK (term >= 0),
    raised_by  text        NOT NULL,
    raised_at  timestamptz NOT NULL
);

-- Called first in a writer's transaction: locks the fence row (FOR SHARE, so a leader raising the fence waits for
-- this transaction, and this transaction, if it comes second, sees the raised term) and aborts the transaction
-- with SQLSTATE TF001 when the stored term is higher than the writer's. A missing row (a database the triad never
-- wrote, or emptied under it) is created with the writer's term. Returns the stored term.
CREATE FUNCTION triad_fence_check(journal uuid, writer_term bigint) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    stored bigint;
BEGIN
    SELECT term INTO stored FROM triad_fence WHERE journal_id = journal FOR SHARE;
    IF NOT FOUND THEN
        INSERT INTO triad_fence (journal_id, term, raised_by, raised_at)
        VALUES (journal, writer_term, 'first write (term ' || writer_term || ')', now())
        ON CONFLICT (journal_id) DO NOTHING;
        SELECT term INTO stored FROM triad_fence WHERE journal_id = journal FOR SHARE;
    END IF;
    IF stored > writer_term THEN
        RAISE EXCEPTION 'triad fence: journal % is at term %, a writer of term % is refused', journal, stored,
            writer_term
            USING ERRCODE = 'TF001', DETAIL = stored::text;
    END IF;
    RETURN stored;
END;
$$;
