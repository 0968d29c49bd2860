import {
  AGGREGATIONS,
  aggregatePeriodUsage,
  usageChecksum,
  versionsInPeriod,
  type Aggregation,
  type Metric,
  type MeteredEvent,
  type MetricDefinitionInput,
} from '#domain';
import { PostgresEventStore, type Checkpoint } from '#ledger';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import {
  appendUsage,
  rebuildUsage,
  runMetricCommand,
  usageRecorded,
  usageVoided,
} from '../../../projector/src/usage/testing/usage-fixtures';
import { usageProjection } from '../../../projector/src/usage/usage.projection';
import { withSharedSnapshot } from './shared-snapshot';
import { scanUsage, summarizeUsage, usageHistogram, type UsagePeriod } from './usage-reader';

/*
 * The parity law of the usage read model, against a real PostgreSQL and the real projection:
 * after the projector catches up, the eventual summary (buckets) and the exact scan both equal the
 * domain's in-memory aggregatePeriodUsage, for every aggregation, with filters, group_by, voids,
 * duplicates in the log, and a metric version published mid-period (applied by event timestamp).
 * Randomized with a seeded generator: USAGE_SEED=<n> replays a run.
 */

/** mulberry32: small, seedable, good enough for test data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TENANT = 'acme';
const CUSTOMERS = ['c1', 'c2'];
const MARCH: UsagePeriod = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
// Starts and ends inside 15-minute buckets: whole buckets plus raw edges.
const UNALIGNED: UsagePeriod = { start: '2026-03-10T08:05:30.123Z', end: '2026-03-20T17:00:00.001Z' };
// March in New York: whole UTC days plus 15-minute buckets at both ends, no raw edges.
const NEW_YORK_MARCH: UsagePeriod = { start: '2026-03-01T05:00:00.000Z', end: '2026-04-01T04:00:00.000Z' };
// Mid-bucket, so the bucket holding it has rows of both versions.
const VERSION_2_FROM = '2026-03-16T10:07:00.000Z';

function definitions(aggregation: Aggregation): [MetricDefinitionInput, MetricDefinitionInput] {
  const field = aggregation === 'unique_count' ? 'properties.user' : 'value';
  return [
    {
      aggregation,
      field,
      filters: { region: { neq: 'ap' } },
      group_by: ['region'],
      ...(aggregation === 'percentile' ? { percentile: '90' } : {}),
    },
    {
      aggregation,
      field: aggregation === 'unique_count' ? 'properties.user' : 'properties.tokens',
      filters: { tier: { in: ['gold', 'silver'] } },
      group_by: ['region'],
      ...(aggregation === 'percentile' ? { percentile: '90' } : {}),
    },
  ];
}

/** Metrics whose versions have DIFFERENT aggregations: one segment per version, summed. */
const MIXED: Record<string, [MetricDefinitionInput, MetricDefinitionInput]> = {
  mix_sum_max: [
    { aggregation: 'sum', group_by: ['region'] },
    { aggregation: 'max', field: 'properties.tokens', group_by: ['region'] },
  ],
  mix_count_unique: [
    { aggregation: 'count', filters: { tier: { exists: true } }, group_by: ['region'] },
    { aggregation: 'unique_count', field: 'properties.user', group_by: ['region'] },
  ],
  mix_p50_last: [
    { aggregation: 'percentile', percentile: '50', group_by: ['region'] },
    { aggregation: 'last', field: 'properties.tokens', group_by: ['region'] },
  ],
};

describe('usage read model: summary and exact scan equal the domain (parity law)', () => {
  const seed = Number(process.env.USAGE_SEED ?? 20260301);
  const rand = random(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
  let db: TestDatabase;
  let store: PostgresEventStore;
  const metrics = new Map<string, Metric>();
  /** Every appended UsageRecorded, in log order, and the voided ids. */
  const appended: Array<{ id: string; key: string; customer: string; metric: string } & MeteredEvent> = [];
  const voided = new Set<string>();
  let last: Checkpoint;

  async function project(): Promise<void> {
    await projectTo({ pool: db.pool, store }, [usageProjection], last, { timeoutMs: 20_000 });
  }

  function randomEvent(metricKeys: string[]) {
    const start = Date.parse('2026-02-25T00:00:00Z');
    const end = Date.parse('2026-04-05T00:00:00Z');
    const boundaries = [
      MARCH.start,
      MARCH.end,
      UNALIGNED.start,
      UNALIGNED.end,
      VERSION_2_FROM,
      '2026-03-16T10:00:00.000Z',
    ];
    const timestamp =
      rand() < 0.1 ? pick(boundaries) : new Date(start + Math.floor(rand() * (end - start))).toISOString();
    const properties: Record<string, string | number | boolean | null> = {};
    const region = pick(['eu', 'us', 'ap', undefined, 1, true, null] as const);
    if (region !== undefined) properties.region = region;
    const tier = pick(['gold', 'silver', 'bronze', undefined] as const);
    if (tier !== undefined) properties.tier = tier;
    const tokens = pick([undefined, 'n/a', '12.5', '-3', 7, 2.25, 1000, '0.0000000001', '1e3'] as const);
    if (tokens !== undefined) properties.tokens = tokens;
    const user = pick(['u1', 'u2', 'u3', 1, 2, '1'] as const);
    properties.user = user;
    const value = pick([
      '0',
      '1',
      '2.5',
      '10',
      '0.0000000001',
      '9999999999.9999999999',
      String(Math.floor(rand() * 100)),
    ]);
    return usageRecorded({
      tenant: TENANT,
      customer: pick(CUSTOMERS),
      metric: pick(metricKeys),
      value,
      timestamp,
      properties,
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    const at = new Date('2026-01-01T00:00:00Z');
    const specs: Array<[string, [MetricDefinitionInput, MetricDefinitionInput]]> = [
      ...AGGREGATIONS.map(
        (aggregation) =>
          [`m_${aggregation}`, definitions(aggregation)] as [string, [MetricDefinitionInput, MetricDefinitionInput]],
      ),
      ...Object.entries(MIXED),
    ];
    for (const [key, [first]] of specs) {
      await runMetricCommand(store, TENANT, {
        type: 'CreateMetric',
        metric_key: key,
        name: key,
        definition: first,
        at,
      });
    }
    const keys = specs.map(([key]) => key);
    // Usage first, then the new versions (published later, effective in the past), then more usage.
    const firstWave = Array.from({ length: 250 }, () => randomEvent(keys));
    last = await appendUsage(store, firstWave);
    for (const [key, [, second]] of specs) {
      const published = await runMetricCommand(store, TENANT, {
        type: 'PublishMetricVersion',
        metric_key: key,
        effective_from: VERSION_2_FROM,
        definition: second,
        at,
      });
      metrics.set(key, published.metric);
    }
    const secondWave = Array.from({ length: 250 }, () => randomEvent(keys));
    // Retries that reached the log (KurrentDB keeps them): same key, another id and value.
    const duplicates = Array.from({ length: 15 }, () => {
      const original = pick([...firstWave, ...secondWave]);
      return usageRecorded({
        tenant: TENANT,
        customer: original.data.customer_id,
        metric: original.data.metric_key,
        value: '777',
        timestamp: original.data.timestamp,
        key: original.data.idempotency_key,
      });
    });
    last = await appendUsage(store, [...secondWave, ...duplicates]);
    const voids = [...firstWave, ...secondWave].filter(() => rand() < 0.08);
    last = await appendUsage(
      store,
      voids.map((event) => usageVoided(TENANT, event.data)),
    );
    for (const event of [...firstWave, ...secondWave, ...duplicates]) {
      appended.push({
        id: event.id,
        key: event.data.idempotency_key,
        customer: event.data.customer_id,
        metric: event.data.metric_key,
        timestamp: event.data.timestamp,
        value: event.data.value,
        properties: event.data.properties,
      });
    }
    for (const event of voids) voided.add(event.id);
    await project();
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  /** The counted events of a series: the first of each key in log order, not voided. */
  function counted(customer: string, metric: string): MeteredEvent[] {
    const seen = new Set<string>();
    const kept: MeteredEvent[] = [];
    for (const event of appended) {
      if (seen.has(event.key)) continue;
      seen.add(event.key);
      if (event.customer === customer && event.metric === metric && !voided.has(event.id)) kept.push(event);
    }
    return kept;
  }

  const inPeriod = (events: MeteredEvent[], period: UsagePeriod) =>
    events.filter(
      (e) => Date.parse(e.timestamp) >= Date.parse(period.start) && Date.parse(e.timestamp) < Date.parse(period.end),
    );

  const series = () =>
    [...metrics.keys()].flatMap((metric) =>
      CUSTOMERS.flatMap((customer) =>
        [MARCH, UNALIGNED, NEW_YORK_MARCH].map((period) => ({ metric, customer, period })),
      ),
    );

  it(`summary (buckets) equals the domain for every aggregation and mixed versions (seed ${seed})`, async () => {
    for (const { metric, customer, period } of series()) {
      const definition = metrics.get(metric)!;
      const expected = aggregatePeriodUsage(
        definition,
        { start: period.start, end_exclusive: period.end },
        counted(customer, metric),
        {
          groupBy: 'metric',
        },
      );
      const summary = await summarizeUsage(
        db.pool,
        { tenantId: TENANT, customerId: customer, metricKey: metric },
        definition,
        period,
      );
      expect({ metric, customer, period, value: summary.value, groups: summary.groups }).toEqual({
        metric,
        customer,
        period,
        value: expected.value,
        groups: expected.groups,
      });
    }
  });

  it('the exact scan equals the domain, with and without group_by, and checksums the counted events', async () => {
    for (const { metric, customer, period } of series()) {
      const definition = metrics.get(metric)!;
      const events = counted(customer, metric);
      const key = { tenantId: TENANT, customerId: customer, metricKey: metric };
      const [plain, grouped] = await withSharedSnapshot(db.pool, 2, async (clients) => [
        await scanUsage(clients, key, definition, period),
        await scanUsage(clients, key, definition, period, { groupBy: ['region', 'tier'] }),
      ]);
      const periodSpec = { start: period.start, end_exclusive: period.end };
      const expected = aggregatePeriodUsage(definition, periodSpec, events, { groupBy: ['region', 'tier'] });
      const versions = versionsInPeriod(definition, period.start, period.end).map((v) => v.version);
      const scanned = inPeriod(events, period);
      const label = { metric, customer, period };
      expect({ ...label, value: plain.value, grouped: grouped.value }).toEqual({
        ...label,
        value: expected.value,
        grouped: expected.value,
      });
      expect({ ...label, groups: grouped.groups }).toEqual({ ...label, groups: expected.groups });
      expect(plain.meter_versions).toEqual(versions);
      expect(plain.event_count).toBe(String(scanned.length));
      // The log is months past March: every event of these periods arrived after they ended.
      expect(plain.late_event_count).toBe(String(scanned.length));
      expect(plain.checksum).toBe(
        usageChecksum(
          versions,
          scanned.map((e) => ({ usage_id: e.id, timestamp: e.timestamp, value: e.value as string })),
        ),
      );
    }
  });

  it('hour and day histograms equal the domain per hour/day', async () => {
    for (const metric of ['m_sum', 'm_max', 'm_percentile', 'mix_count_unique', 'm_last']) {
      const definition = metrics.get(metric)!;
      const events = counted('c1', metric);
      const range = { start: '2026-03-15T00:00:00.000Z', end: '2026-03-18T00:00:00.000Z' };
      for (const granularity of ['hour', 'day'] as const) {
        const points = await usageHistogram(
          db.pool,
          { tenantId: TENANT, customerId: 'c1', metricKey: metric },
          definition,
          range,
          granularity,
        );
        expect(points).toHaveLength(granularity === 'hour' ? 72 : 3);
        const expected = points.map((point) => ({
          ...point,
          value: aggregatePeriodUsage(definition, { start: point.start, end_exclusive: point.end }, events).value,
        }));
        expect({ metric, granularity, points }).toEqual({ metric, granularity, points: expected });
      }
    }
  });

  it('replaying the log twice and a forced rebuild leave identical buckets and summaries', async () => {
    const snapshot = async () => ({
      buckets: (
        await db.pool.query(
          `SELECT tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key, aggregation, event_count,
                  value_count, trim_scale(value_sum)::text AS value_sum, trim_scale(extremum)::text AS extremum,
                  pick_ts, pick_id, trim_scale(pick_value)::text AS pick_value
             FROM usage_buckets ORDER BY 1, 2, 3, 4, 5, group_key::text`,
        )
      ).rows,
      daily: (
        await db.pool.query(
          `SELECT tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key, aggregation, event_count,
                  value_count, trim_scale(value_sum)::text AS value_sum, trim_scale(extremum)::text AS extremum,
                  pick_ts, pick_id, trim_scale(pick_value)::text AS pick_value
             FROM usage_buckets_daily ORDER BY 1, 2, 3, 4, 5, group_key::text`,
        )
      ).rows,
      events: (await db.pool.query(`SELECT * FROM usage_events ORDER BY log_position`)).rows,
    });
    const before = await snapshot();
    expect(before.buckets.length).toBeGreaterThan(100);
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'usage' AND status = 'live'`);
      await project();
      expect(await snapshot()).toEqual(before);
    }
    await rebuildUsage({ pool: db.pool, store }, 37);
    expect(await snapshot()).toEqual(before);
  });

  it('usage logged before its metric existed is bucketed when the metric is created', async () => {
    const early = [1, 2, 3].map((i) =>
      usageRecorded({
        tenant: TENANT,
        customer: 'c8',
        metric: 'm_late',
        value: String(i),
        timestamp: `2026-03-0${i}T10:00:00.000Z`,
      }),
    );
    last = await appendUsage(store, early);
    await project();
    const created = await runMetricCommand(store, TENANT, {
      type: 'CreateMetric',
      metric_key: 'm_late',
      name: 'late',
      definition: { aggregation: 'sum' },
      at: new Date('2026-01-01T00:00:00Z'),
    });
    last = created.position!;
    await project();
    const key = { tenantId: TENANT, customerId: 'c8', metricKey: 'm_late' };
    expect((await summarizeUsage(db.pool, key, created.metric, MARCH)).value).toBe('6');
  });

  it('a void of the only event of a min bucket recomputes it from the raw rows', async () => {
    // Two events in one bucket; the smaller is voided: min moves to the other, not to nothing.
    const low = usageRecorded({
      tenant: TENANT,
      customer: 'c9',
      metric: 'm_min',
      value: '1',
      timestamp: '2026-03-02T00:01:00.000Z',
      properties: { region: 'eu' },
    });
    const high = usageRecorded({
      tenant: TENANT,
      customer: 'c9',
      metric: 'm_min',
      value: '5',
      timestamp: '2026-03-02T00:02:00.000Z',
      properties: { region: 'eu' },
    });
    last = await appendUsage(store, [low, high]);
    await project();
    const key = { tenantId: TENANT, customerId: 'c9', metricKey: 'm_min' };
    const summary = () => summarizeUsage(db.pool, key, metrics.get('m_min')!, MARCH);
    expect((await summary()).value).toBe('1');
    last = await appendUsage(store, [usageVoided(TENANT, low.data)]);
    await project();
    expect((await summary()).value).toBe('5');
    last = await appendUsage(store, [usageVoided(TENANT, high.data)]);
    await project();
    expect((await summary()).value).toBeNull();
    const rows = await db.pool.query(
      `SELECT 1 FROM usage_buckets WHERE customer_id = 'c9' UNION ALL SELECT 1 FROM usage_buckets_daily WHERE customer_id = 'c9'`,
    );
    expect(rows.rowCount).toBe(0);
  });
});
