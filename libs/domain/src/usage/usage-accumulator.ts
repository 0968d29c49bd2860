import type { MetricVersion } from '../catalog/metrics';
import { Dec, toDecimalString, type DecimalString } from '../decimal';
import { type Aggregation, type AggregationState, type GroupValues } from '../metering';
import {
  combineSegmentResults,
  segmentAggregator,
  usageGroupKey,
  usageSegments,
  type PeriodUsage,
  type UsageSegment,
} from './period-usage';

/**
 * Turns partial states and results computed in SQL into a period's usage, with the domain's own
 * merge and result functions and the segment rule of period-usage.ts. The SQL side supplies:
 *   - for bucketed aggregations, partial states per (version, group) (addState);
 *   - for unique_count and percentile, final results per segment and per (segment, group) (setResult).
 */

/** Mergeable partial state columns, as the SQL paths return them (decimals and instants as text). */
export interface StateRow {
  event_count: string;
  value_count: string;
  value_sum: string | null;
  extremum: string | null;
  /** RFC 3339 with microseconds. */
  pick_ts: string | null;
  pick_id: string | null;
  pick_value: string | null;
}

const canonical = (text: string) => toDecimalString(new Dec(text));

/** The domain partial state a StateRow stands for, for an aggregation of fixed-size state. */
export function stateFromRow(aggregation: Aggregation, row: StateRow): AggregationState {
  switch (aggregation) {
    case 'sum':
      return { sum: canonical(row.value_sum ?? '0') };
    case 'count':
      return { count: BigInt(row.event_count).toString() };
    case 'avg':
      return { sum: canonical(row.value_sum ?? '0'), count: BigInt(row.value_count).toString() };
    case 'min':
    case 'max':
      return { value: row.extremum === null ? null : canonical(row.extremum) };
    case 'first':
    case 'last':
      return {
        pick:
          row.pick_ts === null || row.pick_id === null || row.pick_value === null
            ? null
            : { value: canonical(row.pick_value), timestamp: row.pick_ts, id: row.pick_id },
      };
    case 'unique_count':
    case 'percentile':
      throw new Error(`${aggregation} has no fixed-size partial state`);
    default: {
      const unknown: never = aggregation;
      throw new Error(`unknown aggregation ${String(unknown)}`);
    }
  }
}

/** "s:eu" -> "eu", "n:1.5" -> "1.5", "b:true" -> "true", null -> null (groupValueOf). */
export function groupValueOfTypedKey(typedKey: string | null): string | null {
  return typedKey === null ? null : typedKey.slice(2);
}

interface GroupEntry {
  group: GroupValues;
  states: Map<number, AggregationState>;
  results: Map<number, DecimalString | null>;
}

export class UsageAccumulator {
  readonly segments: UsageSegment[];
  private readonly segmentOf: Map<number, UsageSegment>;
  private readonly versions: Map<number, MetricVersion>;
  private readonly totals: GroupEntry = { group: {}, states: new Map(), results: new Map() };
  private readonly groups = new Map<string, GroupEntry>();

  constructor(
    private readonly metricKey: string,
    versionsInPeriod: readonly MetricVersion[],
    /** Group by these names; 'metric': each version's group_by; undefined: no groups. */
    private readonly groupBy?: readonly string[] | 'metric',
  ) {
    this.segments = usageSegments(versionsInPeriod);
    this.segmentOf = new Map(this.segments.flatMap((s) => s.versions.map((v) => [v, s] as const)));
    this.versions = new Map(versionsInPeriod.map((v) => [v.version, v]));
  }

  /** The segment metering `version` in this period. */
  segmentOfVersion(version: number): UsageSegment | undefined {
    return this.segmentOf.get(version);
  }

  /** Group names of a version's events. */
  groupNamesOf(version: number): readonly string[] {
    if (this.groupBy === undefined) return [];
    return this.groupBy === 'metric' ? (this.versions.get(version)?.group_by ?? []) : this.groupBy;
  }

  /** A partial state of `version`'s events in the group with these typed keys (see groupKeySql). */
  addState(version: number, typedKeys: ReadonlyArray<string | null>, state: AggregationState): void {
    const segment = this.segmentOf.get(version);
    if (segment === undefined) return; // not in force during the period: never happens for rows of it
    const aggregator = segmentAggregator(this.metricKey, segment);
    const merge = (entry: GroupEntry) =>
      entry.states.set(segment.index, aggregator.merge(entry.states.get(segment.index) ?? aggregator.init(), state));
    merge(this.totals);
    if (this.groupBy !== undefined) merge(this.entry(this.groupNamesOf(version), typedKeys));
  }

  /** A final result of a segment computed elsewhere: the total (group null), or one group's. */
  setResult(
    segmentIndex: number,
    group: { names: readonly string[]; typedKeys: ReadonlyArray<string | null> } | null,
    result: DecimalString | null,
  ): void {
    const entry = group === null ? this.totals : this.entry(group.names, group.typedKeys);
    entry.results.set(segmentIndex, result);
  }

  finish(): PeriodUsage {
    const usage: PeriodUsage = {
      value: this.segments.length === 0 ? null : this.resultOf(this.totals),
      meter_versions: [...this.versions.keys()].sort((a, b) => a - b),
    };
    if (this.groupBy !== undefined) {
      usage.groups = [...this.groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, entry]) => ({ key, group: entry.group, value: this.resultOf(entry) }));
    }
    return usage;
  }

  private entry(names: readonly string[], typedKeys: ReadonlyArray<string | null>): GroupEntry {
    const key = usageGroupKey(names, JSON.stringify(typedKeys));
    let entry = this.groups.get(key);
    if (!entry) {
      const group: GroupValues = {};
      names.forEach((name, index) => (group[name] = groupValueOfTypedKey(typedKeys[index] ?? null)));
      entry = { group, states: new Map(), results: new Map() };
      this.groups.set(key, entry);
    }
    return entry;
  }

  private resultOf(entry: GroupEntry): DecimalString | null {
    return combineSegmentResults(
      this.segments.map((segment) => {
        if (entry.results.has(segment.index)) return entry.results.get(segment.index)!;
        const aggregator = segmentAggregator(this.metricKey, segment);
        return aggregator.result(entry.states.get(segment.index) ?? aggregator.init());
      }),
    );
  }
}
