import type { PoolClient } from 'pg';
import { USAGE_RECORDED, USAGE_VOIDED } from '#domain';
import type { Projection } from '#ledger';
import { applyVoids, insertUsageEvents } from './usage-events.writer';

/**
 * `usage`: everything about usage, in ONE projection with one checkpoint, so that
 * `abaxus projections rebuild usage` rebuilds all of it consistently.
 *
 * `usage_events` (the shared contract with ingestion, which reads it for GET /v1/events): one row
 * per counted usage event. PRIMARY KEY (tenant_id, idempotency_key) is the dedupe: the first event
 * with a key in log order counts, later ones are ignored (ON CONFLICT DO NOTHING), so a KurrentDB
 * log holding a duplicate counts exactly like Postgres. A UsageVoided sets voided_at/void_reason.
 * `log_position` numbers the rows in log order (the projection's own counter, `usage_log`).
 */
export const USAGE_PROJECTION = 'usage';

export const usageProjection: Projection = {
  name: USAGE_PROJECTION,
  version: 1,
  eventTypes: [USAGE_RECORDED, USAGE_VOIDED],
  tables: {
    usage_events: (t) => `
      CREATE TABLE ${t} (
        tenant_id       text           NOT NULL,
        usage_id        uuid           NOT NULL,
        idempotency_key text           NOT NULL,
        customer_id     text           NOT NULL,
        metric_key      text           NOT NULL,
        ts              timestamptz    NOT NULL,
        value           numeric(20,10) NOT NULL,
        properties      jsonb          NOT NULL,
        recorded_at     timestamptz    NOT NULL,
        log_position    bigint         NOT NULL,
        source          text           NOT NULL,
        voided_at       timestamptz,
        void_reason     text,
        CONSTRAINT ${t}_pkey PRIMARY KEY (tenant_id, idempotency_key),
        CONSTRAINT ${t}_usage_id UNIQUE (tenant_id, usage_id)
      );
      CREATE INDEX ${t}_series ON ${t} (tenant_id, customer_id, metric_key, ts, usage_id);`,
    // One row: the last log_position handed out (a counter that rolls back with its batch).
    usage_log: (t) => `
      CREATE TABLE ${t} (
        id            boolean PRIMARY KEY DEFAULT true CHECK (id),
        last_position bigint  NOT NULL
      );
      INSERT INTO ${t} (id, last_position) VALUES (true, 0);`,
  },
  async apply(events, { client, table }) {
    const next = await nextLogPosition(client, table('usage_log'));
    const { positionsUsed } = await insertUsageEvents(client, table('usage_events'), events, next);
    if (positionsUsed > 0) await advanceLogPosition(client, table('usage_log'), positionsUsed);
    await applyVoids(client, table('usage_events'), events);
  },
};

async function nextLogPosition(client: PoolClient, table: string): Promise<bigint> {
  const { rows } = await client.query<{ last_position: string }>(`SELECT last_position FROM ${table}`);
  return BigInt(rows[0].last_position) + 1n;
}

async function advanceLogPosition(client: PoolClient, table: string, used: number): Promise<void> {
  await client.query(`UPDATE ${table} SET last_position = last_position + $1`, [used]);
}
