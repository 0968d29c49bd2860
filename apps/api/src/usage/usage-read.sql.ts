import {
  instantTextSql,
  meteredRowsSql,
  perSlot,
  stateColumnsSql,
  vidList,
  type Aggregation,
  type BucketLevel,
  type HistogramGranularity,
  type MeterSlot,
  type SqlParams,
  type UsageSegment,
  segmentStateColumns,
} from '#domain';

/*
 * The SQL of the usage reads, on the `usage` read model's views (usage_events, usage_buckets). Pure:
 * builds text and parameters with the domain's metering expressions (libs/domain/src/usage/metering-sql.ts).
 */

export interface SeriesKey {
  tenantId: string;
  customerId: string;
  metricKey: string;
}

export type Grouping = 'version' | readonly string[] | null;

/** Raw counted rows of one series in some [from, until) ranges (UNION ALL: each range its own index scan). */
export function seriesSourceSql(params: SqlParams, key: SeriesKey, ranges: ReadonlyArray<readonly [string, string]>) {
  const tenant = params.add(key.tenantId, 'text');
  const customer = params.add(key.customerId, 'text');
  const metric = params.add(key.metricKey, 'text');
  if (ranges.length === 0) return `SELECT * FROM usage_events WHERE false`;
  return ranges
    .map(
      ([from, until]) => `SELECT tenant_id, usage_id, customer_id, metric_key, ts, value, properties, recorded_at
         FROM usage_events
        WHERE tenant_id = ${tenant} AND customer_id = ${customer} AND metric_key = ${metric}
          AND ts >= ${params.add(from, 'timestamptz')} AND ts < ${params.add(until, 'timestamptz')}
          AND voided_at IS NULL`,
    )
    .join(' UNION ALL ');
}

/** The state columns of StateRow, as text, from columns named like stateColumnsSql's (built on call: no work at module load). */
const stateText =
  () => `event_count::text AS event_count, value_count::text AS value_count, value_sum::text AS value_sum,
  extremum::text AS extremum, ${instantTextSql('pick_ts')} AS pick_ts, pick_id::text AS pick_id,
  pick_value::text AS pick_value`;

/** Mergeable partial states of raw rows per (vid, group key): rows `{ vid, gk, ...StateRow }`. */
export function rawStatesSql(params: SqlParams, slots: MeterSlot[], source: string, grouping: Grouping): string {
  const metered = meteredRowsSql(slots, params, source, { byMetric: false, groupBy: grouping });
  return `SELECT vid, gk, ${stateText()} FROM (
      SELECT x.vid, x.gk, ${stateColumnsSql(slots)}
        FROM (${metered}) x WHERE x.vid IN (${vidList(slots)}) GROUP BY x.vid, x.gk) z`;
}

export interface BucketSource {
  level: BucketLevel;
  range: readonly [string, string];
}

/**
 * Partial states of whole buckets (day rows and/or 15-minute rows over the given ranges, which must
 * not overlap), merged per meter version and group key (or per version only, without groups),
 * optionally per hour/day bin: rows `{ bin, meter_version, aggregation, group_key, ...StateRow }`.
 * Columns the period's aggregations do not need are not computed (no sort without first/last).
 */
export function bucketStatesSql(
  params: SqlParams,
  key: SeriesKey,
  sources: readonly BucketSource[],
  options: { groups: boolean; bin?: HistogramGranularity; aggregations: ReadonlySet<Aggregation> },
): string {
  const bin = options.bin
    ? `date_bin('1 ${options.bin}', bucket_start, TIMESTAMPTZ '1970-01-01 00:00:00+00')`
    : 'NULL::timestamptz';
  const groupKey = options.groups ? 'group_key' : `'[]'::jsonb`;
  const has = (...aggregations: Aggregation[]) => aggregations.some((a) => options.aggregations.has(a));
  const forward = (column: string) =>
    `(array_agg(${column} ORDER BY pick_ts, pick_id) FILTER (WHERE pick_ts IS NOT NULL))[1]`;
  const backward = (column: string) =>
    `(array_agg(${column} ORDER BY pick_ts DESC, pick_id DESC) FILTER (WHERE pick_ts IS NOT NULL))[1]`;
  const pick = (column: string, type: string) =>
    has('first', 'last')
      ? `CASE aggregation WHEN 'first' THEN ${forward(column)} WHEN 'last' THEN ${backward(column)} END`
      : `NULL::${type}`;
  const extremum = has('min', 'max')
    ? `CASE aggregation WHEN 'min' THEN min(extremum) WHEN 'max' THEN max(extremum) END`
    : 'NULL::numeric';
  const [tenant, customer, metric] = [
    params.add(key.tenantId, 'text'),
    params.add(key.customerId, 'text'),
    params.add(key.metricKey, 'text'),
  ];
  const rows = sources
    .map(
      ({ level, range }) => `SELECT * FROM ${level === 'day' ? 'usage_buckets_daily' : 'usage_buckets'}
        WHERE tenant_id = ${tenant} AND customer_id = ${customer} AND metric_key = ${metric}
          AND bucket_start >= ${params.add(range[0], 'timestamptz')} AND bucket_start < ${params.add(range[1], 'timestamptz')}`,
    )
    .join(' UNION ALL ');
  return `SELECT bin, meter_version, aggregation, group_key, ${stateText()} FROM (
      SELECT ${bin} AS bin, meter_version, aggregation, ${groupKey} AS group_key,
             sum(event_count) AS event_count, sum(value_count) AS value_count, sum(value_sum) AS value_sum,
             ${extremum} AS extremum,
             ${pick('pick_ts', 'timestamptz')} AS pick_ts, ${pick('pick_id', 'uuid')} AS pick_id,
             ${pick('pick_value', 'numeric')} AS pick_value
        FROM (${rows}) u
       GROUP BY 1, meter_version, aggregation, 4) z`;
}

/**
 * Results of the versions whose aggregation needs every raw value (unique_count, percentile), in SQL:
 * per segment ('total') and, when grouping, per (segment, group) ('group'), optionally per hour/day
 * bin. A row's segment key `seg` is -1 where the versions in force share one aggregation (they form
 * one segment: values merge across versions), else the row's slot (one segment per version);
 * `mixed` is the SQL condition, on `bin`, of the latter.
 * Rows `{ seg, kind, bin, gn, gk, aggregation, result }`. Percentile by nearest rank with the rank
 * computed in numeric (libs/domain README); a group without numeric values has a null percentile.
 */
export function rawResultsSql(
  params: SqlParams,
  slots: MeterSlot[],
  source: string,
  options: { grouping: Grouping; mixed: string; bin?: HistogramGranularity },
): string {
  const metered = meteredRowsSql(slots, params, source, {
    byMetric: false,
    groupBy: options.grouping,
    uniqueKeys: true,
  });
  const bin = options.bin
    ? `date_bin('1 ${options.bin}', x.ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')`
    : 'NULL::timestamptz';
  const percentile = perSlot(slots, 'x.vid', (slot) => params.add(slot.version.percentile ?? '0', 'numeric'));
  const level = (kind: 'total' | 'group') => {
    const by = kind === 'total' ? 'seg, bin' : 'seg, bin, gn, gk';
    const keys = kind === 'total' ? 'NULL::jsonb AS gn, NULL::jsonb AS gk' : 'gn, gk';
    return `SELECT seg, '${kind}' AS kind, bin, ${keys}, max(aggregation) AS aggregation,
        CASE max(aggregation)
          WHEN 'unique_count' THEN count(DISTINCT uk)::text
          ELSE trim_scale(max(mv) FILTER (WHERE rn = greatest(1, ceil(p * n / 100))))::text
        END AS result
      FROM (SELECT m.*, row_number() OVER (PARTITION BY ${by} ORDER BY mv) AS rn,
                   count(mv) OVER (PARTITION BY ${by}) AS n
              FROM m) ranked
     GROUP BY ${by}`;
  };
  return `WITH m AS MATERIALIZED (
      SELECT y.*, CASE WHEN ${options.mixed} THEN y.vid ELSE -1 END AS seg FROM (
        SELECT x.vid, x.mv, x.uk, x.gn, x.gk, ${bin} AS bin,
               ${perSlot(slots, 'x.vid', (slot) => `'${slot.version.aggregation}'`)} AS aggregation,
               ${percentile} AS p
          FROM (${metered}) x WHERE x.vid IN (${vidList(slots)})) y)
    ${level('total')}
    ${options.grouping === null ? '' : `UNION ALL ${level('group')}`}`;
}

/**
 * One chunk of the exact scan, in ONE pass over the (tenant, customer, metric, ts, usage_id) index
 * order: the number of counted events, how many were recorded at or after the period's end (late),
 * and the checksum lines "usage_id:value\n" in (ts, usage_id) order (usage-checksum.ts). With
 * `fast` segments (sum/count/avg/min/max, no groups), also their partial states, so the common case
 * reads every row once: columns c<k>, vc<k>, s<k>, mn<k>, mx<k> per segment k.
 */
export function scanChunkSql(
  params: SqlParams,
  source: string,
  periodEnd: string,
  fast: { slots: MeterSlot[]; segmentOf: (slot: MeterSlot) => UsageSegment } | null,
): string {
  const columns = [
    'count(*)::text AS event_count',
    `count(*) FILTER (WHERE x.recorded_at >= ${params.add(periodEnd, 'timestamptz')})::text AS late_count`,
    `string_agg(x.usage_id::text || ':' || trim_scale(x.value)::text || E'\\n', '' ORDER BY x.ts, x.usage_id) AS lines`,
  ];
  if (fast === null) return `SELECT ${columns.join(', ')} FROM (${source}) x`;
  const segments = [...new Map(fast.slots.map((slot) => [fast.segmentOf(slot).index, fast.segmentOf(slot)])).values()];
  for (const segment of segments) {
    const own = fast.slots.filter((slot) => fast.segmentOf(slot).index === segment.index);
    columns.push(...segmentStateColumns(own, segment.index));
  }
  const metered = meteredRowsSql(fast.slots, params, source, { byMetric: false, groupBy: null, keepUnmatched: true });
  return `SELECT ${columns.join(', ')} FROM (${metered}) x`;
}
