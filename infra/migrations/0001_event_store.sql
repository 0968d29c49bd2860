-- The append-only event log (Postgres event store adapter).
-- Readers order by (tx_id, position) and only read below the transaction horizon
-- (pg_snapshot_xmin of the current snapshot), so an event whose transaction commits after a
-- later-allocated position is never skipped.
CREATE TABLE events (
  position     bigint GENERATED ALWAYS AS IDENTITY,
  tx_id        xid8        NOT NULL DEFAULT pg_current_xact_id(),
  id           uuid        NOT NULL,
  stream       text        NOT NULL,
  revision     bigint      NOT NULL,
  type         text        NOT NULL,
  tenant_id    text        NOT NULL,
  data         jsonb       NOT NULL,
  metadata     jsonb       NOT NULL,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (position),
  UNIQUE (stream, revision),
  UNIQUE (stream, id)
);
CREATE INDEX events_tx_position ON events (tx_id, position);
CREATE INDEX events_type_tx_position ON events (type, tx_id, position);

-- One row per stream: its tenant and current revision (a cheap list of streams). Writers of one
-- stream are serialised by a transaction-scoped advisory lock taken before anything else, not by a
-- lock on this row: a row lock assigns the transaction id before waiting, and the global order
-- (tx_id, position) would then put a later revision before an earlier one.
CREATE TABLE streams (
  stream     text   PRIMARY KEY,
  tenant_id  text   NOT NULL,
  revision   bigint NOT NULL
);

-- History is never updated or deleted.
CREATE FUNCTION abaxus_forbid_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the event log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION abaxus_forbid_history_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION abaxus_forbid_history_change();
