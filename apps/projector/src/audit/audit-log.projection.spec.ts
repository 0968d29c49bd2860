import { randomUUID } from 'node:crypto';
import { PostgresEventStore, ProjectionRunner, streamName } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { auditLogProjection } from './audit-log.projection';

describe('audit_log projection', () => {
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

  const rows = async () =>
    (
      await db.pool.query(
        `SELECT event_id, stream, tenant_id, position, type, actor, request_id, occurred_at, recorded_at
           FROM audit_log ORDER BY recorded_at, position`,
      )
    ).rows;

  it('records one row per event with who, what and when, and replays without duplicates', async () => {
    const occurredAt = new Date('2026-03-01T10:00:00Z');
    const shared = randomUUID(); // the same id in two streams: two events, two audit rows
    await store.append(streamName('acme', 'customer', 'c1'), [
      {
        id: shared,
        type: 'CustomerCreated',
        data: {},
        metadata: { tenant_id: 'acme', actor: 'key_1', request_id: 'req_1' },
        occurred_at: occurredAt,
      },
    ]);
    const last = await store.append(streamName('globex', 'metric', 'api_calls'), [
      { id: shared, type: 'MetricCreated', data: {}, metadata: { tenant_id: 'globex', actor: 'cli:ops' } },
      {
        id: randomUUID(),
        type: 'MetricVersionAdded',
        data: {},
        metadata: { tenant_id: 'globex', actor: 'cli:ops', request_id: 'req_2' },
      },
    ]);
    const runner = new ProjectionRunner({ pool: db.pool, store, projections: [auditLogProjection], idlePollMs: 100 });
    await runner.start();
    await runner.waitForPosition('audit_log', last.position, 10_000);

    const events = (await store.readAll(null)).events;
    const expected = events.map((event) => ({
      event_id: event.id,
      stream: event.stream,
      tenant_id: event.metadata.tenant_id,
      position: event.position,
      type: event.type,
      actor: event.metadata.actor,
      request_id: event.metadata.request_id ?? null,
      occurred_at: event.occurred_at,
      recorded_at: event.recorded_at,
    }));
    expect(await rows()).toEqual(expected);
    expect(expected[0]).toMatchObject({
      tenant_id: 'acme',
      actor: 'key_1',
      request_id: 'req_1',
      occurred_at: occurredAt,
    });

    // Replaying the whole log from position 0 changes nothing.
    await runner.stop();
    await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'audit_log'`);
    const again = new ProjectionRunner({ pool: db.pool, store, projections: [auditLogProjection], idlePollMs: 100 });
    await again.start();
    await again.waitForPosition('audit_log', last.position, 10_000);
    await again.stop();
    expect(await rows()).toEqual(expected);
  });

  it('skips UsageRecorded without reading it, across runs of usage longer than a batch', async () => {
    const tenant = `t_${randomUUID().slice(0, 8)}`;
    const meta = { tenant_id: tenant, actor: 'key_usage' };
    const usage = (n: number) =>
      Array.from({ length: n }, () => ({ id: randomUUID(), type: 'UsageRecorded', data: {}, metadata: meta }));
    const stream = streamName(tenant, 'usage', 'c1-2026-03');
    await store.append(streamName(tenant, 'customer', 'c1'), [
      { id: randomUUID(), type: 'CustomerCreated', data: {}, metadata: meta },
    ]);
    await store.append(stream, usage(45));
    await store.append(streamName(tenant, 'customer', 'c2'), [
      { id: randomUUID(), type: 'CustomerCreated', data: {}, metadata: meta },
    ]);
    const last = await store.append(stream, usage(30));
    // batchSize 2: every page looks at a window of 20 events, so the usage runs give empty pages.
    const runner = new ProjectionRunner({
      pool: db.pool,
      store,
      projections: [auditLogProjection],
      idlePollMs: 100,
      batchSize: 2,
    });
    await runner.start();
    await runner.waitForPosition('audit_log', last.position, 10_000);
    await runner.stop();
    const { rows: audited } = await db.pool.query<{ type: string; stream: string }>(
      `SELECT type, stream FROM audit_log WHERE tenant_id = $1 ORDER BY recorded_at, position`,
      [tenant],
    );
    expect(audited).toEqual([
      { type: 'CustomerCreated', stream: streamName(tenant, 'customer', 'c1') },
      { type: 'CustomerCreated', stream: streamName(tenant, 'customer', 'c2') },
    ]);
  });

  it('indexes (tenant_id, recorded_at) for per-tenant audit queries', async () => {
    const index = await db.pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_log__v1'`);
    expect(index.rows.map((row) => row.indexdef)).toContainEqual(expect.stringMatching(/\(tenant_id, recorded_at\)/));
  });
});
