import { instantOrder, metricDefinitionOf, versionInForce, type Metric, type MetricVersion } from '../catalog/metrics';
import { Dec, toDecimalString, type DecimalString } from '../decimal';
import {
  aggregatorFor,
  groupKey,
  groupValues,
  matchesFilters,
  type Aggregation,
  type AggregationState,
  type GroupValues,
  type MeteredEvent,
} from '../metering';

/*
 * Usage of one customer and one metric over a period [start, end), when the metric's definition
 * may change inside the period (a version published with an effective_from mid-period).
 *
 * Each event is metered by the version in force at ITS timestamp (versionInForce): that version's
 * filters, field and group_by. The period is then cut into SEGMENTS:
 *   - all versions in force during the period have the same aggregation (and percentile): ONE
 *     segment; the partial states of every version merge (a max stays the max of the period, an
 *     avg the avg of every event, a unique count counts each value once);
 *   - otherwise one segment per version, and the period's value is the SUM of the segments' values
 *     (null segments skipped; null only when every segment is null): the usage of a part of the
 *     period metered one way plus the usage of the rest metered the other way.
 * Groups follow the same rule per group.
 */

/** The versions of a metric in force at some instant of [start, end), in version order. */
export function versionsInPeriod(
  metric: Pick<Metric, 'versions'>,
  start: string,
  endExclusive: string,
): MetricVersion[] {
  const from = instantOrder(start);
  const to = instantOrder(endExclusive);
  return metric.versions.filter((version, index) => {
    const next = metric.versions[index + 1]?.effective_from ?? null;
    const beginsBeforeEnd = version.effective_from === null || instantOrder(version.effective_from) < to;
    const endsAfterStart = next === null || instantOrder(next) > from;
    return beginsBeforeEnd && endsAfterStart;
  });
}

export interface UsageSegment {
  /** 0-based. */
  index: number;
  aggregation: Aggregation;
  percentile?: DecimalString;
  /** Version numbers metered in this segment. */
  versions: number[];
}

/** The segments of a period, from the versions in force during it (see the rule above). */
export function usageSegments(versions: readonly MetricVersion[]): UsageSegment[] {
  if (versions.length === 0) return [];
  const [first] = versions;
  const uniform = versions.every(
    (version) => version.aggregation === first.aggregation && version.percentile === first.percentile,
  );
  if (uniform) {
    return [{ index: 0, ...aggregationOf(first), versions: versions.map((version) => version.version) }];
  }
  return versions.map((version, index) => ({ index, ...aggregationOf(version), versions: [version.version] }));
}

function aggregationOf(version: MetricVersion): { aggregation: Aggregation; percentile?: DecimalString } {
  return version.percentile === undefined
    ? { aggregation: version.aggregation }
    : { aggregation: version.aggregation, percentile: version.percentile };
}

/** The period's value from its segments' values: the one segment's, or the sum of the non-null ones. */
export function combineSegmentResults(results: ReadonlyArray<DecimalString | null>): DecimalString | null {
  if (results.length === 1) return results[0];
  const present = results.filter((result): result is DecimalString => result !== null);
  if (present.length === 0) return null;
  return toDecimalString(present.reduce((total, result) => total.plus(result), new Dec(0)));
}

/** The aggregator of a segment (filters and field do not matter for merge and result). */
export function segmentAggregator(metricKey: string, segment: UsageSegment) {
  return aggregatorFor({ key: metricKey, aggregation: segment.aggregation, percentile: segment.percentile });
}

export interface UsageGroup {
  /** JSON of [group_by names, typed values]: identity of the group (typed: "1" and 1 differ). */
  key: string;
  group: GroupValues;
  value: DecimalString | null;
}

export interface PeriodUsage {
  value: DecimalString | null;
  meter_versions: number[];
  /** Present when grouped: by the given names, or by each event's version's group_by. */
  groups?: UsageGroup[];
}

export interface PeriodUsageOptions {
  /** Group by these property names; `'metric'`: by each version's own group_by; absent: no groups. */
  groupBy?: readonly string[] | 'metric';
}

/** Identity of a group: its property names and its typed values (see groupKey). */
export function usageGroupKey(names: readonly string[], typedValuesJson: string): string {
  return `[${JSON.stringify(names)},${typedValuesJson}]`;
}

/**
 * REFERENCE implementation (pure, in memory) of a period's usage; the SQL paths of the `usage` read
 * model and of exact compute must give exactly this. `events` are the period's counted events
 * (deduplicated, not voided); events outside [start, end) are ignored.
 */
export function aggregatePeriodUsage(
  metric: Pick<Metric, 'key' | 'versions'>,
  period: { start: string; end_exclusive: string },
  events: Iterable<MeteredEvent>,
  options: PeriodUsageOptions = {},
): PeriodUsage {
  const versions = versionsInPeriod(metric, period.start, period.end_exclusive);
  const segments = usageSegments(versions);
  const segmentOf = new Map(segments.flatMap((segment) => segment.versions.map((v) => [v, segment] as const)));
  const from = instantOrder(period.start);
  const to = instantOrder(period.end_exclusive);
  const totals = new Map<number, AggregationState>();
  const groups = new Map<string, { group: GroupValues; states: Map<number, AggregationState> }>();
  for (const event of events) {
    const at = instantOrder(event.timestamp);
    if (at < from || at >= to) continue;
    const version = versionInForce(metric, event.timestamp);
    const definition = metricDefinitionOf({ key: metric.key }, version);
    if (!matchesFilters(definition, event.properties)) continue;
    const segment = segmentOf.get(version.version)!;
    const aggregator = aggregatorFor(definition);
    const merge = (state: AggregationState | undefined) => aggregator.add(state ?? aggregator.init(), event);
    totals.set(segment.index, merge(totals.get(segment.index)));
    if (options.groupBy === undefined) continue;
    const names = options.groupBy === 'metric' ? (definition.group_by ?? []) : [...options.groupBy];
    const key = usageGroupKey(names, groupKey({ group_by: names }, event.properties));
    let entry = groups.get(key);
    if (!entry) {
      entry = { group: groupValuesOf(names, event.properties), states: new Map() };
      groups.set(key, entry);
    }
    entry.states.set(segment.index, merge(entry.states.get(segment.index)));
  }
  const resultOf = (states: Map<number, AggregationState>) =>
    combineSegmentResults(
      segments.map((segment) => {
        const aggregator = segmentAggregator(metric.key, segment);
        return aggregator.result(states.get(segment.index) ?? aggregator.init());
      }),
    );
  const usage: PeriodUsage = {
    value: segments.length === 0 ? null : resultOf(totals),
    meter_versions: versions.map((version) => version.version),
  };
  if (options.groupBy !== undefined) {
    usage.groups = [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => ({ key, group: entry.group, value: resultOf(entry.states) }));
  }
  return usage;
}

function groupValuesOf(names: readonly string[], properties: MeteredEvent['properties']): GroupValues {
  return groupValues({ group_by: [...names] }, properties);
}
