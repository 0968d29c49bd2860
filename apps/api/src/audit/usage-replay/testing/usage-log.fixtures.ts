import fc from 'fast-check';
import {
  AGGREGATION_LAWS,
  type Aggregation,
  type BillingPeriod,
  type Metric,
  type MetricVersion,
  type PropertyFilter,
  type UsageMeasure,
} from '#domain';

/*
 * Generated usage logs for the replay's property tests: two months of a customer's usage around a
 * window that crosses the month boundary, with everything the counting rules care about (duplicate
 * keys and usage ids, malformed events, voids before and after their event, unknown metrics) and
 * meter versions of every aggregation, with filters, property fields and matrix dimensions.
 */

export const WINDOW: BillingPeriod = { start: '2026-03-10T00:00:00.000Z', end_exclusive: '2026-04-20T00:00:00.000Z' };
export const AGGREGATIONS = Object.keys(AGGREGATION_LAWS) as Aggregation[];

/** A small pool, so that duplicates happen. */
const USAGE_IDS = Array.from({ length: 24 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

export interface LoggedEvent {
  id: string;
  type: 'UsageRecorded' | 'UsageVoided';
  data: Record<string, unknown>;
}

const timestamp = fc
  .oneof(
    {
      weight: 8,
      arbitrary: fc.integer({ min: 0, max: 60 * 24 }).map((h) => new Date(Date.UTC(2026, 2, 1) + h * 3_600_000)),
    },
    { weight: 1, arbitrary: fc.constant(new Date(Date.UTC(2026, 3, 20))) }, // the window's end: excluded
  )
  .chain((date) =>
    fc.constantFrom(
      date.toISOString(),
      date.toISOString().replace('.000Z', 'Z'),
      // The same instant written with an offset (its stream is named by the text as written).
      new Date(date.getTime() + 2 * 3_600_000).toISOString().replace('.000Z', '+02:00'),
    ),
  );

const value = fc.constantFrom<unknown>(
  '1',
  '2.5',
  '1.50',
  '007',
  '-0',
  '0',
  '-3.25',
  '9999999999.9999999999',
  '0.0000000001',
  '12345678901',
  'abc',
  4,
);

const properties = fc.record(
  {
    region: fc.constantFrom<unknown>('eu', 'us', 'ap', null),
    size: fc.constantFrom<unknown>(1, 2.5, '3', '0.50', 'x', true),
    tier: fc.constantFrom<unknown>(1, '1'),
  },
  { requiredKeys: [] },
);

const recorded = fc
  .record({
    id: fc.uuid({ version: 4 }),
    usageId: fc.option(fc.constantFrom(...USAGE_IDS, USAGE_IDS[0].toUpperCase(), 'not-a-uuid'), { nil: undefined }),
    key: fc.integer({ min: 0, max: 30 }),
    metric: fc.constantFrom('m1', 'm1', 'm1', 'm2', 'other'),
    timestamp: fc.oneof(
      { weight: 20, arbitrary: timestamp },
      { weight: 1, arbitrary: fc.constantFrom('2026-02-30T00:00:00Z', 'nope') },
    ),
    value,
    properties: fc.oneof({ weight: 9, arbitrary: properties }, { weight: 1, arbitrary: fc.constant<unknown>(null) }),
  })
  .map((e): LoggedEvent => ({
    id: e.id,
    type: 'UsageRecorded',
    data: {
      ...(e.usageId === undefined ? {} : { usage_id: e.usageId }),
      customer_id: 'c1',
      metric_key: e.metric,
      value: e.value,
      timestamp: e.timestamp,
      idempotency_key: `k${e.key}`,
      properties: e.properties,
    },
  }));

const voided = fc
  .record({ id: fc.uuid({ version: 4 }), usageId: fc.constantFrom(...USAGE_IDS) })
  .map((e): LoggedEvent => ({
    id: e.id,
    type: 'UsageVoided',
    data: { usage_id: e.usageId.toUpperCase(), customer_id: 'c1', metric_key: 'm1', timestamp: '2026-03-15T00:00:00Z' },
  }));

/** A log of usage events, in log order. */
export const usageLog = fc.array(fc.oneof({ weight: 6, arbitrary: recorded }, { weight: 1, arbitrary: voided }), {
  maxLength: 60,
});

const filters = fc.constantFrom<Record<string, PropertyFilter> | undefined>(
  undefined,
  { region: { eq: 'eu' } },
  { region: { neq: 'eu' } },
  { region: { in: ['eu', 'us'] } },
  { region: { exists: true } },
  { tier: { not_in: [1] } },
);

const definition = fc.record({
  aggregation: fc.constantFrom(...AGGREGATIONS),
  field: fc.constantFrom<string | undefined>(undefined, 'properties.size'),
  filters,
  percentile: fc.constantFrom('50', '90', '7', '100', '0'),
});

function versionOf(
  body: { aggregation: Aggregation; field?: string; filters?: Record<string, PropertyFilter>; percentile: string },
  version: number,
  effectiveFrom: string | null,
): MetricVersion {
  const out: MetricVersion = {
    version,
    effective_from: effectiveFrom,
    published_at: '2026-01-01T00:00:00.000Z',
    aggregation: body.aggregation,
    field: body.field ?? 'value',
    filters: body.filters ?? {},
    group_by: [],
  };
  if (body.aggregation === 'percentile') out.percentile = body.percentile;
  return out;
}

function metricOf(key: string, versions: MetricVersion[]): Metric {
  return { key, name: key, unit: null, versions, created_at: '2026-01-01T00:00:00.000Z', archived_at: null };
}

/** m1: one to three versions (later ones effective inside the two months); m2: one version. */
export const catalog = fc
  .record({
    first: definition,
    later: fc.array(fc.record({ body: definition, hours: fc.integer({ min: 0, max: 60 * 24 }) }), { maxLength: 2 }),
    m2: definition,
  })
  .map(({ first, later, m2 }) => {
    const starts = [...new Set(later.map((v) => v.hours))].sort((a, b) => a - b);
    const versions = [
      versionOf(first, 1, null),
      ...starts.map((hours, i) =>
        versionOf(later[i].body, i + 2, new Date(Date.UTC(2026, 2, 1) + hours * 3_600_000).toISOString()),
      ),
    ];
    return new Map<string, Metric>([
      ['m1', metricOf('m1', versions)],
      ['m2', metricOf('m2', [versionOf(m2, 1, null)])],
    ]);
  });

export const MEASURES: UsageMeasure[] = [
  { key: 'plain', metric_key: 'm1' },
  { key: 'matrix', metric_key: 'm1', dimensions: ['region'] },
  { key: 'other_metric', metric_key: 'm2' },
  { key: 'matrix_two', metric_key: 'm2', dimensions: ['tier', 'region'] },
];

/** A metric `key` with one version from the beginning: the sum of `value`, no filters, no groups. */
export function plainSumMetric(key: string): Metric {
  return {
    key,
    name: key,
    unit: null,
    versions: [
      {
        version: 1,
        effective_from: null,
        published_at: '2026-01-01T00:00:00Z',
        aggregation: 'sum',
        field: 'value',
        filters: {},
        group_by: [],
      },
    ],
    created_at: '2026-01-01T00:00:00Z',
    archived_at: null,
  };
}
