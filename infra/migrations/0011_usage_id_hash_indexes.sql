-- Lookups of usage events by id through hash indexes instead of unique btrees: two random-id btree
-- insertions less per usage event on the ingestion flush (abaxus_append_usage).
--
-- Usage ids are deterministic: usageIdFor (apps/api/src/usage-events/usage-event.validation.ts)
-- derives each from (tenant, idempotency key) by SHA-256, and the key is the primary key of
-- usage_idempotency, written in the same transaction as the event. So a usage id names at most one
-- key row and one UsageRecorded event, and the unique btrees over these random ids only repeated
-- that. Random ids spread each btree insertion over the whole index; a hash index is smaller and
-- cheaper to insert into. Measured here with bench/usage-flush.js (one connection, 500-event flushes,
-- 1.2 M events, three runs each way, `--migrations-up-to 0010` for before): Postgres CPU per event
-- 38.2-47.5 us before, 33.3-36.9 us after; WAL 1,723 bytes per event before, 1,625 after; the two
-- indexes 167 bytes per event before (102.6 + 64), 71 after (35.3 + 35.3). The usage projection
-- made the same choice for usage_events (usage.projection.ts).
--
-- events: (stream, id) stays unique for every type but UsageRecorded: the database's guarantee
-- behind the idempotent append of catalog, billing and ledger events. A UsageRecorded id does not
-- collide with theirs: it is SHA-256 of `abaxus:usage/<tenant>/<key>`, and theirs are random (UUID
-- version 4) or SHA-256 of other names (deterministicUuid). The hash index on id serves the idempotent
-- append's lookups (which ids of a batch the stream already holds, by id alone:
-- libs/ledger/src/postgres/postgres-append.ts) for every type, usage included, so re-appending a
-- UsageRecorded through the event store's append is still a no-op.
--
-- usage_idempotency: the void's lookup by (tenant_id, usage_id) goes through the hash index on
-- usage_id and checks the tenant on the row it finds.
--
-- Building the indexes reads the whole log and key table once while appends wait (a migration runs in
-- a transaction), as migration 0009 did: 9.5 s for 2 M events here (README, Upgrades).
CREATE UNIQUE INDEX events_stream_id_not_usage ON events (stream, id) WHERE type <> 'UsageRecorded';
CREATE INDEX events_id ON events USING hash (id);
ALTER TABLE events DROP CONSTRAINT events_stream_id_key;
ALTER INDEX events_stream_id_not_usage RENAME TO events_stream_id_key;

DROP INDEX usage_idempotency_usage_id;
CREATE INDEX usage_idempotency_usage_id ON usage_idempotency USING hash (usage_id);
