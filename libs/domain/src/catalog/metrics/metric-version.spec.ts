import fc from 'fast-check';
import { metricDecider } from './metric.decider';
import type { MetricEvent } from './metric.events';
import { instantOrder, normalizeInstant } from './metric-instant';
import { metricDefinitionOf, versionEffectiveUntil, versionInForce } from './metric-version';

const definition = (aggregation: 'sum' | 'count' | 'max') => ({
  aggregation,
  field: 'value',
  filters: {},
  group_by: [],
});
const events: MetricEvent[] = [
  {
    type: 'MetricCreated',
    data: {
      metric_key: 'm',
      name: 'M',
      unit: null,
      definition: definition('sum'),
      created_at: '2026-01-01T00:00:00.000Z',
    },
  },
  {
    type: 'MetricVersionPublished',
    data: {
      metric_key: 'm',
      version: 2,
      effective_from: '2026-03-01T00:00:00.000Z',
      definition: definition('count'),
      published_at: '2026-02-01T00:00:00.000Z',
    },
  },
  {
    type: 'MetricVersionPublished',
    data: {
      metric_key: 'm',
      version: 3,
      effective_from: '2026-04-01T00:00:00.000500Z',
      definition: definition('max'),
      published_at: '2026-02-02T00:00:00.000Z',
    },
  },
];
const state = events.reduce(metricDecider.evolve, metricDecider.initialState());
if (state.status === 'absent') throw new Error('fixture');
const metric = state.metric;

describe('versionInForce', () => {
  it.each([
    ['1970-01-01T00:00:00Z', 1],
    ['2026-02-28T23:59:59.999999999Z', 1],
    ['2026-03-01T00:00:00Z', 2],
    ['2026-02-28T19:00:00-05:00', 2],
    ['2026-04-01T00:00:00.000499999Z', 2],
    ['2026-04-01T00:00:00.0005Z', 3],
    ['2099-01-01T00:00:00Z', 3],
  ])('at %s is version %i (from its effective_from, inclusive, until the next one)', (timestamp, version) => {
    expect(versionInForce(metric, timestamp).version).toBe(version);
  });

  it('accepts a Date', () => {
    expect(versionInForce(metric, new Date('2026-03-15T00:00:00Z')).aggregation).toBe('count');
  });

  it('hands the metering functions a definition with the key', () => {
    expect(metricDefinitionOf(metric, metric.versions[1])).toEqual({ key: 'm', ...definition('count') });
    expect(versionEffectiveUntil(metric, metric.versions[0])).toBe('2026-03-01T00:00:00.000Z');
    expect(versionEffectiveUntil(metric, metric.versions[2])).toBeNull();
  });

  it('picks the version whose interval contains the instant (property)', () => {
    const start = Date.parse('2025-01-01T00:00:00Z');
    const end = Date.parse('2027-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: start, max: end }), (ms) => {
        const timestamp = new Date(ms).toISOString();
        const chosen = versionInForce(metric, timestamp);
        const until = versionEffectiveUntil(metric, chosen);
        if (chosen.effective_from !== null)
          expect(instantOrder(chosen.effective_from) <= instantOrder(timestamp)).toBe(true);
        if (until !== null) expect(instantOrder(timestamp) < instantOrder(until)).toBe(true);
      }),
    );
  });
});

describe('normalizeInstant', () => {
  it.each([
    ['2026-03-01T00:00:00Z', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01t01:30:00+01:30', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01T00:00:00.5Z', '2026-03-01T00:00:00.500Z'],
    ['2026-03-01T00:00:00.123456Z', '2026-03-01T00:00:00.123456Z'],
    ['2026-03-01T00:00:00.123000000Z', '2026-03-01T00:00:00.123Z'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeInstant(input, 'effective_from')).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['2026-02-30T00:00:00Z'],
    ['2026-03-01'],
    ['yesterday'],
    [1700000000],
    [null],
    ['2026-03-01T00:00:00.0000001Z'],
  ])('rejects %p, naming the field', (input) => {
    const result = normalizeInstant(input, 'effective_from');
    expect(result).toEqual({ ok: false, error: { field: 'effective_from', message: expect.any(String) } });
  });
});
