import { Dec, type DecimalString } from '../decimal';
import { matchesFilters, numericValue, resolveField } from './event-fields';
import type { Aggregation, MeteredEvent, MetricDefinition } from './metric';

/*
 * Aggregations as monoids over partial states. Every state is plain JSON with decimals as strings,
 * so a projector can store partial states per bucket and merge them later. For each aggregation:
 *   add(s, e)          folds one event in (events the metric's filters reject are ignored)
 *   merge(a, b)        combines two partial states; associative and commutative, init() is its identity
 *   result(merge(addAll(init, A), addAll(init, B))) = result(addAll(init, A ++ B)) for any split A/B
 * States are canonical (sorted sets, canonical decimals), so equal inputs give deep-equal states.
 * The laws are property-tested in aggregations.spec.ts; AGGREGATION_LAWS is their summary.
 */

export interface SumState {
  sum: DecimalString;
}
export interface CountState {
  count: DecimalString;
}
export interface ExtremumState {
  value: DecimalString | null;
}
export interface AvgState {
  sum: DecimalString;
  count: DecimalString;
}
export interface PickState {
  pick: { value: DecimalString; timestamp: string; id: string } | null;
}
/** unique_count: sorted distinct typed keys (see scalarKey). percentile: values sorted ascending. */
export interface ValuesState {
  values: string[];
}

export interface AggregationStates {
  sum: SumState;
  count: CountState;
  min: ExtremumState;
  max: ExtremumState;
  avg: AvgState;
  first: PickState;
  last: PickState;
  unique_count: ValuesState;
  percentile: ValuesState;
}
export type AggregationState = AggregationStates[Aggregation];

export interface Aggregator<S> {
  readonly aggregation: Aggregation;
  init(): S;
  /** Pure: returns a new state. */
  add(state: S, event: MeteredEvent): S;
  /** `add` over many events, copying the state once. */
  addAll(state: S, events: Iterable<MeteredEvent>): S;
  merge(a: S, b: S): S;
  /** Decimal string; null for an empty min/max/avg/first/last/percentile (no event had a value). */
  result(state: S): DecimalString | null;
}

/** The numeric values an aggregation reads from events it accepts, in input order. */
export function* acceptedValues(
  metric: MetricDefinition,
  events: Iterable<MeteredEvent>,
): Generator<{ event: MeteredEvent; value: Dec }> {
  for (const event of events) {
    if (!matchesFilters(metric, event.properties)) continue;
    const value = numericValue(resolveField(metric, event));
    if (value !== null) yield { event, value };
  }
}

export function build<S>(
  aggregation: Aggregation,
  spec: {
    init(): S;
    addAll(state: S, events: Iterable<MeteredEvent>): S;
    merge(a: S, b: S): S;
    result(state: S): DecimalString | null;
  },
): Aggregator<S> {
  return { aggregation, ...spec, add: (state, event) => spec.addAll(state, [event]) };
}
