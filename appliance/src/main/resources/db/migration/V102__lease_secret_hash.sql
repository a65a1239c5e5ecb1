-- Turnstile store (issue 12, protocol 1.1): the hash of each lease's reclaim secret, so that a lease's holder can
-- still prove ownership after a restart (restart recovery loads it with the lease). Applied with the other
-- migrations (dev.turnstile.appliance.store.impl.Migrations), in its own transaction.
-- Never edit this file once released: add a new version instead.

-- SHA-256 of the secret (32 bytes), never the secret itself; NULL for a lease granted on a protocol 1.0
-- connection (and for every lease written before this migration). Not in usage_journal: the journal never holds
-- a secret or its hash (PROTOCOL.md section 12).
ALTER TABLE leases ADD COLUMN reclaim_secret_hash bytea
    CONSTRAINT leases_reclaim_secret_hash_length CHECK (reclaim_secret_hash IS NULL OR octet_length(reclaim_secret_hash) = 32);
