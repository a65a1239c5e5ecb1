-- Turnstile cloud sync (issue 4): the sync's own state, written by dev.turnstile.appliance.sync.PgSyncStore.
-- Applied with the other migrations (dev.turnstile.appliance.store.impl.Migrations), in its own transaction.
-- Never edit this file once released: add a new version instead.

-- One row: the last sync token and when it was committed. The token is written only after every change of
-- its batch is applied and saved (sync_cloud_entitlements ... sync_conflicts), so a crash repeats a batch and
-- never skips one.
CREATE TABLE sync_state (
    id              smallint    PRIMARY KEY CONSTRAINT sync_state_single_row CHECK (id = 1),
    last_sync_token text,
    last_sync_at    timestamptz,
    -- counters, the conflict id sequence, the last applied license, the full-resync flag
    state           jsonb       NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The entitlements as the cloud last sent them (canonical JSON, see appliance/SYNC.md).
CREATE TABLE sync_cloud_entitlements (
    entitlement_id text  PRIMARY KEY,
    doc            jsonb NOT NULL
);

-- What the ledger serves from the sync: the cloud's entitlements with local edits and conflict outcomes.
CREATE TABLE sync_effective_entitlements (
    entitlement_id text  PRIMARY KEY,
    doc            jsonb NOT NULL
);

-- Admin edits through the API, by field, each with the time it was made (the merge policy compares them).
CREATE TABLE sync_local_edits (
    entitlement_id text  PRIMARY KEY,
    field_values   jsonb NOT NULL,
    edited_at_ms   jsonb NOT NULL
);

-- Conflicts between cloud changes and local edits: pending ones until an admin resolves them (policy manual),
-- and the most recent resolved ones.
CREATE TABLE sync_conflicts (
    conflict_id    bigint      PRIMARY KEY,
    entitlement_id text        NOT NULL,
    detected_at    timestamptz NOT NULL,
    policy         text        NOT NULL,
    status         text        NOT NULL CONSTRAINT sync_conflicts_status CHECK (status IN ('pending', 'resolved')),
    resolution     text,
    resolved_at    timestamptz,
    doc            jsonb       NOT NULL
);
CREATE INDEX sync_conflicts_pending_idx ON sync_conflicts (entitlement_id) WHERE status = 'pending';

-- Every sync attempt and license import: when, why, what came of it.
CREATE TABLE sync_audit (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    trigger     text        NOT NULL,
    outcome     text        NOT NULL,
    attempts    integer     NOT NULL,
    token_before text,
    token_after  text,
    created     integer     NOT NULL,
    updated     integer     NOT NULL,
    deleted     integer     NOT NULL,
    conflicts   integer     NOT NULL,
    error       text
);
CREATE INDEX sync_audit_started_idx ON sync_audit (started_at);
