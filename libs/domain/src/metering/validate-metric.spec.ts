import { MeteringError } from './metric';
import { normalizeMetric, validateMetric } from './validate-metric';

const fields = (input: unknown, prefix?: string) => validateMetric(input, { prefix }).map((error) => error.field);

describe('validateMetric', () => {
  it('accepts the catalog shapes', () => {
    expect(validateMetric({ key: 'api_calls', aggregation: 'count' })).toEqual([]);
    expect(
      validateMetric({
        key: 'gpu.seconds',
        aggregation: 'sum',
        field: 'properties.seconds',
        filters: { region: { in: ['eu', 'us'] }, internal: { neq: true }, tier: { exists: true }, n: { eq: 1 } },
        group_by: ['region', 'instance'],
      }),
    ).toEqual([]);
    expect(validateMetric({ key: 'latency', aggregation: 'percentile', percentile: 99.9 })).toEqual([]);
  });

  it('names every bad field, under the caller prefix', () => {
    expect(
      fields(
        {
          key: '-bad key',
          aggregation: 'median',
          field: 'props.x',
          filters: {
            region: { eq: 'eu', neq: 'us' },
            tier: { like: 'g%' },
            n: { in: [] },
            m: { not_in: [{}] },
            e: { exists: 'yes' },
          },
          group_by: ['region', 'region', ''],
        },
        'metrics[3]',
      ),
    ).toEqual([
      'metrics[3].key',
      'metrics[3].aggregation',
      'metrics[3].field',
      'metrics[3].filters.region',
      'metrics[3].filters.tier',
      'metrics[3].filters.n.in',
      'metrics[3].filters.m.not_in[0]',
      'metrics[3].filters.e.exists',
      'metrics[3].group_by[1]',
      'metrics[3].group_by[2]',
    ]);
  });

  it('checks the percentile only where it belongs', () => {
    expect(fields({ key: 'l', aggregation: 'percentile' })).toEqual(['percentile']);
    expect(fields({ key: 'l', aggregation: 'percentile', percentile: 101 })).toEqual(['percentile']);
    expect(fields({ key: 'l', aggregation: 'percentile', percentile: -1 })).toEqual(['percentile']);
    expect(fields({ key: 'l', aggregation: 'sum', percentile: 50 })).toEqual(['percentile']);
    expect(fields(null)).toEqual(['metric']);
  });
});

describe('normalizeMetric', () => {
  it('stores the percentile as a decimal string', () => {
    expect(normalizeMetric({ key: 'l', aggregation: 'percentile', percentile: 95 })).toEqual({
      key: 'l',
      aggregation: 'percentile',
      percentile: '95',
    });
  });

  it('throws METERING.INVALID_METRIC with every problem', () => {
    try {
      normalizeMetric({ key: '', aggregation: 'x' });
      throw new Error('expected a MeteringError');
    } catch (error) {
      expect(error).toBeInstanceOf(MeteringError);
      expect((error as MeteringError).code).toBe('METERING.INVALID_METRIC');
      expect((error as MeteringError).errors.map((e) => e.field)).toEqual(['key', 'aggregation']);
    }
  });
});
