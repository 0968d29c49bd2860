import type { DecimalString } from '../decimal';
import type { AggregationState } from './aggregator';
import { aggregatorFor } from './aggregations';
import { groupKey, groupValues, matchesFilters, type GroupValues } from './event-fields';
import type { MeteredEvent, MetricDefinition } from './metric';

/** One-shot aggregation of every event (filters applied, group_by ignored). */
export function aggregate(metric: MetricDefinition, events: Iterable<MeteredEvent>): DecimalString | null {
  const aggregator = aggregatorFor(metric);
  return aggregator.result(aggregator.addAll(aggregator.init(), events));
}

export interface GroupedAggregate {
  /** groupKey() of the group. */
  key: string;
  group: GroupValues;
  value: DecimalString | null;
}

/**
 * One-shot aggregation per `group_by` group, for the events that pass the filters. Groups are
 * returned sorted by key, so the output is deterministic whatever the event order.
 */
export function aggregateGrouped(metric: MetricDefinition, events: Iterable<MeteredEvent>): GroupedAggregate[] {
  const aggregator = aggregatorFor(metric);
  const groups = new Map<string, { group: GroupValues; events: MeteredEvent[] }>();
  for (const event of events) {
    if (!matchesFilters(metric, event.properties)) continue;
    const key = groupKey(metric, event.properties);
    let entry = groups.get(key);
    if (!entry) {
      entry = { group: groupValues(metric, event.properties), events: [] };
      groups.set(key, entry);
    }
    entry.events.push(event);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, entry]) => {
      const state: AggregationState = aggregator.addAll(aggregator.init(), entry.events);
      return { key, group: entry.group, value: aggregator.result(state) };
    });
}

/**
 * The quantity pricing uses for an aggregation result: an empty min/max/avg/first/last/percentile
 * (null: no event carried a value) is zero usage.
 */
export function usageQuantity(result: DecimalString | null): DecimalString {
  return result ?? '0';
}
