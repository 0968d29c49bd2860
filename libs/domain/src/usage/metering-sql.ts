import type { Metric, MetricVersion } from '../catalog/metrics';
import { DEFAULT_FIELD, PROPERTY_FIELD_PREFIX, type Aggregation, type PropertyFilter } from '../metering';
import type { StateRow } from './usage-accumulator';

/*
 * The metering rules of libs/domain/src/metering as PostgreSQL expressions, so that the read model
 * (pre-aggregated buckets), the eventual summary and the exact compute meter raw usage rows the same
 * way, in SQL, and exactly as the domain does in memory (property-tested against aggregatePeriodUsage).
 * Pure: this builds SQL text and its parameters; it runs nothing.
 *
 * Row expressions read the columns of a `usage_events` row: ts, usage_id, value, properties (and
 * tenant_id, metric_key when several metrics are metered at once).
 *
 *   field        `value` -> the numeric column; `properties.<name>` -> a JSON number, or a string in
 *                plain decimal notation of at most 200 characters (the domain's numericValue); else NULL
 *   filters      jsonb equality (numbers by value, never equal to strings); neq / not_in match events
 *                without the property; a JSON null is an absent property
 *   typed keys   "s:<text>", "n:<canonical decimal>", "b:true|false" (scalarKey), NULL for no value
 *   group key    jsonb array of the typed keys of the group_by properties (JSON.stringify of it is
 *                the domain's groupKey)
 */

/** Positional parameters of one statement. */
export class SqlParams {
  readonly values: unknown[] = [];

  /** A placeholder for `value`, cast to `type` (`$3::jsonb`). */
  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/** One metric version of one tenant's metric, numbered (`vid`) within a statement. */
export interface MeterSlot {
  vid: number;
  tenantId: string;
  metricKey: string;
  version: MetricVersion;
  /** Where the next version takes over (exclusive); null: open-ended. */
  until: string | null;
}

export interface MeterInput {
  tenantId: string;
  metric: Pick<Metric, 'key' | 'versions'>;
  /** Only these versions get slots (default all); rows of other versions get none. */
  versions?: readonly number[];
}

/** Numbers every version of the given metrics; a slot's `until` comes from the metric's next version. */
export function meterSlots(meters: readonly MeterInput[]): MeterSlot[] {
  const slots: MeterSlot[] = [];
  for (const meter of meters) {
    meter.metric.versions.forEach((version, index) => {
      if (meter.versions && !meter.versions.includes(version.version)) return;
      const until = meter.metric.versions[index + 1]?.effective_from ?? null;
      slots.push({ vid: slots.length, tenantId: meter.tenantId, metricKey: meter.metric.key, version, until });
    });
  }
  return slots;
}

/** Aggregations whose partial states fit fixed-size bucket rows (AGGREGATION_LAWS.pre_aggregatable). */
export const BUCKETED_AGGREGATIONS: readonly Aggregation[] = ['sum', 'count', 'avg', 'min', 'max', 'first', 'last'];

export function isBucketed(aggregation: Aggregation): boolean {
  return BUCKETED_AGGREGATIONS.includes(aggregation);
}

/** `CASE <vid> WHEN … THEN <expression of that slot> … ELSE <otherwise> END`. */
export function perSlot(
  slots: readonly MeterSlot[],
  vid: string,
  expression: (slot: MeterSlot) => string,
  otherwise = 'NULL',
): string {
  if (slots.length === 0) return otherwise;
  const branches = slots.map((slot) => `WHEN ${slot.vid} THEN ${expression(slot)}`).join(' ');
  return `CASE ${vid} ${branches} ELSE ${otherwise} END`;
}

/** A literal list of slot numbers for `vid IN (…)`, never empty (-1 matches nothing). */
export function vidList(slots: readonly MeterSlot[]): string {
  return slots.length === 0 ? '-1' : slots.map((slot) => String(slot.vid)).join(', ');
}

/**
 * The mergeable-state columns of one segment `k` (count, sum, min, max) over the metered rows `x`
 * of its slots: `c<k>`, `vc<k>`, `s<k>`, `mn<k>`, `mx<k>`. `segmentStateRow` reads them back.
 */
export function segmentStateColumns(own: readonly MeterSlot[], k: number): string[] {
  const where = `FILTER (WHERE x.ok AND x.vid IN (${vidList(own)}))`;
  return [
    `count(*) ${where}::text AS c${k}`,
    `count(x.mv) ${where}::text AS vc${k}`,
    `sum(x.mv) ${where}::text AS s${k}`,
    `min(x.mv) ${where}::text AS mn${k}`,
    `max(x.mv) ${where}::text AS mx${k}`,
  ];
}

/** The StateRow of segment `k` in a row with `segmentStateColumns` (min/max: the extremum asked for). */
export function segmentStateRow(
  aggregation: Aggregation,
  row: Readonly<Record<string, string | null | undefined>>,
  k: number,
): StateRow {
  return {
    event_count: row[`c${k}`] ?? '0',
    value_count: row[`vc${k}`] ?? '0',
    value_sum: row[`s${k}`] ?? '0',
    extremum: (aggregation === 'min' ? row[`mn${k}`] : row[`mx${k}`]) ?? null,
    pick_ts: null,
    pick_id: null,
    pick_value: null,
  };
}

/**
 * The slot of a row: the version in force at the row's ts, among the slots of its metric; NULL when
 * its metric has no slot. `byMetric`: the statement reads rows of several metrics or tenants.
 */
export function slotSql(slots: readonly MeterSlot[], params: SqlParams, row: string, byMetric: boolean): string {
  const meters = new Map<string, MeterSlot[]>();
  for (const slot of slots) {
    const key = JSON.stringify([slot.tenantId, slot.metricKey]);
    meters.set(key, [...(meters.get(key) ?? []), slot]);
  }
  // Each slot covers [its version's effective_from, until); a row in none of them gets NULL.
  const byTime = (own: MeterSlot[]) => {
    const branches = own.map((slot) => {
      const bounds = [
        slot.version.effective_from === null
          ? null
          : `${row}.ts >= ${params.add(slot.version.effective_from, 'timestamptz')}`,
        slot.until === null ? null : `${row}.ts < ${params.add(slot.until, 'timestamptz')}`,
      ].filter((bound): bound is string => bound !== null);
      return `WHEN ${bounds.length === 0 ? 'true' : bounds.join(' AND ')} THEN ${slot.vid}`;
    });
    return `CASE ${branches.join(' ')} END`;
  };
  const groups = [...meters.values()];
  if (groups.length === 0) return 'NULL::int';
  if (!byMetric && groups.length === 1) return byTime(groups[0]);
  const branches = groups.map(
    (own) =>
      `WHEN ${row}.tenant_id = ${params.add(own[0].tenantId, 'text')} AND ${row}.metric_key = ${params.add(
        own[0].metricKey,
        'text',
      )} THEN ${byTime(own)}`,
  );
  return `CASE ${branches.join(' ')} END`;
}

function propertyName(field: string): string | null {
  return field === DEFAULT_FIELD ? null : field.slice(PROPERTY_FIELD_PREFIX.length);
}

/** The numeric value a version reads from a row (NULL: no numeric value). */
export function valueSql(slot: MeterSlot, params: SqlParams, row: string): string {
  const name = propertyName(slot.version.field);
  if (name === null) return `${row}.value`;
  const key = params.add(name, 'text');
  const text = `(${row}.properties ->> ${key})`;
  return `CASE jsonb_typeof(${row}.properties -> ${key})
    WHEN 'number' THEN ${text}::numeric
    WHEN 'string' THEN CASE WHEN length(${text}) <= 200 AND ${text} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN ${text}::numeric END
  END`;
}

/** The typed key of a property (scalarKey): NULL when absent, null or not a scalar. */
export function typedPropertySql(name: string, params: SqlParams, row: string): string {
  const key = params.add(name, 'text');
  const text = `(${row}.properties ->> ${key})`;
  return `CASE jsonb_typeof(${row}.properties -> ${key})
    WHEN 'string' THEN 's:' || ${text}
    WHEN 'number' THEN 'n:' || trim_scale(${text}::numeric)::text
    WHEN 'boolean' THEN 'b:' || ${text}
  END`;
}

/** The typed key of the value a version reads (unique_count counts these). */
export function typedValueSql(slot: MeterSlot, params: SqlParams, row: string): string {
  const name = propertyName(slot.version.field);
  // The event's value is a decimal string in the log: a string key, like the domain's.
  return name === null ? `'s:' || trim_scale(${row}.value)::text` : typedPropertySql(name, params, row);
}

/** The group key of a row for these group_by names (jsonb array of typed keys). */
export function groupKeySql(names: readonly string[], params: SqlParams, row: string): string {
  if (names.length === 0) return `'[]'::jsonb`;
  return `jsonb_build_array(${names.map((name) => typedPropertySql(name, params, row)).join(', ')})`;
}

function filterSql(name: string, filter: PropertyFilter, params: SqlParams, row: string): string {
  const property = `(${row}.properties -> ${params.add(name, 'text')})`;
  const json = (value: unknown) => params.add(JSON.stringify(value), 'jsonb');
  const jsonList = (values: unknown[]) =>
    params.add(
      values.map((value) => JSON.stringify(value)),
      'jsonb[]',
    );
  if ('eq' in filter) return `COALESCE(${property} = ${json(filter.eq)}, false)`;
  if ('neq' in filter) return `(${property} IS DISTINCT FROM ${json(filter.neq)})`;
  if ('in' in filter) return `COALESCE(${property} = ANY(${jsonList(filter.in)}), false)`;
  if ('not_in' in filter) return `NOT COALESCE(${property} = ANY(${jsonList(filter.not_in)}), false)`;
  const scalar = `(jsonb_typeof(${property}) IN ('string', 'number', 'boolean'))`;
  return filter.exists ? `${scalar} IS TRUE` : `${scalar} IS NOT TRUE`;
}

/** True when a row passes every filter of the version (no filters: true). */
export function matchSql(slot: MeterSlot, params: SqlParams, row: string): string {
  const filters = Object.entries(slot.version.filters ?? {});
  if (filters.length === 0) return 'true';
  return filters.map(([name, filter]) => filterSql(name, filter, params, row)).join(' AND ');
}

/** A timestamptz as RFC 3339 UTC text with microseconds (exact, unlike a JS Date). */
export function instantTextSql(ts: string): string {
  return `to_char(${ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export interface MeteredRowsOptions {
  /** Rows of several metrics or tenants (see slotSql). */
  byMetric: boolean;
  /** Group key: each version's own group_by, these names, or none ('[]'). */
  groupBy: 'version' | readonly string[] | null;
  /** Also compute `uk`, the typed key of the value (for unique_count). */
  uniqueKeys?: boolean;
  /** Keep the rows the filters reject, with `ok` false (the exact scan checksums every row). */
  keepUnmatched?: boolean;
}

/**
 * The rows of `source` (a SELECT of usage_events columns) that their version's filters accept, each
 * with `vid` (its slot), `mv` (its numeric value or NULL), `gk` (its group key), `gn` (the group_by
 * names of that key, jsonb) and `uk` (the typed key of its value, when asked). Rows whose metric has no slot are dropped.
 */
export function meteredRowsSql(
  slots: readonly MeterSlot[],
  params: SqlParams,
  source: string,
  options: MeteredRowsOptions,
): string {
  const vid = slotSql(slots, params, 'r', options.byMetric);
  const value = perSlot(slots, 's.vid', (slot) => valueSql(slot, params, 's'));
  const group =
    options.groupBy === null
      ? `'[]'::jsonb`
      : options.groupBy === 'version'
        ? perSlot(slots, 's.vid', (slot) => groupKeySql(slot.version.group_by ?? [], params, 's'), `'[]'::jsonb`)
        : groupKeySql(options.groupBy, params, 's');
  const names =
    options.groupBy === null
      ? `'[]'::jsonb`
      : options.groupBy === 'version'
        ? perSlot(
            slots,
            's.vid',
            (slot) => params.add(JSON.stringify(slot.version.group_by ?? []), 'jsonb'),
            `'[]'::jsonb`,
          )
        : params.add(JSON.stringify(options.groupBy), 'jsonb');
  const unique = options.uniqueKeys
    ? perSlot(slots, 's.vid', (slot) => typedValueSql(slot, params, 's'))
    : 'NULL::text';
  const match = perSlot(slots, 's.vid', (slot) => `(${matchSql(slot, params, 's')})`, 'false');
  if (options.keepUnmatched) {
    return `SELECT s.*, ${value} AS mv, ${group} AS gk, ${names} AS gn, ${unique} AS uk, ${match} AS ok
    FROM (SELECT r.*, ${vid} AS vid FROM (${source}) r) s`;
  }
  return `SELECT s.*, ${value} AS mv, ${group} AS gk, ${names} AS gn, ${unique} AS uk
    FROM (SELECT r.*, ${vid} AS vid FROM (${source}) r) s
    WHERE ${match}`;
}

/**
 * Aggregate columns of the mergeable partial states, over metered rows `x` grouped by (at least)
 * x.vid: event_count (count), value_count and value_sum (sum, avg), extremum (min or max, by the
 * slot's aggregation), pick_ts / pick_id / pick_value (first or last by (ts, usage_id)).
 */
export function stateColumnsSql(slots: readonly MeterSlot[], x = 'x'): string {
  const of = (aggregation: Aggregation) => slots.filter((slot) => slot.version.aggregation === aggregation);
  const [mins, maxs, firsts, lasts] = [of('min'), of('max'), of('first'), of('last')];
  const pick = (column: string, type: string) => {
    if (firsts.length === 0 && lasts.length === 0) return `NULL::${type}`;
    const forward = `(array_agg(${x}.${column} ORDER BY ${x}.ts, ${x}.usage_id)
      FILTER (WHERE ${x}.mv IS NOT NULL AND ${x}.vid IN (${vidList(firsts)})))[1]`;
    const backward = `(array_agg(${x}.${column} ORDER BY ${x}.ts DESC, ${x}.usage_id DESC)
      FILTER (WHERE ${x}.mv IS NOT NULL AND ${x}.vid IN (${vidList(lasts)})))[1]`;
    if (lasts.length === 0) return forward;
    if (firsts.length === 0) return backward;
    return `COALESCE(${forward}, ${backward})`;
  };
  return [
    'count(*) AS event_count',
    `count(${x}.mv) AS value_count`,
    `COALESCE(sum(${x}.mv), 0) AS value_sum`,
    mins.length + maxs.length === 0
      ? 'NULL::numeric AS extremum'
      : `CASE WHEN ${x}.vid IN (${vidList(mins)}) THEN min(${x}.mv) WHEN ${x}.vid IN (${vidList(maxs)}) THEN max(${x}.mv) END AS extremum`,
    `${pick('ts', 'timestamptz')} AS pick_ts`,
    `${pick('usage_id', 'uuid')} AS pick_id`,
    `${pick('mv', 'numeric')} AS pick_value`,
  ].join(',\n    ');
}
