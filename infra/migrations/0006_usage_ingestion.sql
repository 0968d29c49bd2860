-- Usage ingestion, write side (libs/ledger/src/usage, apps/api/src/usage-events).
--
-- usage_idempotency: one row per idempotency key of a tenant, forever. In Postgres mode it is
-- written IN THE SAME TRANSACTION as the UsageRecorded event it names (the group-commit flush), so a
-- crash can never leave a key without its event or an event without its key: the key's row is the
-- write-side proof that the event is in the log. `payload_hash` (SHA-256 hex of the canonical JSON
-- of the normalised payload) tells a retry (same hash: duplicate, nothing written) from a different
-- event reusing the key (409). customer_id, metric_key and ts locate the event (its stream) for
-- POST /v1/events/:id/void without waiting for the projector.
CREATE TABLE usage_idempotency (
  tenant_id        text        NOT NULL,
  idempotency_key  text        NOT NULL,
  payload_hash     text        NOT NULL,
  usage_id         uuid        NOT NULL,
  customer_id      text        NOT NULL,
  metric_key       text        NOT NULL,
  -- The event's business time, exactly as in the event (canonical RFC 3339 UTC text): the void
  -- repeats it so it lands in the same period and stream.
  ts               text        NOT NULL,
  recorded_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE UNIQUE INDEX usage_idempotency_usage_id ON usage_idempotency (tenant_id, usage_id);

-- usage_voids: one row per voided usage event, written in the same transaction as its UsageVoided
-- event (Postgres mode). The primary key makes a second void of the same event (even a concurrent
-- one) a no-op that answers like the first.
CREATE TABLE usage_voids (
  tenant_id      text        NOT NULL,
  usage_id       uuid        NOT NULL,
  reason         text        NOT NULL,
  void_event_id  uuid        NOT NULL,
  actor          text        NOT NULL,
  voided_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, usage_id)
);

-- Keys are unique forever and voids are final: neither table is ever updated or deleted from.
CREATE TRIGGER usage_idempotency_append_only BEFORE UPDATE OR DELETE ON usage_idempotency
  FOR EACH ROW EXECUTE FUNCTION abaxus_forbid_history_change();
CREATE TRIGGER usage_idempotency_no_truncate BEFORE TRUNCATE ON usage_idempotency
  FOR EACH STATEMENT EXECUTE FUNCTION abaxus_forbid_history_change();
CREATE TRIGGER usage_voids_append_only BEFORE UPDATE OR DELETE ON usage_voids
  FOR EACH ROW EXECUTE FUNCTION abaxus_forbid_history_change();
CREATE TRIGGER usage_voids_no_truncate BEFORE TRUNCATE ON usage_voids
  FOR EACH STATEMENT EXECUTE FUNCTION abaxus_forbid_history_change();
