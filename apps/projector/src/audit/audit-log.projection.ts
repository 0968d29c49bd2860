import { USAGE_RECORDED } from '#domain';
import type { Projection, RecordedEvent } from '#ledger';

/**
 * `audit_log`: one row per event of the log, for "who did what, when" queries per tenant. Carries no
 * payload (the event store holds it; auditors replay streams for the content).
 */
export const auditLogProjection: Projection = {
  name: 'audit_log',
  version: 1,
  tables: {
    // (event_id, stream) is unique, as in the event store: an id is only unique within its stream,
    // and an audit trail must not lose the second of two events that happen to share one.
    audit_log: (table) => `
      CREATE TABLE ${table} (
        event_id    uuid        NOT NULL,
        stream      text        NOT NULL,
        tenant_id   text        NOT NULL,
        position    text        NOT NULL,
        type        text        NOT NULL,
        actor       text        NOT NULL,
        request_id  text,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        PRIMARY KEY (event_id, stream)
      );
      CREATE INDEX ${table}_tenant_recorded ON ${table} (tenant_id, recorded_at);`,
  },
  // Usage events are the hot path and their rows in the `usage` projection already carry the actor
  // and request id: an audit row per usage event would double the write load for nothing. Excluded
  // from the read, so the projector never fetches them for this projection (the filter in apply
  // stays: another store or an older runner may still hand them over).
  excludedEventTypes: [USAGE_RECORDED],
  async apply(all: readonly RecordedEvent[], context) {
    const events = all.filter((event) => event.type !== USAGE_RECORDED);
    if (events.length === 0) return;
    // One set-based statement per batch; ON CONFLICT makes a replayed batch a no-op.
    await context.client.query(
      `INSERT INTO ${context.table('audit_log')}
         (event_id, stream, tenant_id, position, type, actor, request_id, occurred_at, recorded_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                            $8::timestamptz[], $9::timestamptz[])
       ON CONFLICT (event_id, stream) DO NOTHING`,
      [
        events.map((event) => event.id),
        events.map((event) => event.stream),
        events.map((event) => event.metadata.tenant_id),
        events.map((event) => event.position),
        events.map((event) => event.type),
        events.map((event) => event.metadata.actor),
        events.map((event) => event.metadata.request_id ?? null),
        events.map((event) => event.occurred_at),
        events.map((event) => event.recorded_at),
      ],
    );
  },
};
