-- Turnstile store, schema version 1.
-- Applied by dev.turnstile.appliance.store at start, in one transaction, recorded in schema_migrations.
-- Never edit this file once released: add V2__... instead.

-- The store sends times as epoch milliseconds (cheap to encode in bulk); this turns them into timestamptz exactly.
CREATE FUNCTION from_epoch_ms(bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN timestamptz 'epoch' + $1 * interval '1 millisecond';

-- The entitlements the appliance serves (from its configuration now, from the cloud sync later).
CREATE TABLE entitlements (
    entitlement_id text        PRIMARY KEY,
    tenant_id      text        NOT NULL,
    product_id     text        NOT NULL,
    enforcement    text        NOT NULL,
    max_seats      integer     NOT NULL CHECK (max_seats >= 0),
    starts_at      timestamptz,
    ends_at        timestamptz,
    updated_at     timestamptz NOT NULL,
    removed_at     timestamptz
);

-- Every lease: active while released_at is null. Restart recovery loads the active ones.
CREATE TABLE leases (
    lease_id       uuid        PRIMARY KEY,
    entitlement_id text        NOT NULL,
    product_id     text        NOT NULL,
    session_id     bigint      NOT NULL,
    client_id      text        NOT NULL,
    hw_id          text        NOT NULL,
    remote_address text,
    quantity       bigint      NOT NULL CONSTRAINT leases_quantity_positive CHECK (quantity > 0),
    checked_out_at timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL,
    released_at    timestamptz,
    release_reason text,
    CONSTRAINT leases_release_has_reason CHECK ((released_at IS NULL) = (release_reason IS NULL))
);
CREATE INDEX leases_active_idx ON leases (entitlement_id) WHERE released_at IS NULL;

-- The usage journal: one row per ledger event except heartbeats, append-only.
-- (run_id, seq) is the event key: a batch replayed after a lost COMMIT or from the spill file adds nothing.
CREATE TABLE usage_journal (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          uuid        NOT NULL,
    seq             bigint      NOT NULL,
    kind            text        NOT NULL,
    at              timestamptz NOT NULL,
    lease_id        uuid,
    entitlement_id  text,
    product_id      text,
    session_id      bigint,
    client_id       text,
    hw_id           text,
    quantity        bigint,
    reason          text        NOT NULL,
    pool_used       bigint,
    pool_high_water bigint,
    written_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_journal_event_key UNIQUE (run_id, seq),
    CONSTRAINT usage_journal_kind CHECK (kind IN ('checkout', 'reclaim', 'heartbeat', 'checkin', 'expiry',
        'release', 'denial', 'queue', 'queue_timeout', 'entitlement_changed'))
);
-- Rows arrive in time order, so a BRIN index on "at" finds a day's rows for a fraction of a b-tree's upkeep
-- (the journal is the hot table: tens of thousands of rows a second at peak). A lease's history: filter on
-- "at" first, or read the leases table.
CREATE INDEX usage_journal_at_brin ON usage_journal USING brin (at);

-- Append-only means no UPDATE. (DELETE stays possible for a retention job.)
CREATE FUNCTION usage_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'usage_journal is append-only: rows are never updated';
END;
$$;
CREATE TRIGGER usage_journal_no_update BEFORE UPDATE ON usage_journal
    FOR EACH ROW EXECUTE FUNCTION usage_journal_append_only();

-- Pool use over time: one row per pool and period (store.snapshot_interval, default 1m) with activity.
-- used: seats in use after the period's last event; peak_used: most in use during the period;
-- high_water: the pool's all-time high-water mark as the ledger reported it.
CREATE TABLE pool_snapshots (
    entitlement_id text        NOT NULL,
    period_start   timestamptz NOT NULL,
    product_id     text,
    used           bigint      NOT NULL,
    high_water     bigint      NOT NULL,
    peak_used      bigint      NOT NULL,
    last_event_at  timestamptz NOT NULL,
    PRIMARY KEY (entitlement_id, period_start)
);
