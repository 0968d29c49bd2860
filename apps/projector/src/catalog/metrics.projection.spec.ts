import { randomUUID } from 'node:crypto';
import { METRIC_STREAM_CATEGORY, metricDecider, type MetricCommand, type MetricEvent } from '#domain';
import {
  PostgresEventStore,
  ProjectionRunner,
  StreamNotFoundError,
  rebuildProjection,
  streamName,
  type Checkpoint,
} from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { metricsProjection } from './metrics.projection';

/** A command without its clock (`run` supplies one): Omit distributed over the union. */
type WithoutClock = MetricCommand extends infer C ? (C extends unknown ? Omit<C, 'at'> : never) : never;

describe('metrics projection', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: Checkpoint;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  /** Decides on the stream's current state and appends, as the API's handlers do. */
  async function run(tenant: string, command: WithoutClock): Promise<void> {
    const stream = streamName(tenant, METRIC_STREAM_CATEGORY, command.metric_key);
    const recorded = await store.readStream(stream).catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
    const state = recorded.reduce(
      (s, e) => metricDecider.evolve(s, { type: e.type, data: e.data } as MetricEvent),
      metricDecider.initialState(),
    );
    clock += 60_000;
    const events = metricDecider.decide({ ...command, at: new Date(clock) } as MetricCommand, state);
    const result = await store.append(
      stream,
      events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: { tenant_id: tenant, actor: 'system:test', request_id: 'req_1' },
      })),
      { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
    );
    last = result.position;
  }

  const create = (key: string, aggregation = 'sum') => ({
    type: 'CreateMetric' as const,
    metric_key: key,
    name: `Metric ${key}`,
    unit: 'unit',
    definition: { aggregation, filters: { endpoint: { not_in: ['/health'] } }, group_by: ['region'] },
  });
  const publish = (key: string, effective_from: string, aggregation = 'max') => ({
    type: 'PublishMetricVersion' as const,
    metric_key: key,
    effective_from,
    definition: { aggregation },
  });

  const metricRows = async () => (await db.pool.query('SELECT * FROM metrics ORDER BY tenant_id, key')).rows;
  const versionRows = async () =>
    (await db.pool.query('SELECT * FROM metric_versions ORDER BY tenant_id, key, version')).rows;
  const catchUp = async (runner: ProjectionRunner) => runner.waitForPosition('metrics', last, 10_000);

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await run('acme', create('api_calls'));
    await run('acme', publish('api_calls', '2026-03-01T00:00:00-05:00'));
    await run('acme', {
      ...publish('api_calls', '2026-04-01T00:00:00.000001Z'),
      definition: { aggregation: 'percentile', percentile: 99.9 },
    });
    await run('acme', create('storage.gb', 'max'));
    await run('acme', { type: 'ArchiveMetric', metric_key: 'storage.gb', used_by: [] });
    await run('globex', create('api_calls', 'count'));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('holds each metric as a read of its stream shows it, with every version and its applicability', async () => {
    const runner = new ProjectionRunner({ pool: db.pool, store, projections: [metricsProjection], idlePollMs: 100 });
    await runner.start();
    try {
      await catchUp(runner);
    } finally {
      await runner.stop();
    }
    const rows = await metricRows();
    expect(rows.map((r) => [r.tenant_id, r.key, r.latest_version, r.archived_at === null])).toEqual([
      ['acme', 'api_calls', 3, true],
      ['acme', 'storage.gb', 1, false],
      ['globex', 'api_calls', 1, true],
    ]);
    const fromStream = (await store.readStream(streamName('acme', 'metric', 'api_calls'))).reduce(
      (s, e) => metricDecider.evolve(s, { type: e.type, data: e.data } as MetricEvent),
      metricDecider.initialState(),
    );
    if (fromStream.status === 'absent') throw new Error('fixture');
    expect(rows[0]).toMatchObject({
      name: 'Metric api_calls',
      unit: 'unit',
      versions: fromStream.metric.versions,
      created_at: new Date(fromStream.metric.created_at),
    });
    expect(rows[2].versions[0].aggregation).toBe('count');

    const versions = await versionRows();
    expect(versions.filter((v) => v.tenant_id === 'acme' && v.key === 'api_calls')).toEqual([
      expect.objectContaining({
        version: 1,
        effective_from: null,
        effective_until: new Date('2026-03-01T05:00:00Z'),
        aggregation: 'sum',
      }),
      expect.objectContaining({
        version: 2,
        effective_from: new Date('2026-03-01T05:00:00Z'),
        effective_until: new Date('2026-04-01T00:00:00.000Z'),
        aggregation: 'max',
        filters: {},
        group_by: [],
      }),
      expect.objectContaining({ version: 3, effective_until: null, aggregation: 'percentile', percentile: '99.9' }),
    ]);
    // Microseconds survive in the timestamptz column (the stored string is exact).
    const micro = await db.pool.query(
      `SELECT effective_from = '2026-04-01T00:00:00.000001Z'::timestamptz AS exact FROM metric_versions
        WHERE tenant_id = 'acme' AND key = 'api_calls' AND version = 3`,
    );
    expect(micro.rows[0].exact).toBe(true);
  });

  it('replaying the whole log again gives the same rows', async () => {
    const before = { metrics: await metricRows(), versions: await versionRows() };
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'metrics'`);
      const runner = new ProjectionRunner({ pool: db.pool, store, projections: [metricsProjection], idlePollMs: 100 });
      await runner.start();
      await catchUp(runner);
      await runner.stop();
      expect({ metrics: await metricRows(), versions: await versionRows() }).toEqual(before);
    }
  });

  it('a forced rebuild into fresh tables leaves every metric and its old versions unchanged', async () => {
    const before = { metrics: await metricRows(), versions: await versionRows() };
    const result = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [metricsProjection],
      name: 'metrics',
      force: true,
    });
    expect(result).toMatchObject({ outcome: 'switched', build: expect.any(Number) });
    const view = await db.pool.query(`SELECT definition FROM pg_views WHERE viewname = 'metrics'`);
    expect(view.rows[0].definition).toContain(`metrics__v1_r${result.build}`);
    expect({ metrics: await metricRows(), versions: await versionRows() }).toEqual(before);
  });

  it('pages by (tenant_id, key) through the primary key, in byte order', async () => {
    const index = await db.pool.query(
      `SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'metrics\\_\\_v1%' AND indexdef LIKE '%UNIQUE%'`,
    );
    expect(index.rows[0].indexdef).toMatch(/\(tenant_id, key\)/);
    await run('acme', create('Zeta'));
    await run('acme', create('alpha'));
    const runner = new ProjectionRunner({ pool: db.pool, store, projections: [metricsProjection], idlePollMs: 100 });
    await runner.start();
    await catchUp(runner);
    await runner.stop();
    const keys = await db.pool.query(`SELECT key FROM metrics WHERE tenant_id = 'acme' ORDER BY key`);
    expect(keys.rows.map((r) => r.key)).toEqual(['Zeta', 'alpha', 'api_calls', 'storage.gb']);
  });
});
