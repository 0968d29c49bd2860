import fc from 'fast-check';
import { aggregate, aggregateGrouped, usageQuantity } from './aggregate';
import { AGGREGATION_LAWS, aggregatorFor } from './aggregations';
import { AGGREGATIONS, type Aggregation, type MeteredEvent, type MetricDefinition } from './metric';

let sequence = 0;
function ev(
  value: unknown,
  properties: Record<string, unknown> = {},
  timestamp = '2024-01-01T00:00:00Z',
  id?: string,
): MeteredEvent {
  sequence += 1;
  return { id: id ?? `e${String(sequence).padStart(4, '0')}`, timestamp, value, properties };
}

const metricOf = (aggregation: Aggregation, extra: Partial<MetricDefinition> = {}): MetricDefinition => ({
  key: 'm',
  aggregation,
  ...(aggregation === 'percentile' ? { percentile: '90' } : {}),
  ...extra,
});

describe('aggregations by example (hand-computed)', () => {
  const events = [
    ev('3', { region: 'eu', user: 'u1' }, '2024-01-01T10:00:00Z'),
    ev('1.5', { region: 'eu', user: 'u2' }, '2024-01-01T09:00:00Z'),
    ev('10', { region: 'us', user: 'u1' }, '2024-01-01T11:00:00Z'),
    ev(undefined, { region: 'eu', user: 'u3' }, '2024-01-01T12:00:00Z'), // no value: only count sees it
    ev('-2', { region: 'eu', user: 1 }, '2024-01-01T08:00:00Z'),
  ];

  it.each<[Aggregation, string | null]>([
    ['sum', '12.5'], // 3 + 1.5 + 10 - 2
    ['count', '5'],
    ['max', '10'],
    ['min', '-2'],
    ['avg', '3.125'], // 12.5 / 4
    ['first', '-2'], // 08:00
    ['last', '10'], // 11:00 (the 12:00 event has no value)
    ['percentile', '10'], // sorted -2, 1.5, 3, 10: rank ceil(0.9 * 4) = 4
  ])('%s = %p', (aggregation, expected) => {
    expect(aggregate(metricOf(aggregation), events)).toBe(expected);
  });

  it('unique_count counts distinct typed values of the field', () => {
    expect(aggregate(metricOf('unique_count', { field: 'properties.user' }), events)).toBe('4'); // u1, u2, u3, 1
    expect(aggregate(metricOf('unique_count'), events)).toBe('4'); // values 3, 1.5, 10, -2
  });

  it('applies filters before aggregating', () => {
    const eu = { filters: { region: { eq: 'eu' } } };
    expect(aggregate(metricOf('sum', eu), events)).toBe('2.5');
    expect(aggregate(metricOf('count', eu), events)).toBe('4');
    expect(aggregate(metricOf('max', eu), events)).toBe('3');
  });

  it('reads properties.<name> as the value field', () => {
    const withTokens = [ev('1', { tokens: 100 }), ev('1', { tokens: '250.5' }), ev('1', { tokens: 'n/a' })];
    expect(aggregate(metricOf('sum', { field: 'properties.tokens' }), withTokens)).toBe('350.5');
  });

  it('avg rounds to 10 decimals half away from zero', () => {
    expect(aggregate(metricOf('avg'), [ev('1'), ev('1'), ev('0')])).toBe('0.6666666667');
    expect(aggregate(metricOf('avg'), [ev('-1'), ev('-1'), ev('0')])).toBe('-0.6666666667');
  });

  it('first/last break timestamp ties by event id', () => {
    const t = '2024-05-01T00:00:00Z';
    const tied = [ev('2', {}, t, 'b'), ev('1', {}, t, 'a'), ev('3', {}, t, 'c')];
    expect(aggregate(metricOf('last'), tied)).toBe('3');
    expect(aggregate(metricOf('first'), tied)).toBe('1');
    expect(aggregate(metricOf('last'), [...tied].reverse())).toBe('3');
  });

  it.each(AGGREGATIONS)('%s of no events is its documented empty result', (aggregation) => {
    const result = aggregate(metricOf(aggregation), []);
    expect(result).toBe(AGGREGATION_LAWS[aggregation].empty_result);
    expect(usageQuantity(result)).toBe('0');
  });

  it('aggregateGrouped splits by group_by values, deterministically', () => {
    const metric = metricOf('sum', { group_by: ['region'] });
    const grouped = aggregateGrouped(metric, events);
    expect(grouped.map((g) => [g.group, g.value])).toEqual([
      [{ region: 'eu' }, '2.5'],
      [{ region: 'us' }, '10'],
    ]);
    expect(aggregateGrouped(metric, [...events].reverse())).toEqual(grouped);
  });
});

// Events drawn from small pools so that ties (same instant, same value, same id order) happen.
const instants = [
  '2024-01-01T00:00:00Z',
  '2024-01-01T01:00:00+01:00',
  '2024-01-01T00:00:00.000001Z',
  '2024-01-02T00:00:00Z',
];
const valueArb = fc.oneof(
  fc.constantFrom('0', '1', '1.5', '-2', '10', '0.0000000001', '9999999999.9999999999'),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constant(undefined),
  fc.constant('not a number'),
);
const eventArb = fc.record({
  id: fc.stringMatching(/^[a-d][0-9]$/),
  timestamp: fc.constantFrom(...instants),
  value: valueArb,
  properties: fc.record({ region: fc.constantFrom('eu', 'us'), user: fc.constantFrom('u1', 'u2', 1, 1.0, '1') }),
});
// Ids are unique, as in the log (ingestion dedupes); timestamps still tie.
const eventsArb = fc.uniqueArray(eventArb, { selector: (event) => event.id, maxLength: 25 });

describe.each(AGGREGATIONS)('%s obeys its merge laws (property)', (aggregation) => {
  const metrics = [
    metricOf(aggregation),
    metricOf(aggregation, { field: 'properties.user', filters: { region: { neq: 'us' } } }),
  ];
  const law = AGGREGATION_LAWS[aggregation];

  it.each(metrics.map((metric, index) => [index, metric] as const))(
    'metric #%i: merge of any split equals the whole',
    (_, metric) => {
      const agg = aggregatorFor(metric);
      const stateOf = (events: MeteredEvent[]) => agg.addAll(agg.init(), events);
      fc.assert(
        fc.property(eventsArb, fc.nat(), fc.nat(), (events, i, j) => {
          const [x, y] = [i % (events.length + 1), j % (events.length + 1)].sort((p, q) => p - q);
          const a = stateOf(events.slice(0, x));
          const b = stateOf(events.slice(x, y));
          const c = stateOf(events.slice(y));
          const whole = stateOf(events);
          expect(agg.merge(agg.merge(a, b), c)).toEqual(whole); // homomorphism
          expect(agg.merge(a, agg.merge(b, c))).toEqual(agg.merge(agg.merge(a, b), c)); // associative
          expect(agg.merge(a, b)).toEqual(agg.merge(b, a)); // commutative
          expect(agg.merge(agg.init(), a)).toEqual(a); // identity
          expect(agg.merge(a, agg.init())).toEqual(a);
          expect(stateOf([...events].reverse())).toEqual(whole); // arrival order does not matter
          expect(events.reduce((state, event) => agg.add(state, event), agg.init())).toEqual(whole);
          if (law.idempotent) expect(agg.merge(a, a)).toEqual(a);
        }),
      );
    },
  );

  it(`is${law.idempotent ? '' : ' not'} idempotent, as AGGREGATION_LAWS says`, () => {
    const agg = aggregatorFor(metricOf(aggregation));
    const state = agg.addAll(agg.init(), [ev('2'), ev('5')]);
    const doubled = agg.merge(state, state);
    if (law.idempotent) expect(doubled).toEqual(state);
    else expect(doubled).not.toEqual(state);
  });

  it(`has a ${law.partial_state} partial state`, () => {
    const agg = aggregatorFor(metricOf(aggregation));
    const many = Array.from({ length: 50 }, (_, index) => ev(String(index)));
    const size = (events: MeteredEvent[]) => JSON.stringify(agg.addAll(agg.init(), events)).length;
    if (law.partial_state === 'constant') expect(size(many)).toBeLessThan(size(many.slice(0, 2)) + 60);
    else expect(size(many)).toBeGreaterThan(size(many.slice(0, 2)) * 10);
  });
});

describe('add is pure', () => {
  it.each(AGGREGATIONS)('%s does not mutate the state it is given', (aggregation) => {
    const agg = aggregatorFor(metricOf(aggregation));
    const state = agg.addAll(agg.init(), [ev('1')]);
    const snapshot = JSON.stringify(state);
    agg.add(state, ev('2'));
    agg.merge(state, agg.addAll(agg.init(), [ev('3')]));
    expect(JSON.stringify(state)).toBe(snapshot);
  });
});
