import {
  compareByTimeThenId,
  groupKey,
  groupValues,
  instantKey,
  isInstant,
  matchesFilters,
  numericValue,
  resolveField,
  scalarKey,
} from './event-fields';
import { MeteringError, type MetricDefinition } from './metric';

const event = (properties: Record<string, unknown> | null, value: unknown = '1') => ({
  id: 'e1',
  timestamp: '2024-01-01T00:00:00Z',
  value,
  properties,
});

describe('resolveField', () => {
  it('reads value by default and top-level properties by name', () => {
    expect(resolveField({}, event({ tokens: 5 }, '2.5'))).toBe('2.5');
    expect(resolveField({ field: 'value' }, event(null, 3))).toBe(3);
    expect(resolveField({ field: 'properties.tokens' }, event({ tokens: 5 }))).toBe(5);
    expect(resolveField({ field: 'properties.a.b' }, event({ 'a.b': 'x', a: { b: 'nested' } }))).toBe('x');
  });

  it('treats absent, null and non-scalar values as no value', () => {
    expect(resolveField({ field: 'properties.tokens' }, event({}))).toBeUndefined();
    expect(resolveField({ field: 'properties.tokens' }, event(null))).toBeUndefined();
    expect(resolveField({ field: 'properties.tokens' }, event({ tokens: null }))).toBeUndefined();
    expect(resolveField({ field: 'properties.tokens' }, event({ tokens: { n: 1 } }))).toBeUndefined();
    expect(resolveField({ field: 'properties.toString' }, event({}))).toBeUndefined();
    expect(resolveField({}, { ...event({}), value: undefined })).toBeUndefined();
    expect(resolveField({}, { ...event({}), value: null })).toBeUndefined();
  });

  it('numericValue accepts numbers and plain decimal strings only', () => {
    expect(numericValue('12.50')?.toString()).toBe('12.5');
    expect(numericValue(7)?.toString()).toBe('7');
    expect(numericValue('1e3')).toBeNull();
    expect(numericValue('abc')).toBeNull();
    expect(numericValue(true)).toBeNull();
    expect(numericValue(undefined)).toBeNull();
  });
});

describe('matchesFilters', () => {
  const metric = (filters: MetricDefinition['filters']) => ({ filters });

  it('eq / neq compare typed scalars, numbers by value', () => {
    expect(matchesFilters(metric({ region: { eq: 'eu' } }), { region: 'eu' })).toBe(true);
    expect(matchesFilters(metric({ region: { eq: 'eu' } }), { region: 'us' })).toBe(false);
    expect(matchesFilters(metric({ region: { eq: 'eu' } }), {})).toBe(false);
    expect(matchesFilters(metric({ n: { eq: 1 } }), { n: 1.0 })).toBe(true);
    expect(matchesFilters(metric({ n: { eq: 1 } }), { n: '1' })).toBe(false);
    expect(matchesFilters(metric({ flag: { eq: true } }), { flag: 'true' })).toBe(false);
    expect(matchesFilters(metric({ region: { neq: 'eu' } }), { region: 'us' })).toBe(true);
    expect(matchesFilters(metric({ region: { neq: 'eu' } }), { region: 'eu' })).toBe(false);
  });

  it('neq and not_in include events without the property; eq and in do not', () => {
    expect(matchesFilters(metric({ region: { neq: 'eu' } }), {})).toBe(true);
    expect(matchesFilters(metric({ region: { not_in: ['eu'] } }), null)).toBe(true);
    expect(matchesFilters(metric({ region: { in: ['eu'] } }), null)).toBe(false);
  });

  it('in / not_in / exists', () => {
    expect(matchesFilters(metric({ region: { in: ['eu', 'us'] } }), { region: 'us' })).toBe(true);
    expect(matchesFilters(metric({ region: { in: ['eu', 'us'] } }), { region: 'ap' })).toBe(false);
    expect(matchesFilters(metric({ region: { not_in: ['eu', 'us'] } }), { region: 'us' })).toBe(false);
    expect(matchesFilters(metric({ region: { exists: true } }), { region: 'x' })).toBe(true);
    expect(matchesFilters(metric({ region: { exists: true } }), { region: null })).toBe(false);
    expect(matchesFilters(metric({ region: { exists: false } }), {})).toBe(true);
  });

  it('requires every filter to pass, and no filters pass everything', () => {
    const both = metric({ region: { eq: 'eu' }, tier: { in: ['gold'] } });
    expect(matchesFilters(both, { region: 'eu', tier: 'gold' })).toBe(true);
    expect(matchesFilters(both, { region: 'eu', tier: 'silver' })).toBe(false);
    expect(matchesFilters({}, null)).toBe(true);
  });
});

describe('groups', () => {
  const metric = { group_by: ['region', 'instance'] };

  it('groupValues gives strings in group_by order, null when absent', () => {
    expect(groupValues(metric, { instance: 'gpu', region: 'eu', other: 1 })).toEqual({ region: 'eu', instance: 'gpu' });
    expect(groupValues(metric, { region: 2.5, instance: true })).toEqual({ region: '2.5', instance: 'true' });
    expect(groupValues(metric, {})).toEqual({ region: null, instance: null });
    expect(groupValues({}, { region: 'eu' })).toEqual({});
  });

  it('groupKey is deterministic and keeps types apart', () => {
    expect(groupKey(metric, { instance: 'gpu', region: 'eu' })).toBe(
      groupKey(metric, { region: 'eu', instance: 'gpu' }),
    );
    expect(groupKey(metric, { region: '1' })).not.toBe(groupKey(metric, { region: 1 }));
    expect(groupKey(metric, { region: 1 })).toBe(groupKey(metric, { region: 1.0 }));
    expect(groupKey(metric, { region: 'a","b' })).not.toBe(groupKey(metric, { region: 'a', instance: 'b' }));
    expect(groupKey({}, { region: 'eu' })).toBe('[]');
    expect(scalarKey('x')).toBe('s:x');
  });
});

describe('instants', () => {
  it('orders timestamps as instants whatever their offset and precision', () => {
    expect(instantKey('2024-03-10T12:00:00+02:00')).toBe(instantKey('2024-03-10T10:00:00Z'));
    expect(instantKey('2024-03-10T10:00:00.5Z') > instantKey('2024-03-10T10:00:00.499999999Z')).toBe(true);
    expect(instantKey('2024-03-10T10:00:00.000001Z') > instantKey('2024-03-10T10:00:00Z')).toBe(true);
    expect(instantKey('1969-12-31T23:59:59Z') < instantKey('1970-01-01T00:00:00Z')).toBe(true);
    expect(instantKey('0050-01-01T00:00:00Z') < instantKey('1950-01-01T00:00:00Z')).toBe(true);
  });

  it('breaks timestamp ties by id', () => {
    const a = { timestamp: '2024-01-01T01:00:00+01:00', id: 'a' };
    const b = { timestamp: '2024-01-01T00:00:00Z', id: 'b' };
    expect(compareByTimeThenId(a, b)).toBe(-1);
    expect(compareByTimeThenId(b, a)).toBe(1);
    expect(compareByTimeThenId(a, { ...a })).toBe(0);
  });

  it.each([
    '2024-02-30T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T00:00:00',
    'yesterday',
    '2024-01-01T00:00:00+99:99',
    '2024-01-01T00:00:00+24:00',
    '2024-01-01T00:00:00-05:60',
  ])('rejects %p', (timestamp) => {
    expect(() => instantKey(timestamp)).toThrow(MeteringError);
    expect(isInstant(timestamp)).toBe(false);
  });

  it('isInstant accepts exactly what instantKey keys, and only strings', () => {
    for (const timestamp of [
      '2024-02-29T23:59:59.999999999Z',
      '2024-03-10T12:00:00+02:00',
      '0050-01-01T00:00:00z',
      '2024-03-10T12:00:00-23:59',
    ]) {
      expect(isInstant(timestamp)).toBe(true);
      expect(() => instantKey(timestamp)).not.toThrow();
    }
    for (const raw of [undefined, null, 1_710_064_800_000, new Date(), { t: '2024-03-10T10:00:00Z' }])
      expect(isInstant(raw)).toBe(false);
  });
});
