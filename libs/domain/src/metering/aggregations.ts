import { Dec, toDecimalString, type DecimalString } from '../decimal';
import {
  acceptedValues,
  build,
  type AggregationState,
  type Aggregator,
  type AvgState,
  type CountState,
  type ExtremumState,
  type PickState,
  type SumState,
  type ValuesState,
} from './aggregator';
import { compareByTimeThenId, matchesFilters, resolveField, scalarKey } from './event-fields';
import { MeteringError, type Aggregation, type MetricDefinition } from './metric';
import { percentileAggregator } from './percentile';

export type PartialStateShape = 'constant' | 'distinct_set' | 'raw_values';

export interface AggregationLaw {
  /** Size of a partial state: constant, one entry per distinct value, or every raw value. */
  partial_state: PartialStateShape;
  /** How two partial states combine. */
  merge: string;
  /** merge(a, a) = a: re-merging the same partial state is harmless (duplicates are not). */
  idempotent: boolean;
  /** Safe to pre-aggregate into fixed-size rows per bucket (the eventual usage path). */
  pre_aggregatable: boolean;
  /** result() with no events. */
  empty_result: '0' | null;
}

export const AGGREGATION_LAWS: Readonly<Record<Aggregation, AggregationLaw>> = {
  sum: {
    partial_state: 'constant',
    merge: 'a.sum + b.sum',
    idempotent: false,
    pre_aggregatable: true,
    empty_result: '0',
  },
  count: {
    partial_state: 'constant',
    merge: 'a.count + b.count',
    idempotent: false,
    pre_aggregatable: true,
    empty_result: '0',
  },
  min: { partial_state: 'constant', merge: 'min(a, b)', idempotent: true, pre_aggregatable: true, empty_result: null },
  max: { partial_state: 'constant', merge: 'max(a, b)', idempotent: true, pre_aggregatable: true, empty_result: null },
  avg: {
    partial_state: 'constant',
    merge: '(a.sum + b.sum, a.count + b.count); result = sum / count',
    idempotent: false,
    pre_aggregatable: true,
    empty_result: null,
  },
  first: {
    partial_state: 'constant',
    merge: 'earliest by (timestamp, id)',
    idempotent: true,
    pre_aggregatable: true,
    empty_result: null,
  },
  last: {
    partial_state: 'constant',
    merge: 'latest by (timestamp, id)',
    idempotent: true,
    pre_aggregatable: true,
    empty_result: null,
  },
  unique_count: {
    partial_state: 'distinct_set',
    merge: 'a.values ∪ b.values',
    idempotent: true,
    pre_aggregatable: false,
    empty_result: '0',
  },
  percentile: {
    partial_state: 'raw_values',
    merge: 'a.values ⊎ b.values (multiset union)',
    idempotent: false,
    pre_aggregatable: false,
    empty_result: null,
  },
};

/** Decimals of an `avg` result: DECIMAL(20,10), rounded half away from zero like PostgreSQL round(). */
export const AVG_SCALE = 10;

function sumAggregator(metric: MetricDefinition): Aggregator<SumState> {
  return build<SumState>('sum', {
    init: () => ({ sum: '0' }),
    addAll: (state, events) => {
      let total = new Dec(state.sum);
      for (const { value } of acceptedValues(metric, events)) total = total.plus(value);
      return { sum: toDecimalString(total) };
    },
    merge: (a, b) => ({ sum: toDecimalString(new Dec(a.sum).plus(b.sum)) }),
    result: (state) => state.sum,
  });
}

function countAggregator(metric: MetricDefinition): Aggregator<CountState> {
  return build<CountState>('count', {
    init: () => ({ count: '0' }),
    addAll: (state, events) => {
      // count counts matching events, whatever their field holds.
      let count = BigInt(state.count);
      for (const event of events) if (matchesFilters(metric, event.properties)) count += 1n;
      return { count: count.toString() };
    },
    merge: (a, b) => ({ count: (BigInt(a.count) + BigInt(b.count)).toString() }),
    result: (state) => state.count,
  });
}

function extremumAggregator(metric: MetricDefinition, aggregation: 'min' | 'max'): Aggregator<ExtremumState> {
  const better = (a: Dec, b: Dec) => (aggregation === 'min' ? a.lessThan(b) : a.greaterThan(b));
  const pick = (a: DecimalString | null, b: DecimalString | null): DecimalString | null =>
    a === null ? b : b === null ? a : better(new Dec(b), new Dec(a)) ? b : a;
  return build<ExtremumState>(aggregation, {
    init: () => ({ value: null }),
    addAll: (state, events) => {
      let best = state.value === null ? null : new Dec(state.value);
      for (const { value } of acceptedValues(metric, events)) if (best === null || better(value, best)) best = value;
      return { value: best === null ? null : toDecimalString(best) };
    },
    merge: (a, b) => ({ value: pick(a.value, b.value) }),
    result: (state) => state.value,
  });
}

function avgAggregator(metric: MetricDefinition): Aggregator<AvgState> {
  return build<AvgState>('avg', {
    init: () => ({ sum: '0', count: '0' }),
    addAll: (state, events) => {
      let sum = new Dec(state.sum);
      let count = BigInt(state.count);
      for (const { value } of acceptedValues(metric, events)) {
        sum = sum.plus(value);
        count += 1n;
      }
      return { sum: toDecimalString(sum), count: count.toString() };
    },
    merge: (a, b) => ({
      sum: toDecimalString(new Dec(a.sum).plus(b.sum)),
      count: (BigInt(a.count) + BigInt(b.count)).toString(),
    }),
    result: (state) =>
      state.count === '0'
        ? null
        : toDecimalString(new Dec(state.sum).dividedBy(state.count).toDecimalPlaces(AVG_SCALE, Dec.ROUND_HALF_UP)),
  });
}

/**
 * first / last: the value of the earliest / latest event by timestamp, ties broken by event id
 * (first takes the smallest id, last the largest), so the answer never depends on arrival order.
 */
function pickAggregator(metric: MetricDefinition, aggregation: 'first' | 'last'): Aggregator<PickState> {
  const wins = (candidate: { timestamp: string; id: string }, current: { timestamp: string; id: string }) => {
    const order = compareByTimeThenId(candidate, current);
    return aggregation === 'first' ? order < 0 : order > 0;
  };
  return build<PickState>(aggregation, {
    init: () => ({ pick: null }),
    addAll: (state, events) => {
      let pick = state.pick;
      for (const { event, value } of acceptedValues(metric, events)) {
        const candidate = { value: toDecimalString(value), timestamp: event.timestamp, id: event.id };
        if (pick === null || wins(candidate, pick)) pick = candidate;
      }
      return { pick };
    },
    merge: (a, b) => ({
      pick: a.pick === null ? b.pick : b.pick === null ? a.pick : wins(b.pick, a.pick) ? b.pick : a.pick,
    }),
    result: (state) => state.pick?.value ?? null,
  });
}

function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** unique_count: distinct values of the field, compared as typed scalars (1 = 1.0, "1" != 1). */
function uniqueCountAggregator(metric: MetricDefinition): Aggregator<ValuesState> {
  return build<ValuesState>('unique_count', {
    init: () => ({ values: [] }),
    addAll: (state, events) => {
      const values = new Set(state.values);
      for (const event of events) {
        if (!matchesFilters(metric, event.properties)) continue;
        const value = resolveField(metric, event);
        if (value !== undefined) values.add(scalarKey(value));
      }
      return { values: [...values].sort() };
    },
    merge: (a, b) => ({ values: sortedUnion(a.values, b.values) }),
    result: (state) => String(state.values.length),
  });
}

/** The aggregator of a metric definition. */
export function aggregatorFor(metric: MetricDefinition): Aggregator<AggregationState> {
  return aggregatorOf(metric) as Aggregator<AggregationState>;
}

function aggregatorOf(metric: MetricDefinition): unknown {
  switch (metric.aggregation) {
    case 'sum':
      return sumAggregator(metric);
    case 'count':
      return countAggregator(metric);
    case 'min':
      return extremumAggregator(metric, 'min');
    case 'max':
      return extremumAggregator(metric, 'max');
    case 'avg':
      return avgAggregator(metric);
    case 'first':
      return pickAggregator(metric, 'first');
    case 'last':
      return pickAggregator(metric, 'last');
    case 'unique_count':
      return uniqueCountAggregator(metric);
    case 'percentile':
      return percentileAggregator(metric);
    default: {
      const unknown: never = metric.aggregation;
      throw new MeteringError('METERING.INVALID_METRIC', `unknown aggregation "${String(unknown)}"`, 'aggregation');
    }
  }
}
