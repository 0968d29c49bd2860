-- Responses of POST requests sent with an `Idempotency-Key` header, replayed for the same key and
-- the same request (apps/api/src/common/idempotency). A row with status NULL is a request still
-- running: a concurrent duplicate waits for it instead of running the command twice. This is a
-- cache of HTTP responses, not business history: the events are the record.
CREATE TABLE idempotent_requests (
  tenant_id     text        NOT NULL,
  key           text        NOT NULL,
  -- SHA-256 of the canonical JSON of method, route and body: the same key with another request is refused.
  request_hash  text        NOT NULL,
  method        text        NOT NULL,
  path          text        NOT NULL,
  status        integer,
  response      jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- A pending row is owned by the request that inserted it until then; after that it is taken to
  -- belong to a process that died mid-request, and the next duplicate runs the command.
  locked_until  timestamptz,
  completed_at  timestamptz,
  PRIMARY KEY (tenant_id, key),
  CHECK ((status IS NULL) = (completed_at IS NULL))
);
