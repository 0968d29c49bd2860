import {
  USAGE_RECORDED,
  USAGE_VOIDED,
  aggregatorFor,
  combineSegmentResults,
  groupKey,
  groupValues,
  instantKey,
  matchesFilters,
  metricDefinitionOf,
  segmentAggregator,
  toGroupedUsage,
  usageChecksumOf,
  usageGroupKey,
  usageQuantity,
  usageSegments,
  versionsInPeriod,
  type AggregationState,
  type Aggregator,
  type BillingPeriod,
  type ChargeUsage,
  type GroupValues,
  type MeteredEvent,
  type Metric,
  type MetricDefinition,
  type MetricVersion,
  type UsageMeasure,
  type UsageSegment,
} from '#domain';
import { canonicalDecimal, countable, propertiesRecord, versionLookup, type Countable } from './usage-counting';
import { propertiesOf, type UsageLogEvent, type UsagePage } from './usage-log-reader';

/*
 * The usage of a calculation's charges, computed WHILE the usage streams are read in log order, with
 * the domain's rules and functions (countedUsageEvents, then chargeUsageOf for each measure):
 *
 *   - counting: the first UsageRecorded of an idempotency key or usage id counts; malformed ones never;
 *     a UsageVoided removes the counted event with its id if that came before it. Only the keys and
 *     ids seen are held, not the events.
 *   - metering: each page's counted events of the window are aggregated per (metric version, group)
 *     with the domain aggregator's addAll, then merged (the domain's merge) into per-page partial
 *     states per (segment, group). A page with a voided event is READ AGAIN at the end and its states
 *     rebuilt without it: partial states cannot subtract an event (a max, a percentile), pages can be
 *     recomputed. The pages' states are merged in a balanced tree (merge is associative and
 *     commutative: AGGREGATION_LAWS), and each segment's result and the segments' combination are
 *     the domain's.
 *   - the usage checksum: one compact line per counted event of the window (instant key, id, value),
 *     sorted only if the log did not already give them in (timestamp, usage_id) order.
 */

/** Offsets inside a page stay below this: a counted event's reference is page × span + offset. */
export const MAX_PAGE_EVENTS = 2 ** 20;
const INSTANT_KEY_LENGTH = instantKey('2000-01-01T00:00:00Z').length;
const UUID_LENGTH = 36;
const TOTAL = -1;

interface MeteredMetric {
  index: number;
  metric: Pick<Metric, 'key' | 'versions'>;
  meterVersions: number[];
  segments: UsageSegment[];
  segmentOf: Map<number, UsageSegment>;
  versionAt: (at: string) => MetricVersion;
  /** Each version's definition and domain aggregator (its filters and field); each segment's (merge, result). */
  definitions: Map<number, MetricDefinition>;
  versionAggregators: Map<number, Aggregator<AggregationState>>;
  segmentAggregators: Array<Aggregator<AggregationState>>;
  /** The distinct dimension lists of the measures on this metric (matrix charges). */
  groupings: string[][];
  needsProperties: boolean;
  /** Checksum lines: instantKey + usage id + ":" + value + "\n". */
  lines: string[];
  linesSorted: boolean;
  checksum: string | null;
}

interface Bucket {
  metric: MeteredMetric;
  grouping: number;
  version: number;
  group: string;
  values: GroupValues | null;
  events: MeteredEvent[];
}

interface PartialState {
  metric: MeteredMetric;
  grouping: number;
  segment: number;
  group: string;
  values: GroupValues | null;
  state: AggregationState;
}

export class StreamingUsage {
  readonly needsProperties: boolean;
  private readonly metrics = new Map<string, MeteredMetric>();
  private readonly from: string;
  private readonly to: string;
  private readonly keys = new Set<string>();
  /** Counted usage ids (lowercase) -> page × MAX_PAGE_EVENTS + offset of the event that counts. */
  private readonly ids = new Map<string, number>();
  private readonly voided = new Set<string>();
  private readonly dirty = new Set<number>();
  private readonly recomputed = new Set<number>();
  private readonly buckets = new Map<number, Map<string, Bucket>>();
  private readonly states = new Map<number, Map<string, PartialState>>();
  private lastBucket: { page: number; bucket: Bucket } | null = null;

  constructor(
    private readonly measures: readonly UsageMeasure[],
    metrics: ReadonlyMap<string, Pick<Metric, 'key' | 'versions'>>,
    window: BillingPeriod,
  ) {
    this.from = instantKey(window.start);
    this.to = instantKey(window.end_exclusive);
    for (const measure of measures) {
      if (this.metrics.has(measure.metric_key)) continue;
      const metric = metrics.get(measure.metric_key);
      if (!metric)
        throw new Error(`metric ${measure.metric_key} named by the subscription's charges is not in the log`);
      this.metrics.set(metric.key, this.meteredMetric(this.metrics.size, metric, window));
    }
    this.needsProperties = [...this.metrics.values()].some((metric) => metric.needsProperties);
  }

  private meteredMetric(index: number, metric: Pick<Metric, 'key' | 'versions'>, window: BillingPeriod): MeteredMetric {
    const inPeriod = versionsInPeriod(metric, window.start, window.end_exclusive);
    const segments = usageSegments(inPeriod);
    const groupings = new Map<string, string[]>();
    for (const measure of this.measures) {
      if (measure.metric_key !== metric.key || measure.dimensions === undefined) continue;
      groupings.set(JSON.stringify(measure.dimensions), [...measure.dimensions]);
    }
    const definitions = new Map(
      metric.versions.map((version) => [version.version, metricDefinitionOf(metric, version)]),
    );
    return {
      index,
      metric,
      meterVersions: inPeriod.map((version) => version.version),
      segments,
      segmentOf: new Map(segments.flatMap((segment) => segment.versions.map((v) => [v, segment] as const))),
      versionAt: versionLookup(metric),
      definitions,
      versionAggregators: new Map(
        [...definitions].map(([version, definition]) => [version, aggregatorFor(definition)]),
      ),
      segmentAggregators: segments.map((segment) => segmentAggregator(metric.key, segment)),
      groupings: [...groupings.values()],
      needsProperties:
        groupings.size > 0 ||
        metric.versions.some(
          (version) =>
            (version.filters !== undefined && Object.keys(version.filters).length > 0) ||
            (version.field !== undefined && version.field !== 'value'),
        ),
      lines: [],
      linesSorted: true,
      checksum: null,
    };
  }

  /** One event of the usage streams, in log order. */
  add(event: UsageLogEvent, page: UsagePage, offset: number): void {
    if (event.type === USAGE_RECORDED) {
      const counted = countable(event);
      if (counted === null) return;
      // Three hash operations, not four (a million events: it shows): add the key and see whether
      // it was new; a repeated usage id takes the key back out, as if it had never been added.
      const key = event.idempotency_key!;
      const keysBefore = this.keys.size;
      if (this.keys.add(key).size === keysBefore) return;
      if (this.ids.has(counted.usageId)) {
        this.keys.delete(key);
        return;
      }
      this.ids.set(counted.usageId, page.index * MAX_PAGE_EVENTS + offset);
      this.meter(event, counted, page.index, true);
    } else if (event.type === USAGE_VOIDED && event.usage_id !== null) {
      const usageId = event.usage_id.toLowerCase();
      const ref = this.ids.get(usageId);
      if (ref === undefined || this.voided.has(usageId)) return;
      this.voided.add(usageId);
      this.dirty.add(Math.floor(ref / MAX_PAGE_EVENTS));
    }
  }

  /** A counted event: its checksum line, then into its page's bucket (chargeUsageOf's rules). */
  private meter(event: UsageLogEvent, counted: Countable, page: number, withLine: boolean): void {
    const metered = this.metrics.get(event.metric_key!);
    if (metered === undefined || counted.at < this.from || counted.at >= this.to) return;
    if (withLine) {
      const line = `${counted.at}${counted.usageId}:${canonicalDecimal(event.value!)}\n`;
      const { lines } = metered;
      if (lines.length > 0 && line < lines[lines.length - 1]) metered.linesSorted = false;
      lines.push(line);
    }
    const version = metered.versionAt(counted.at);
    const properties = metered.needsProperties ? propertiesRecord(propertiesOf(event)) : {};
    if (!matchesFilters(metered.definitions.get(version.version)!, properties)) return;
    const one: MeteredEvent = { id: counted.usageId, timestamp: event.timestamp!, value: event.value!, properties };
    this.bucket(page, metered, TOTAL, version.version, '', null).events.push(one);
    metered.groupings.forEach((names, grouping) => {
      const key = usageGroupKey(names, groupKey({ group_by: names }, properties));
      const values = () => groupValues({ group_by: names }, properties);
      this.bucket(page, metered, grouping, version.version, key, values).events.push(one);
    });
  }

  private bucket(
    page: number,
    metric: MeteredMetric,
    grouping: number,
    version: number,
    group: string,
    values: (() => GroupValues) | null,
  ): Bucket {
    // Consecutive events mostly land in the same bucket: no key to build then.
    const last = this.lastBucket;
    if (last !== null && last.page === page && grouping === TOTAL && last.bucket.metric === metric) {
      if (last.bucket.version === version) return last.bucket;
    }
    const bucket = this.findBucket(page, metric, grouping, version, group, values);
    if (grouping === TOTAL) this.lastBucket = { page, bucket };
    return bucket;
  }

  private findBucket(
    page: number,
    metric: MeteredMetric,
    grouping: number,
    version: number,
    group: string,
    values: (() => GroupValues) | null,
  ): Bucket {
    let buckets = this.buckets.get(page);
    if (buckets === undefined) this.buckets.set(page, (buckets = new Map()));
    const key = `${metric.index}|${grouping}|${version}|${group}`;
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { metric, grouping, version, group, values: values === null ? null : values(), events: [] };
      buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Every event of the page has been added: its buckets become partial states per segment and group. */
  endPage(page: UsagePage): void {
    const buckets = this.buckets.get(page.index);
    this.buckets.delete(page.index);
    if (this.lastBucket?.page === page.index) this.lastBucket = null;
    if (buckets === undefined) return;
    const states = new Map<string, PartialState>();
    for (const bucket of buckets.values()) {
      const { metric } = bucket;
      const segment = metric.segmentOf.get(bucket.version);
      if (segment === undefined) throw new Error(`version ${bucket.version} of ${metric.metric.key} is not in force`);
      const aggregator = metric.versionAggregators.get(bucket.version)!;
      const state = aggregator.addAll(aggregator.init(), bucket.events);
      const key = `${metric.index}|${bucket.grouping}|${segment.index}|${bucket.group}`;
      const existing = states.get(key);
      const merge = metric.segmentAggregators[segment.index].merge;
      if (existing === undefined) {
        states.set(key, { ...bucket, segment: segment.index, state });
      } else existing.state = merge(existing.state, state);
    }
    this.states.set(page.index, states);
  }

  /** Pages whose states include an event voided later: each must be read again and recompute()d. */
  get pagesToReread(): number[] {
    return [...this.dirty].filter((page) => !this.recomputed.has(page)).sort((a, b) => a - b);
  }

  /** A page read again (same stream, revisions, length): its states rebuilt without the voided events. */
  recompute(page: UsagePage): void {
    this.recomputed.add(page.index);
    this.states.delete(page.index);
    page.events.forEach((event, offset) => {
      if (event.type !== USAGE_RECORDED) return;
      const counted = countable(event);
      if (counted === null || this.voided.has(counted.usageId)) return;
      if (this.ids.get(counted.usageId) !== page.index * MAX_PAGE_EVENTS + offset) return;
      this.meter(event, counted, page.index, false);
    });
    this.endPage(page);
  }

  /** Each measure's ChargeUsage, in measure order (after every page ended and was recomputed). */
  finish(): ChargeUsage[] {
    if (this.pagesToReread.length > 0) throw new Error('a page with a voided event was not recomputed');
    const merged = this.mergedStates();
    return this.measures.map((measure) => {
      const metric = this.metrics.get(measure.metric_key)!;
      const resultOf = (grouping: number, group: string) =>
        combineSegmentResults(
          metric.segments.map((segment) => {
            const aggregator = metric.segmentAggregators[segment.index];
            const partial = merged.get(`${metric.index}|${grouping}|${segment.index}|${group}`);
            return aggregator.result(partial?.state ?? aggregator.init());
          }),
        );
      const value = metric.segments.length === 0 ? null : resultOf(TOTAL, '');
      let groups: ChargeUsage['groups'] = null;
      if (measure.dimensions !== undefined) {
        const grouping = metric.groupings.findIndex((names) => sameNames(names, measure.dimensions!));
        groups = toGroupedUsage(this.groupsOf(merged, metric, grouping, resultOf));
      }
      return {
        charge_key: measure.key,
        metric_key: measure.metric_key,
        quantity: usageQuantity(value),
        groups,
        meter_versions: metric.meterVersions,
        usage_checksum: this.checksumOf(metric),
      };
    });
  }

  private groupsOf(
    merged: Map<string, PartialState>,
    metric: MeteredMetric,
    grouping: number,
    resultOf: (grouping: number, group: string) => string | null,
  ) {
    const groups = new Map<string, GroupValues>();
    for (const partial of merged.values()) {
      if (partial.metric === metric && partial.grouping === grouping) groups.set(partial.group, partial.values!);
    }
    return [...groups.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, group]) => ({ key, group, value: resultOf(grouping, key) }));
  }

  /** Every page's states merged per (metric, grouping, segment, group), pairwise in a balanced tree. */
  private mergedStates(): Map<string, PartialState> {
    const parts = new Map<string, PartialState[]>();
    const pages = [...this.states.keys()].sort((a, b) => a - b);
    for (const page of pages) {
      for (const [key, partial] of this.states.get(page)!) {
        const list = parts.get(key);
        if (list === undefined) parts.set(key, [partial]);
        else list.push(partial);
      }
    }
    const merged = new Map<string, PartialState>();
    for (const [key, list] of parts) {
      let level = list;
      while (level.length > 1) {
        const next: PartialState[] = [];
        for (let i = 0; i < level.length; i += 2) {
          const [a, b] = [level[i], level[i + 1]];
          const merge = a.metric.segmentAggregators[a.segment].merge;
          next.push(b === undefined ? a : { ...a, state: merge(a.state, b.state) });
        }
        level = next;
      }
      merged.set(key, level[0]);
    }
    return merged;
  }

  /** usageChecksum over the window's counted events of the metric, from the compact lines. */
  private checksumOf(metric: MeteredMetric): string {
    if (metric.checksum !== null) return metric.checksum;
    let lines = metric.lines;
    if (this.voided.size > 0) {
      lines = lines.filter(
        (line) => !this.voided.has(line.slice(INSTANT_KEY_LENGTH, INSTANT_KEY_LENGTH + UUID_LENGTH)),
      );
    }
    // Sorting the whole lines is sorting by (instant key, usage id): both are fixed-width and unique per event.
    if (!metric.linesSorted) lines = [...lines].sort();
    metric.checksum = usageChecksumOf(metric.meterVersions, withoutSortKeys(lines));
    metric.lines = [];
    return metric.checksum;
  }
}

/** The lines without their sort keys, a few thousand per chunk: one hash update per chunk, not per line. */
function* withoutSortKeys(lines: readonly string[]): Generator<string> {
  const CHUNK = 4096;
  for (let from = 0; from < lines.length; from += CHUNK) {
    let chunk = '';
    for (let i = from; i < Math.min(lines.length, from + CHUNK); i++) chunk += lines[i].slice(INSTANT_KEY_LENGTH);
    yield chunk;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}
