import type { PoolClient } from 'pg';
import type { Projection, RecordedEvent } from '#ledger';
import { applyAccountEvents, USAGE_SUBSCRIPTIONS_DDL } from './usage-accounts.writer';
import {
  recordUsage,
  rederiveMeterChanges,
  removeVoidedFromBuckets,
  USAGE_BUCKETS_DAILY_DDL,
  USAGE_BUCKETS_DDL,
  USAGE_ORIGINS_DDL,
  USAGE_SERIES_DDL,
  type UsageTables,
} from './usage-buckets.writer';
import { applyVoids, prepareUsageRows, type PreparedUsage } from './usage-events.writer';
import { applyMeterEvents, USAGE_METERS_DDL } from './usage-meters.writer';

/**
 * `usage`: everything about usage, in ONE projection with one checkpoint, so that
 * `abaxus projections rebuild usage` rebuilds all of it consistently.
 *
 * - `usage_events` (the shared contract with ingestion, which reads it for GET /v1/events): one row
 *   per counted usage event. PRIMARY KEY (tenant_id, idempotency_key) is the dedupe: the first event
 *   with a key in log order counts, later ones are ignored (ON CONFLICT DO NOTHING), so a KurrentDB
 *   log holding a duplicate counts exactly like Postgres. A UsageVoided sets voided_at/void_reason.
 *   `log_position` numbers the UsageRecorded events in log order (the projection's own counter).
 * - `usage_origins`: who recorded each counted event (actor, request id), since audit_log skips them;
 *   one row per run of consecutive events of one request.
 * - `usage_buckets` / `usage_buckets_daily`: pre-aggregated partial states per 15-minute UTC bucket
 *   and per UTC day, and meter version (see usage-buckets.writer.ts); `usage_series`: which customers have usage of a metric in a month.
 * - `usage_meters`: the projection's own copy of every metric's versions (projections never read
 *   each other's tables); `usage_subscriptions`: billing cycles, for the default period of
 *   GET /v1/usage/summary.
 *
 * One batch, one transaction, in this order: metric events (and the buckets a new version
 * re-derives), subscription events, new usage rows (and their buckets), voids.
 */
export const USAGE_PROJECTION = 'usage';

export const usageProjection: Projection = {
  name: USAGE_PROJECTION,
  version: 9,
  // No `eventTypes`: usage is nearly all of the log, and a type-filtered read walks one index per
  // type and fetches the rows again by position (about 40% slower per batch here). apply() picks
  // its own: UsageRecorded/UsageVoided, the metric events and the subscription events.
  tables: {
    usage_events: (t) => `
      CREATE TABLE ${t} (
        tenant_id       text COLLATE "C" NOT NULL,
        usage_id        uuid           NOT NULL,
        idempotency_key text COLLATE "C" NOT NULL,
        customer_id     text COLLATE "C" NOT NULL,
        metric_key      text COLLATE "C" NOT NULL,
        ts              timestamptz    NOT NULL,
        value           numeric(20,10) NOT NULL,
        properties      jsonb          NOT NULL,
        recorded_at     timestamptz    NOT NULL,
        log_position    bigint         NOT NULL,
        source          text           NOT NULL,
        voided_at       timestamptz,
        void_reason     text,
        -- COLLATE "C" on the key columns: byte comparisons, whatever the database's locale (a
        -- locale-aware collation makes every index insert and lookup of the hot path slower).
        CONSTRAINT ${t}_pkey PRIMARY KEY (tenant_id, idempotency_key)
      );
      -- Lookups by id (voids, GET /v1/events/:id). A hash index, not a unique btree: ids are
      -- deterministic from (tenant, key) (usageIdFor), so the key's primary key already makes them
      -- unique, and random ids spread btree inserts over the whole index (a batch of 8,000 rows into
      -- 200,000 cost 330 ms with a unique btree on (tenant_id, usage_id), 250 ms with this).
      CREATE INDEX ${t}_usage_id ON ${t} USING hash (usage_id);
      -- The contract's series index, covering what the exact scan reads for a metric on \`value\`
      -- (an index-only scan in (ts, usage_id) order: no heap visit per event once vacuumed).
      CREATE INDEX ${t}_series ON ${t} (tenant_id, customer_id, metric_key, ts, usage_id)
        INCLUDE (value, recorded_at, voided_at);`,
    // One row: the last log_position handed out (a counter that rolls back with its batch).
    usage_log: (t) => `
      CREATE TABLE ${t} (
        id            boolean PRIMARY KEY DEFAULT true CHECK (id),
        last_position bigint  NOT NULL
      );
      INSERT INTO ${t} (id, last_position) VALUES (true, 0);`,
    usage_origins: USAGE_ORIGINS_DDL,
    usage_buckets: USAGE_BUCKETS_DDL,
    usage_buckets_daily: USAGE_BUCKETS_DAILY_DDL,
    usage_series: USAGE_SERIES_DDL,
    usage_meters: USAGE_METERS_DDL,
    usage_subscriptions: USAGE_SUBSCRIPTIONS_DDL,
  },
  // The rows and their jsonb document need no database: done when the page is read ahead, while
  // the previous batch runs in Postgres, instead of on the batch's serial path.
  prepare(events) {
    preparedRows(events);
  },
  async apply(events, { client, table }) {
    const tables: UsageTables = {
      events: table('usage_events'),
      origins: table('usage_origins'),
      buckets: table('usage_buckets'),
      daily: table('usage_buckets_daily'),
      series: table('usage_series'),
      meters: table('usage_meters'),
    };
    const changes = await applyMeterEvents(client, tables.meters, events);
    await rederiveMeterChanges(client, tables, changes);
    await applyAccountEvents(client, { subscriptions: table('usage_subscriptions') }, events);
    const prepared = preparedRows(events);
    if (prepared.positionsUsed > 0) {
      await recordUsage(client, tables, prepared, await nextLogPosition(client, table('usage_log')));
      await advanceLogPosition(client, table('usage_log'), prepared.positionsUsed);
    }
    const voided = await applyVoids(client, tables.events, events);
    await removeVoidedFromBuckets(client, tables, voided);
  },
};

/**
 * A page's prepared rows, by the page's events array (pages are shared and never mutated): built
 * once, by prepare() when the runner read the page ahead, else by apply().
 */
const preparedPages = new WeakMap<readonly RecordedEvent[], PreparedUsage>();

function preparedRows(events: readonly RecordedEvent[]): PreparedUsage {
  let rows = preparedPages.get(events);
  if (rows === undefined) {
    rows = prepareUsageRows(events);
    preparedPages.set(events, rows);
  }
  return rows;
}

async function nextLogPosition(client: PoolClient, table: string): Promise<bigint> {
  const { rows } = await client.query<{ last_position: string }>(`SELECT last_position FROM ${table}`);
  return BigInt(rows[0].last_position) + 1n;
}

async function advanceLogPosition(client: PoolClient, table: string, used: number): Promise<void> {
  await client.query(`UPDATE ${table} SET last_position = last_position + $1`, [used]);
}
