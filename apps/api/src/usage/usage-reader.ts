import type { Pool, PoolClient } from 'pg';
import {
  AGGREGATIONS,
  BUCKET_MS,
  ceilTo,
  DAY_MS,
  floorTo,
  GRANULARITY_MS,
  isBucketed,
  meterSlots,
  segmentStateRow,
  SqlParams,
  stateFromRow,
  UsageAccumulator,
  usageChecksumOf,
  usageSegments,
  versionsInPeriod,
  type Aggregation,
  type HistogramGranularity,
  type MeterSlot,
  type Metric,
  type PeriodUsage,
  type StateRow,
} from '#domain';
import {
  bucketStatesSql,
  type BucketSource,
  rawResultsSql,
  rawStatesSql,
  scanChunkSql,
  seriesSourceSql,
  type Grouping,
  type SeriesKey,
} from './usage-read.sql';
import { preparedQuery } from './prepared-query';

/*
 * Reads of the `usage` read model: the eventual summary (pre-aggregated buckets), the exact scan of
 * raw rows, and histograms. No Nest in here: plain functions on pg, unit-testable against a database.
 */

export type MeteredMetric = Pick<Metric, 'key' | 'versions'>;

export interface UsagePeriod {
  /** RFC 3339 UTC, inclusive. */
  start: string;
  /** RFC 3339 UTC, exclusive. */
  end: string;
}

interface BucketStateRow extends StateRow {
  bin: Date | null;
  meter_version: number;
  aggregation: string;
  group_key: Array<string | null>;
}

interface RawStateRow extends StateRow {
  vid: number;
  gk: Array<string | null>;
}

interface RawResultRow {
  seg: number;
  kind: 'total' | 'group';
  bin: Date | null;
  gn: string[] | null;
  gk: Array<string | null> | null;
  result: string | null;
}

const iso = (date: Date) => date.toISOString();

function slotsFor(key: SeriesKey, metric: MeteredMetric, versions: readonly number[]): MeterSlot[] {
  return meterSlots([{ tenantId: key.tenantId, metric, versions }]);
}

function addRawStates(accumulator: UsageAccumulator, slots: readonly MeterSlot[], rows: RawStateRow[]) {
  const byVid = new Map(slots.map((slot) => [slot.vid, slot]));
  for (const row of rows) {
    const slot = byVid.get(row.vid)!;
    accumulator.addState(slot.version.version, row.gk, stateFromRow(slot.version.aggregation, row));
  }
}

function addRawResults(accumulator: UsageAccumulator, slots: readonly MeterSlot[], rows: RawResultRow[]) {
  const byVid = new Map(slots.map((slot) => [slot.vid, slot]));
  for (const row of rows) {
    const segment =
      row.seg === -1 ? accumulator.segments[0] : accumulator.segmentOfVersion(byVid.get(row.seg)!.version.version);
    if (segment === undefined) continue;
    const group = row.kind === 'total' ? null : { names: row.gn ?? [], typedKeys: row.gk ?? [] };
    accumulator.setResult(segment.index, group, row.result);
  }
}

/**
 * How a period is read: whole UTC days inside it from the day rows, the rest of its whole
 * 15-minute buckets from the 15-minute rows, and its partial 15-minute edges from the raw rows.
 */
export function splitPeriod(period: UsagePeriod): { buckets: BucketSource[]; edges: Array<[string, string]> } {
  const start = new Date(period.start);
  const end = new Date(period.end);
  const first = ceilTo(start, BUCKET_MS);
  const last = floorTo(end, BUCKET_MS);
  if (first >= last) return { buckets: [], edges: [[period.start, period.end]] };
  const edges: Array<[string, string]> = [];
  if (start < first) edges.push([period.start, iso(first)]);
  if (last < end) edges.push([iso(last), period.end]);
  const firstDay = ceilTo(first, DAY_MS);
  const lastDay = floorTo(last, DAY_MS);
  if (firstDay >= lastDay) return { buckets: [{ level: 'quarter', range: [iso(first), iso(last)] }], edges };
  const buckets: BucketSource[] = [{ level: 'day', range: [iso(firstDay), iso(lastDay)] }];
  if (first < firstDay) buckets.push({ level: 'quarter', range: [iso(first), iso(firstDay)] });
  if (lastDay < last) buckets.push({ level: 'quarter', range: [iso(lastDay), iso(last)] });
  return { buckets, edges };
}

export type SummarySource = 'buckets' | 'buckets_and_raw_edges' | 'raw_events';

/**
 * The eventual usage of a period: bucketed aggregations from the buckets inside it (and the raw
 * rows of its partial edge buckets, when it does not start and end on a 15-minute boundary);
 * unique_count and percentile from the raw rows (they cannot be pre-aggregated). Groups by each
 * version's group_by when the metric has one.
 *
 * `metric` may still be loading: the bucket rows do not depend on its versions (they carry their
 * meter version), so they are read at the same time, in one round trip for an aligned period.
 */
export async function summarizeUsage(
  db: Pool,
  key: SeriesKey,
  metric: MeteredMetric | Promise<MeteredMetric>,
  period: UsagePeriod,
): Promise<PeriodUsage & { source: SummarySource; grouped: boolean }> {
  const { buckets, edges } = splitPeriod(period);
  let bucketRows: Promise<BucketStateRow[]> = Promise.resolve([]);
  if (buckets.length > 0) {
    const params = new SqlParams();
    const sql = bucketStatesSql(params, key, buckets, { groups: true, aggregations: ALL_AGGREGATIONS });
    bucketRows = db.query<BucketStateRow>(preparedQuery(sql, params.values)).then((result) => result.rows);
    bucketRows.catch(() => undefined); // awaited below; a failure of the metric load must not leave it unhandled
  }
  const meter = await metric;
  const versions = versionsInPeriod(meter, period.start, period.end);
  const grouped = versions.some((v) => (v.group_by ?? []).length > 0);
  const accumulator = new UsageAccumulator(meter.key, versions, grouped ? 'metric' : undefined);
  const grouping: Grouping = grouped ? 'version' : null;
  const bucketed = versions.filter((v) => isBucketed(v.aggregation)).map((v) => v.version);
  const raw = versions.filter((v) => !isBucketed(v.aggregation)).map((v) => v.version);
  const work: Array<Promise<void>> = [
    bucketRows.then((rows) => {
      for (const row of rows) {
        const version = versions.find((v) => v.version === row.meter_version);
        if (version && isBucketed(version.aggregation)) {
          accumulator.addState(row.meter_version, row.group_key, stateFromRow(version.aggregation, row));
        }
      }
    }),
  ];
  if (bucketed.length > 0 && edges.length > 0) {
    const params = new SqlParams();
    const slots = slotsFor(key, meter, bucketed);
    const sql = rawStatesSql(params, slots, seriesSourceSql(params, key, edges), grouping);
    work.push(
      db
        .query<RawStateRow>(preparedQuery(sql, params.values))
        .then(({ rows }) => addRawStates(accumulator, slots, rows)),
    );
  }
  if (raw.length > 0) {
    const params = new SqlParams();
    const slots = slotsFor(key, meter, raw);
    const sql = rawResultsSql(params, slots, seriesSourceSql(params, key, [[period.start, period.end]]), {
      grouping,
      mixed: accumulator.segments.length > 1 ? 'true' : 'false',
    });
    work.push(
      db
        .query<RawResultRow>(preparedQuery(sql, params.values))
        .then(({ rows }) => addRawResults(accumulator, slots, rows)),
    );
  }
  await Promise.all(work);
  const source: SummarySource = raw.length > 0 ? 'raw_events' : edges.length > 0 ? 'buckets_and_raw_edges' : 'buckets';
  return { ...accumulator.finish(), source, grouped };
}

const ALL_AGGREGATIONS: ReadonlySet<Aggregation> = new Set(AGGREGATIONS);

export interface ExactUsage extends PeriodUsage {
  event_count: string;
  late_event_count: string;
  checksum: string;
}

/** [start, end) cut into `count` consecutive pieces of (about) equal duration, bounds in order. */
export function chunksOf(period: UsagePeriod, count: number): Array<[string, string]> {
  const start = new Date(period.start).getTime();
  const end = new Date(period.end).getTime();
  const pieces = Math.max(1, Math.min(count, Math.floor((end - start) / 1000)));
  const bounds = Array.from({ length: pieces + 1 }, (_, i) =>
    i === 0
      ? period.start
      : i === pieces
        ? period.end
        : iso(new Date(start + Math.floor(((end - start) * i) / pieces))),
  );
  return bounds.slice(0, -1).map((from, i) => [from, bounds[i + 1]] as [string, string]);
}

/**
 * [start, end) cut into about `count` consecutive pieces holding about as many events each, from the
 * 15-minute buckets' event counts (only a guide: every event is scanned whichever piece it falls
 * in). Without buckets (unique_count, percentile, or nothing matched), pieces of equal duration.
 */
export async function balancedChunks(
  client: PoolClient,
  key: SeriesKey,
  period: UsagePeriod,
  count: number,
): Promise<Array<[string, string]>> {
  const { rows } = await client.query<{ bucket_start: Date; events: string }>(
    preparedQuery(
      `SELECT bucket_start, sum(event_count)::text AS events FROM usage_buckets
        WHERE tenant_id = $1 AND customer_id = $2 AND metric_key = $3 AND bucket_start >= $4 AND bucket_start < $5
        GROUP BY 1 ORDER BY 1`,
      [key.tenantId, key.customerId, key.metricKey, iso(floorTo(new Date(period.start), BUCKET_MS)), period.end],
    ),
  );
  const total = rows.reduce((sum, row) => sum + Number(row.events), 0);
  if (total === 0) return chunksOf(period, count);
  const bounds = [period.start];
  let seen = 0;
  for (const row of rows) {
    // A piece ends where the next bucket would start past its share of the events.
    const share = (total * bounds.length) / count;
    const at = iso(row.bucket_start);
    if (seen >= share && at > bounds[bounds.length - 1] && at < period.end) bounds.push(at);
    seen += Number(row.events);
  }
  bounds.push(period.end);
  return bounds.slice(0, -1).map((from, i) => [from, bounds[i + 1]] as [string, string]);
}

const FAST_AGGREGATIONS = new Set(['sum', 'count', 'avg', 'min', 'max']);

interface ChunkRow {
  event_count: string;
  late_count: string;
  lines: string | null;
  [column: string]: string | null;
}

/**
 * The exact usage of a period: a complete scan of the raw rows (late ones included; duplicates were
 * never stored; voided excluded), each event metered by the version in force at its timestamp. The
 * `clients` share one snapshot (see withSharedSnapshot): the scan is cut into time chunks read in
 * parallel, and the checksum lines are hashed in chunk order.
 */
export async function scanUsage(
  clients: readonly PoolClient[],
  key: SeriesKey,
  metric: MeteredMetric,
  period: UsagePeriod,
  options: { groupBy?: readonly string[] } = {},
): Promise<ExactUsage> {
  const versions = versionsInPeriod(metric, period.start, period.end);
  const accumulator = new UsageAccumulator(metric.key, versions, options.groupBy);
  const segments = usageSegments(versions);
  const all = slotsFor(
    key,
    metric,
    versions.map((v) => v.version),
  );
  const fast = options.groupBy === undefined && segments.every((segment) => FAST_AGGREGATIONS.has(segment.aggregation));
  const segmentOf = (slot: MeterSlot) => accumulator.segmentOfVersion(slot.version.version)!;
  const chunks = await balancedChunks(clients[0], key, period, 4 * clients.length);
  const results: ChunkRow[] = new Array(chunks.length);
  let next = 0;
  const worker = async (client: PoolClient) => {
    while (next < chunks.length) {
      const index = next++;
      const params = new SqlParams();
      const source = seriesSourceSql(params, key, [chunks[index]]);
      const sql = scanChunkSql(params, source, period.end, fast ? { slots: all, segmentOf } : null);
      results[index] = (await client.query<ChunkRow>(preparedQuery(sql, params.values))).rows[0];
    }
  };
  await Promise.all(clients.map(worker));
  if (fast) addFastStates(accumulator, segments, results);
  else await meterExactly(clients, key, metric, period, accumulator, options.groupBy ?? null, all);
  const count = (column: 'event_count' | 'late_count') =>
    results.reduce((total, row) => total + BigInt(row[column] ?? '0'), 0n).toString();
  return {
    ...accumulator.finish(),
    event_count: count('event_count'),
    late_event_count: count('late_count'),
    checksum: usageChecksumOf(
      versions.map((v) => v.version),
      results.map((row) => row.lines ?? ''),
    ),
  };
}

function addFastStates(
  accumulator: UsageAccumulator,
  segments: ReturnType<typeof usageSegments>,
  rows: ChunkRow[],
): void {
  for (const segment of segments) {
    const version = segment.versions[0];
    for (const row of rows) {
      const state = segmentStateRow(segment.aggregation, row, segment.index);
      // Any version of the segment: states merge within a segment whatever the version.
      accumulator.addState(version, [], stateFromRow(segment.aggregation, state));
    }
  }
}

/** The values, when the one-pass fast path does not apply (groups, first/last, unique_count, percentile). */
async function meterExactly(
  clients: readonly PoolClient[],
  key: SeriesKey,
  metric: MeteredMetric,
  period: UsagePeriod,
  accumulator: UsageAccumulator,
  groupBy: readonly string[] | null,
  all: MeterSlot[],
): Promise<void> {
  const bucketed = all.filter((slot) => isBucketed(slot.version.aggregation));
  const raw = all.filter((slot) => !isBucketed(slot.version.aggregation));
  const work: Array<Promise<void>> = [];
  const client = (i: number) => clients[i % clients.length];
  if (bucketed.length > 0) {
    const params = new SqlParams();
    const sql = rawStatesSql(params, bucketed, seriesSourceSql(params, key, [[period.start, period.end]]), groupBy);
    work.push(
      client(0)
        .query<RawStateRow>(preparedQuery(sql, params.values))
        .then(({ rows }) => addRawStates(accumulator, bucketed, rows)),
    );
  }
  if (raw.length > 0) {
    const params = new SqlParams();
    const sql = rawResultsSql(params, raw, seriesSourceSql(params, key, [[period.start, period.end]]), {
      grouping: groupBy,
      mixed: accumulator.segments.length > 1 ? 'true' : 'false',
    });
    work.push(
      client(1)
        .query<RawResultRow>(preparedQuery(sql, params.values))
        .then(({ rows }) => addRawResults(accumulator, raw, rows)),
    );
  }
  await Promise.all(work);
  void metric;
}

export interface HistogramPoint {
  start: string;
  end: string;
  value: string | null;
}

/**
 * Usage per UTC hour or day over [from, to) (both on the granularity's boundaries): each point is
 * the usage of its own hour/day as a period (its own segments), from the buckets, or from the raw
 * rows for unique_count and percentile.
 */
export async function usageHistogram(
  db: Pool,
  key: SeriesKey,
  metric: MeteredMetric,
  range: UsagePeriod,
  granularity: HistogramGranularity,
): Promise<HistogramPoint[]> {
  const step = GRANULARITY_MS[granularity];
  const points: Array<HistogramPoint & { accumulator: UsageAccumulator }> = [];
  for (let at = new Date(range.start).getTime(); at < new Date(range.end).getTime(); at += step) {
    const [start, end] = [iso(new Date(at)), iso(new Date(at + step))];
    points.push({
      start,
      end,
      value: null,
      accumulator: new UsageAccumulator(metric.key, versionsInPeriod(metric, start, end)),
    });
  }
  const byStart = new Map(points.map((point) => [new Date(point.start).getTime(), point]));
  const versions = versionsInPeriod(metric, range.start, range.end);
  const bucketed = versions.filter((v) => isBucketed(v.aggregation));
  const raw = versions.filter((v) => !isBucketed(v.aggregation)).map((v) => v.version);
  const work: Array<Promise<void>> = [];
  if (bucketed.length > 0) {
    const params = new SqlParams();
    const sql = bucketStatesSql(
      params,
      key,
      [{ level: granularity === 'day' ? 'day' : 'quarter', range: [range.start, range.end] }],
      { groups: false, bin: granularity, aggregations: new Set(versions.map((v) => v.aggregation)) },
    );
    work.push(
      db.query<BucketStateRow>(preparedQuery(sql, params.values)).then(({ rows }) => {
        for (const row of rows) {
          const version = versions.find((v) => v.version === row.meter_version);
          const point = row.bin === null ? undefined : byStart.get(row.bin.getTime());
          if (version && point)
            point.accumulator.addState(row.meter_version, [], stateFromRow(version.aggregation, row));
        }
      }),
    );
  }
  if (raw.length > 0) {
    const mixedBins = points.filter((point) => point.accumulator.segments.length > 1).map((point) => point.start);
    const params = new SqlParams();
    const slots = slotsFor(key, metric, raw);
    const sql = rawResultsSql(params, slots, seriesSourceSql(params, key, [[range.start, range.end]]), {
      grouping: null,
      mixed: `y.bin = ANY(${params.add(mixedBins, 'timestamptz[]')})`,
      bin: granularity,
    });
    work.push(
      db.query<RawResultRow>(preparedQuery(sql, params.values)).then(({ rows }) => {
        for (const row of rows) {
          const point = row.bin === null ? undefined : byStart.get(row.bin.getTime());
          if (point) addRawResults(point.accumulator, slots, [row]);
        }
      }),
    );
  }
  await Promise.all(work);
  return points.map(({ start, end, accumulator }) => ({ start, end, value: accumulator.finish().value }));
}
