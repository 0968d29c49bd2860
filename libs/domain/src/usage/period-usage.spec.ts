import type { Metric, MetricVersion } from '../catalog/metrics';
import type { MeteredEvent } from '../metering';
import { aggregatePeriodUsage, combineSegmentResults, usageSegments, versionsInPeriod } from './period-usage';
import { usageChecksum, usageChecksumHeader, usageChecksumLine, usageChecksumOf } from './usage-checksum';
import { UsageAccumulator, groupValueOfTypedKey, stateFromRow } from './usage-accumulator';

const version = (n: number, effective_from: string | null, body: Partial<MetricVersion>): MetricVersion => ({
  version: n,
  effective_from,
  published_at: '2026-01-01T00:00:00.000Z',
  aggregation: 'sum',
  field: 'value',
  filters: {},
  group_by: [],
  ...body,
});

const metric = (...versions: MetricVersion[]): Pick<Metric, 'key' | 'versions'> => ({ key: 'm', versions });
const MARCH = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
let sequence = 0;
const ev = (timestamp: string, value: string, properties: Record<string, unknown> = {}): MeteredEvent => {
  sequence += 1;
  return { id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`, timestamp, value, properties };
};

describe('versionsInPeriod', () => {
  const m = metric(
    version(1, null, {}),
    version(2, '2026-03-16T00:00:00.000Z', {}),
    version(3, '2026-05-01T00:00:00.000Z', {}),
  );
  it('keeps the versions in force at some instant of [start, end)', () => {
    expect(versionsInPeriod(m, MARCH.start, MARCH.end_exclusive).map((v) => v.version)).toEqual([1, 2]);
    expect(versionsInPeriod(m, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z').map((v) => v.version)).toEqual([2]);
    // A version starting exactly at the end is not in force during the period; one ending at the start neither.
    expect(versionsInPeriod(m, '2026-03-16T00:00:00Z', '2026-05-01T00:00:00Z').map((v) => v.version)).toEqual([2]);
  });
});

describe('segments', () => {
  it('one segment when every version aggregates the same way, one per version otherwise', () => {
    expect(
      usageSegments([version(1, null, {}), version(2, '2026-03-16T00:00:00Z', { field: 'properties.n' })]),
    ).toEqual([{ index: 0, aggregation: 'sum', versions: [1, 2] }]);
    expect(
      usageSegments([
        version(1, null, { aggregation: 'percentile', percentile: '90' }),
        version(2, '2026-03-16T00:00:00Z', { aggregation: 'percentile', percentile: '99' }),
      ]).map((s) => s.versions),
    ).toEqual([[1], [2]]);
  });

  it('sums segment values, skipping nulls; all null is null', () => {
    expect(combineSegmentResults(['2'])).toBe('2');
    expect(combineSegmentResults([null])).toBeNull();
    expect(combineSegmentResults(['1.5', null, '2.25'])).toBe('3.75');
    expect(combineSegmentResults([null, null])).toBeNull();
  });
});

describe('aggregatePeriodUsage (the reference the SQL paths must equal)', () => {
  it('meters each event by the version in force at its timestamp, with that version’s filters and field', () => {
    const m = metric(
      version(1, null, { filters: { region: { eq: 'eu' } } }),
      version(2, '2026-03-16T00:00:00.000Z', { field: 'properties.tokens' }),
    );
    const events = [
      ev('2026-03-01T00:00:00.000Z', '1', { region: 'eu', tokens: 100 }), // v1, counts 1
      ev('2026-03-10T00:00:00.000Z', '5', { region: 'us', tokens: 100 }), // v1, filtered out
      ev('2026-03-16T00:00:00.000Z', '7', { region: 'us', tokens: 10 }), // v2 from its first instant: 10
      ev('2026-03-31T23:59:59.999Z', '9', { tokens: '2.5' }), // v2: 2.5
      ev('2026-04-01T00:00:00.000Z', '1000', { tokens: 1000 }), // outside
    ];
    expect(aggregatePeriodUsage(m, MARCH, events)).toEqual({ value: '13.5', meter_versions: [1, 2] });
  });

  it('different aggregations: the sum of each version’s value over its part of the period', () => {
    const m = metric(
      version(1, null, { aggregation: 'max' }),
      version(2, '2026-03-16T00:00:00.000Z', { aggregation: 'count' }),
    );
    const events = [
      ev('2026-03-02T00:00:00.000Z', '4'),
      ev('2026-03-03T00:00:00.000Z', '6'),
      ev('2026-03-20T00:00:00.000Z', '100'),
      ev('2026-03-21T00:00:00.000Z', '100'),
    ];
    expect(aggregatePeriodUsage(m, MARCH, events).value).toBe('8'); // max 6 + count 2
  });

  it('the same aggregation merges across versions (a max stays the max of the whole period)', () => {
    const m = metric(
      version(1, null, { aggregation: 'max' }),
      version(2, '2026-03-16T00:00:00.000Z', { aggregation: 'max', field: 'properties.n' }),
    );
    const events = [ev('2026-03-02T00:00:00.000Z', '4', { n: 1 }), ev('2026-03-20T00:00:00.000Z', '0', { n: 3 })];
    expect(aggregatePeriodUsage(m, MARCH, events).value).toBe('4');
  });

  it('groups by each version’s group_by, or by the names given, sorted by key', () => {
    const m = metric(version(1, null, { group_by: ['region'] }));
    const events = [
      ev('2026-03-02T00:00:00Z', '1', { region: 'us' }),
      ev('2026-03-03T00:00:00Z', '2', { region: 'eu' }),
      ev('2026-03-04T00:00:00Z', '4', {}),
    ];
    expect(aggregatePeriodUsage(m, MARCH, events, { groupBy: 'metric' }).groups).toEqual([
      { key: '[["region"],["s:eu"]]', group: { region: 'eu' }, value: '2' },
      { key: '[["region"],["s:us"]]', group: { region: 'us' }, value: '1' },
      { key: '[["region"],[null]]', group: { region: null }, value: '4' },
    ]);
    expect(aggregatePeriodUsage(m, MARCH, events, { groupBy: [] }).groups).toEqual([
      { key: '[[],[]]', group: {}, value: '7' },
    ]);
  });

  it('an empty period gives the aggregation’s empty result', () => {
    expect(aggregatePeriodUsage(metric(version(1, null, {})), MARCH, []).value).toBe('0');
    expect(aggregatePeriodUsage(metric(version(1, null, { aggregation: 'last' })), MARCH, []).value).toBeNull();
  });
});

describe('UsageAccumulator (SQL states to a usage)', () => {
  it('merges states per segment and sums segments, like the reference', () => {
    const versions = [
      version(1, null, { aggregation: 'max' }),
      version(2, '2026-03-16T00:00:00.000Z', { aggregation: 'count' }),
    ];
    const accumulator = new UsageAccumulator('m', versions);
    const row = {
      event_count: '2',
      value_count: '2',
      value_sum: '10',
      extremum: '6',
      pick_ts: null,
      pick_id: null,
      pick_value: null,
    };
    accumulator.addState(1, [], stateFromRow('max', row));
    accumulator.addState(1, [], stateFromRow('max', { ...row, extremum: '5' }));
    accumulator.addState(2, [], stateFromRow('count', row));
    expect(accumulator.finish()).toEqual({ value: '8', meter_versions: [1, 2] });
  });

  it('reads typed keys back as group values', () => {
    expect(['s:eu', 'n:1.5', 'b:true', null].map(groupValueOfTypedKey)).toEqual(['eu', '1.5', 'true', null]);
  });
});

describe('usage checksum (definition version 1)', () => {
  const a = { usage_id: 'B0000000-0000-4000-8000-000000000001', timestamp: '2026-03-02T00:00:00.000Z', value: '2.50' };
  const b = { usage_id: 'a0000000-0000-4000-8000-000000000002', timestamp: '2026-03-02T00:00:00.000Z', value: '1' };
  const c = {
    usage_id: '00000000-0000-4000-8000-000000000003',
    timestamp: '2026-03-01T23:00:00-02:00',
    value: '0.0000000001',
  };

  it('serialises a header, then one canonical line per event in (timestamp, usage_id) order', () => {
    expect(usageChecksumHeader([2, 1])).toBe('abaxus-usage-checksum/1\nmeter_versions:1,2\n');
    expect(usageChecksumLine(a.usage_id, a.value)).toBe('b0000000-0000-4000-8000-000000000001:2.5\n');
    // c is 2026-03-02T01:00Z: after a and b; a and b tie on time, so the lower-case ids order them.
    const text =
      'abaxus-usage-checksum/1\nmeter_versions:1\n' +
      'a0000000-0000-4000-8000-000000000002:1\n' +
      'b0000000-0000-4000-8000-000000000001:2.5\n' +
      '00000000-0000-4000-8000-000000000003:0.0000000001\n';
    // Pinned: sha256 of `text` (a change of definition must be a new scheme version, never silent).
    const expected = 'sha256:b29f51d69bdc30eb23df147c16b38ac6358ff1380223fb4190ee7570cf9db8e2';
    expect(usageChecksum([1], [c, a, b])).toBe(expected);
    expect(usageChecksum([1], [b, c, a])).toBe(expected);
    expect(usageChecksumOf([1], [text.split('\n').slice(2, 4).join('\n') + '\n', text.split('\n')[4] + '\n'])).toBe(
      expected,
    );
  });

  it('changes with any event, value or meter version', () => {
    const base = usageChecksum([1], [a, b]);
    expect(usageChecksum([1], [a])).not.toBe(base);
    expect(usageChecksum([1], [{ ...a, value: '2.51' }, b])).not.toBe(base);
    expect(usageChecksum([1, 2], [a, b])).not.toBe(base);
    expect(usageChecksum([], [])).toBe('sha256:8fa4bc95a4e9fd32ce0a332e8e77ed51109b32b06a457e625628cbe48ffaf8b5');
  });
});
