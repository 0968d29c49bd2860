import { MetricError } from './metric.errors';
import type { MetricCreated, MetricEvent, MetricVersionPublished } from './metric.events';
import { metricDecider, type CreateMetric, type MetricCommand, type PublishMetricVersion } from './metric.decider';

const at = new Date('2026-01-02T03:04:05.000Z');
const later = new Date('2026-02-01T00:00:00.000Z');

const create = (overrides: Partial<CreateMetric> = {}): CreateMetric => ({
  type: 'CreateMetric',
  metric_key: 'api_calls',
  name: 'API calls',
  unit: 'call',
  definition: {
    aggregation: 'sum',
    field: 'value',
    filters: { endpoint: { not_in: ['/health'] } },
    group_by: ['region'],
  },
  at,
  ...overrides,
});

const created: MetricCreated = {
  type: 'MetricCreated',
  data: {
    metric_key: 'api_calls',
    name: 'API calls',
    unit: 'call',
    definition: {
      aggregation: 'sum',
      field: 'value',
      filters: { endpoint: { not_in: ['/health'] } },
      group_by: ['region'],
    },
    created_at: at.toISOString(),
  },
};

const publish = (effective_from: string, overrides: Partial<PublishMetricVersion> = {}): PublishMetricVersion => ({
  type: 'PublishMetricVersion',
  metric_key: 'api_calls',
  effective_from,
  definition: { aggregation: 'count' },
  at: later,
  ...overrides,
});

const published = (version: number, effective_from: string): MetricVersionPublished => ({
  type: 'MetricVersionPublished',
  data: {
    metric_key: 'api_calls',
    version,
    effective_from,
    definition: { aggregation: 'count', field: 'value', filters: {}, group_by: [] },
    published_at: later.toISOString(),
  },
});

const archived: MetricEvent = {
  type: 'MetricArchived',
  data: { metric_key: 'api_calls', archived_at: later.toISOString() },
};

function given(...events: MetricEvent[]) {
  const state = events.reduce(metricDecider.evolve, metricDecider.initialState());
  return { when: (command: MetricCommand) => () => metricDecider.decide(command, state) };
}

function errorOf(run: () => unknown): MetricError {
  try {
    run();
  } catch (error) {
    if (error instanceof MetricError) return error;
    throw error;
  }
  throw new Error('expected a MetricError');
}

describe('metric decider', () => {
  describe('CreateMetric', () => {
    it('creates version 1 with every default spelled out', () => {
      expect(given().when(create())()).toEqual([created]);
      const [event] = given().when(
        create({ unit: undefined, definition: { aggregation: 'percentile', percentile: 95 } }),
      )();
      expect(event.data).toMatchObject({
        unit: null,
        definition: { aggregation: 'percentile', field: 'value', percentile: '95', filters: {}, group_by: [] },
      });
    });

    it('is a no-op when the same metric is created again (defaults or not, any key order)', () => {
      expect(given(created).when(create())()).toEqual([]);
      const reordered = create({
        name: '  API calls ',
        definition: { group_by: ['region'], filters: { endpoint: { not_in: ['/health'] } }, aggregation: 'sum' },
      });
      expect(given(created).when(reordered)()).toEqual([]);
      expect(given(created, archived).when(create())()).toEqual([]);
    });

    it.each<[string, Partial<CreateMetric>]>([
      ['another aggregation', { definition: { aggregation: 'max' } }],
      ['another name', { name: 'Calls' }],
      ['another unit', { unit: 'request' }],
      ['no unit', { unit: null }],
    ])('refuses the same key with %s: METRIC.ALREADY_EXISTS', (_label, overrides) => {
      expect(errorOf(given(created).when(create(overrides))).code).toBe('METRIC.ALREADY_EXISTS');
    });

    it('names every invalid field (METRIC.INVALID), before looking at what exists', () => {
      const error = errorOf(
        given(created).when(
          create({ metric_key: 'bad key', name: ' ', definition: { aggregation: 'median', field: 'props.x' } }),
        ),
      );
      expect(error.code).toBe('METRIC.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual(['key', 'aggregation', 'field', 'name']);
      const percentile = errorOf(given().when(create({ definition: { aggregation: 'percentile' } })));
      expect(percentile.errors.map((e) => e.field)).toEqual(['percentile']);
    });
  });

  describe('PublishMetricVersion', () => {
    it('publishes version 2, then 3, each effective from a later instant (normalized to UTC)', () => {
      expect(given(created).when(publish('2026-03-01T00:00:00-05:00'))()).toEqual([
        published(2, '2026-03-01T05:00:00.000Z'),
      ]);
      expect(
        given(created, published(2, '2026-03-01T05:00:00.000Z')).when(publish('2026-04-01T00:00:00.000001Z'))(),
      ).toEqual([published(3, '2026-04-01T00:00:00.000001Z')]);
    });

    it('is a no-op when the latest version is sent again (a retry), in any offset', () => {
      const v2 = published(2, '2026-03-01T05:00:00.000Z');
      expect(given(created, v2).when(publish('2026-03-01T00:00:00-05:00'))()).toEqual([]);
    });

    it.each(['2026-03-01T05:00:00Z', '2026-02-01T00:00:00Z'])(
      'refuses effective_from %s, not after the previous version: METRIC.INVALID_VERSION naming effective_from',
      (effectiveFrom) => {
        const error = errorOf(
          given(created, published(2, '2026-03-01T05:00:00.000Z')).when(
            publish(effectiveFrom, { definition: { aggregation: 'max' } }),
          ),
        );
        expect(error.code).toBe('METRIC.INVALID_VERSION');
        expect(error.errors).toEqual([
          { field: 'effective_from', message: expect.stringContaining('later than version 2') },
        ]);
      },
    );

    it('refuses an invalid definition or effective_from (METRIC.INVALID naming each)', () => {
      const error = errorOf(
        given(created).when(publish('yesterday', { definition: { aggregation: 'sum', group_by: 'region' } })),
      );
      expect(error.code).toBe('METRIC.INVALID');
      expect(error.errors.map((e) => e.field)).toEqual(['group_by', 'effective_from']);
      expect(errorOf(given(created).when(publish('2026-03-01T00:00:00.0000001Z'))).errors).toEqual([
        { field: 'effective_from', message: 'must have at most microsecond precision' },
      ]);
    });

    it('refuses a version for an unknown metric (METRIC.NOT_FOUND) or an archived one (METRIC.ARCHIVED)', () => {
      expect(errorOf(given().when(publish('2026-03-01T00:00:00Z'))).code).toBe('METRIC.NOT_FOUND');
      expect(errorOf(given(created, archived).when(publish('2026-03-01T00:00:00Z'))).code).toBe('METRIC.ARCHIVED');
    });
  });

  describe('ArchiveMetric', () => {
    const archive: MetricCommand = { type: 'ArchiveMetric', metric_key: 'api_calls', at: later, used_by: [] };

    it('archives once; archiving twice records nothing', () => {
      expect(given(created).when(archive)()).toEqual([archived]);
      expect(given(created, archived).when(archive)()).toEqual([]);
    });

    it('keeps every version of an archived metric', () => {
      const state = [created, published(2, '2026-03-01T05:00:00.000Z'), archived].reduce(
        metricDecider.evolve,
        metricDecider.initialState(),
      );
      expect(state.status).toBe('archived');
      if (state.status === 'absent') throw new Error('unreachable');
      expect(state.metric.versions.map((v) => [v.version, v.effective_from])).toEqual([
        [1, null],
        [2, '2026-03-01T05:00:00.000Z'],
      ]);
      expect(state.metric.archived_at).toBe(later.toISOString());
    });

    it('refuses an unknown metric: METRIC.NOT_FOUND', () => {
      expect(errorOf(given().when(archive)).code).toBe('METRIC.NOT_FOUND');
    });

    it('refuses a metric live subscriptions use (METRIC.IN_USE, naming up to five); an archived one stays a no-op', () => {
      const users = ['sub_1', 'sub_2', 'sub_3', 'sub_4', 'sub_5', 'sub_6', 'sub_7'];
      const error = errorOf(given(created).when({ ...archive, used_by: users }));
      expect(error.code).toBe('METRIC.IN_USE');
      expect(error.message).toContain('7 live subscription(s) (sub_1, sub_2, sub_3, sub_4, sub_5, and 2 more)');
      expect(errorOf(given(created).when({ ...archive, used_by: ['sub_9'] })).message).toContain('(sub_9)');
      expect(given(created, archived).when({ ...archive, used_by: users })()).toEqual([]);
    });
  });

  it('evolve ignores a version out of sequence (replayed or duplicated event)', () => {
    const v2 = published(2, '2026-03-01T05:00:00.000Z');
    const once = [created, v2].reduce(metricDecider.evolve, metricDecider.initialState());
    expect(metricDecider.evolve(once, v2)).toBe(once);
  });
});
