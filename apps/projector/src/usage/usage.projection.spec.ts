import { PostgresEventStore, type Checkpoint } from '#ledger';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { appendUsage, rebuildUsage, usageRecorded, usageVoided } from './testing/usage-fixtures';
import { auditLogProjection } from '../audit/audit-log.projection';
import { usageProjection } from './usage.projection';

describe('usage projection: usage_events', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  const project = (target: Checkpoint, options: { batchSize?: number } = {}) =>
    projectTo({ pool: db.pool, store }, [usageProjection], target, options);

  const rows = async () =>
    (
      await db.pool.query(
        `SELECT tenant_id, usage_id, idempotency_key, customer_id, metric_key, ts, value::text AS value, properties,
                recorded_at, log_position, source, voided_at, void_reason
           FROM usage_events ORDER BY log_position`,
      )
    ).rows;

  const first = usageRecorded({
    customer: 'c1',
    metric: 'api_calls',
    value: '2.5',
    timestamp: '2026-03-01T10:00:00.000Z',
    key: 'k1',
    properties: { region: 'eu', n: 3 },
  });
  const second = usageRecorded({
    customer: 'c1',
    metric: 'api_calls',
    timestamp: '2026-03-31T23:59:59.999Z',
    key: 'k2',
  });
  const otherTenant = usageRecorded({
    tenant: 'globex',
    customer: 'c1',
    metric: 'api_calls',
    timestamp: '2026-04-01T00:00:00.000Z',
    key: 'k1',
  });
  // A retry that slipped past ingestion (KurrentDB keeps both): same key, another event id.
  const duplicate = usageRecorded({
    customer: 'c1',
    metric: 'api_calls',
    value: '99',
    timestamp: '2026-03-02T00:00:00.000Z',
    key: 'k1',
  });
  const sameBatchTwins = [
    usageRecorded({
      customer: 'c2',
      metric: 'api_calls',
      value: '1',
      timestamp: '2026-03-05T00:00:00.000Z',
      key: 'twin',
    }),
    usageRecorded({
      customer: 'c2',
      metric: 'api_calls',
      value: '7',
      timestamp: '2026-03-05T00:00:00.000Z',
      key: 'twin',
    }),
  ];

  it('stores one row per counted event with every contract column; the first key in log order wins', async () => {
    await appendUsage(store, [first, second, otherTenant]);
    await appendUsage(store, [duplicate]);
    const last = await appendUsage(store, sameBatchTwins);
    await project(last);

    const stored = await rows();
    expect(stored).toEqual([
      {
        tenant_id: 'acme',
        usage_id: first.id,
        idempotency_key: 'k1',
        customer_id: 'c1',
        metric_key: 'api_calls',
        ts: new Date('2026-03-01T10:00:00.000Z'),
        value: '2.5000000000',
        properties: { region: 'eu', n: 3 },
        recorded_at: expect.any(Date),
        log_position: '1',
        source: 'ingest',
        voided_at: null,
        void_reason: null,
      },
      expect.objectContaining({ usage_id: second.id, idempotency_key: 'k2', log_position: '2' }),
      expect.objectContaining({
        tenant_id: 'globex',
        usage_id: otherTenant.id,
        idempotency_key: 'k1',
        log_position: '3',
      }),
      // The duplicate took number 4 and left a gap: numbers follow the log, not the batches.
      expect.objectContaining({
        customer_id: 'c2',
        usage_id: sameBatchTwins[0].id,
        value: '1.0000000000',
        log_position: '5',
      }),
    ]);
    // The event's log time, not the projection's clock: a rebuild writes the same value.
    const [event] = (await store.readAll(null, { maxCount: 1 })).events;
    expect(stored[0].recorded_at).toEqual(event.recorded_at);
    expect(stored.some((row) => row.usage_id === duplicate.id)).toBe(false);
  });

  it('keeps who recorded each counted event; audit_log skips UsageRecorded but not UsageVoided', async () => {
    // Each stored row's origin, looked up by its log position (runs of one request share a row).
    const stored = await rows();
    for (const row of stored) {
      const origin = await db.pool.query(
        `SELECT actor, request_id FROM usage_origins
          WHERE tenant_id = $1 AND first_position <= $2 AND last_position >= $2
          ORDER BY first_position DESC LIMIT 1`,
        [row.tenant_id, row.log_position],
      );
      expect(origin.rows).toEqual([{ actor: 'key_test', request_id: `req_${row.usage_id}` }]);
    }
    const last = await appendUsage(store, [usageVoided('acme', second.data, 'audit me')]);
    await projectTo({ pool: db.pool, store }, [auditLogProjection], last);
    const audited = await db.pool.query<{ type: string }>(`SELECT type FROM audit_log`);
    expect(audited.rows.map((row) => row.type)).toEqual(['UsageVoided']);
  });

  it('events of one request take one origins row (a run of log positions)', async () => {
    const batch = [1, 2, 3].map((i) => {
      const event = usageRecorded({
        customer: 'c3',
        metric: 'api_calls',
        timestamp: '2026-03-07T00:00:00.000Z',
        key: `run-${i}`,
      });
      return { ...event, metadata: { ...event.metadata, actor: 'key_batch', request_id: 'req_batch' } };
    });
    const last = await appendUsage(store, batch);
    await project(last);
    const positions = (await rows()).filter((row) => row.customer_id === 'c3').map((row) => row.log_position);
    expect(positions).toHaveLength(3);
    const origins = await db.pool.query(
      `SELECT first_position, last_position FROM usage_origins WHERE actor = 'key_batch'`,
    );
    expect(origins.rows).toEqual([{ first_position: positions[0], last_position: positions[2] }]);
  });

  it('a void marks the row with its log time and reason; voiding twice keeps the first', async () => {
    await appendUsage(store, [usageVoided('acme', first.data, 'wrong customer')]);
    const last = await appendUsage(store, [usageVoided('acme', first.data, 'again')]);
    await project(last);
    const voided = (await rows()).find((row) => row.usage_id === first.id);
    expect(voided).toMatchObject({ void_reason: 'wrong customer', voided_at: expect.any(Date) });
    const voidEvent = (await store.readAll(null)).events.find(
      (e) => e.type === 'UsageVoided' && (e.data as { usage_id: string }).usage_id === first.id,
    );
    expect(voided.voided_at).toEqual(voidEvent!.recorded_at);
  });

  it('a void of the duplicate that never counted changes nothing', async () => {
    const before = await rows();
    const last = await appendUsage(store, [usageVoided('acme', duplicate.data)]);
    await project(last);
    expect(await rows()).toEqual(before);
  });

  /** Every table the projection writes, in a stable order. */
  const allRows = async (): Promise<Record<string, unknown[]>> => {
    const tables = {
      usage_origins: 'tenant_id, first_position',
      usage_buckets: 'tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key',
      usage_buckets_daily: 'tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key',
      usage_series: 'tenant_id, metric_key, month, customer_id',
    };
    const all: Record<string, unknown[]> = { usage_events: await rows() };
    for (const [name, order] of Object.entries(tables)) {
      all[name] = (await db.pool.query(`SELECT * FROM ${name} ORDER BY ${order}`)).rows;
    }
    return all;
  };

  it('replaying the whole log twice gives identical rows', async () => {
    const before = await allRows();
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'usage'`);
      const head = (await store.readAll(null, { maxCount: 10_000 })).checkpoint;
      await project(head, { batchSize: 2 });
      expect(await allRows()).toEqual(before);
    }
  });

  it('a forced rebuild into fresh tables gives identical rows in every table, whatever the batch size', async () => {
    const before = await allRows();
    // The request of three events (key_batch) is one origins row, though batches of 2 split it.
    expect(before.usage_origins.filter((row) => (row as { actor: string }).actor === 'key_batch')).toHaveLength(1);
    for (const batchSize of [2, 3]) {
      await rebuildUsage({ pool: db.pool, store }, batchSize);
      expect(await allRows()).toEqual(before);
    }
  });

  it('serves the contract indexes: (tenant, key) primary key, usage_id (hash), the series index', async () => {
    const { rows: indexes } = await db.pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = (
         SELECT regexp_replace(definition, '.*FROM (\\S+?);?$', '\\1') FROM pg_views WHERE viewname = 'usage_events')`,
    );
    const defs = indexes.map((row) => row.indexdef.replace(/^.* USING (btree|hash) /, '$1 '));
    expect(defs.sort()).toEqual(
      [
        'btree (tenant_id, customer_id, metric_key, ts, usage_id) INCLUDE (value, recorded_at, voided_at)',
        'btree (tenant_id, idempotency_key)',
        'hash (usage_id)',
      ].sort(),
    );
  });
});
