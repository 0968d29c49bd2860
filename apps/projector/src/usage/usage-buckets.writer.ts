import type { PoolClient } from 'pg';
import {
  BUCKET_LEVEL_MS,
  BUCKET_MS,
  bucketFloor,
  bucketStartSql,
  ceilTo,
  floorTo,
  isBucketed,
  meteredRowsSql,
  meterSlots,
  perSlot,
  SqlParams,
  stateColumnsSql,
  type BucketLevel,
  type MeterInput,
  type MeterSlot,
} from '#domain';
import {
  USAGE_ROW_COLUMNS,
  usageInputSql,
  usageInsertSql,
  type PreparedUsage,
  type VoidedRow,
} from './usage-events.writer';
import { loadMeters, type MeterChange } from './usage-meters.writer';

/**
 * `usage_buckets`: mergeable partial states per (tenant, customer, metric, 15-minute UTC bucket,
 * meter version, group key), for the aggregations whose states have a fixed size (sum, count, avg,
 * min, max, first, last; see AGGREGATION_LAWS). Each event counts under the version in force at its
 * timestamp, with that version's filters, field and group_by. unique_count and percentile need every
 * raw value: their usage is read from `usage_events`, never bucketed.
 *
 * A row exists if and only if at least one counted (not voided) event passes its version's filters,
 * so any order of the same events and voids, in any batches, leaves the same rows.
 */
export const USAGE_BUCKETS_DDL = (t: string) => `
  CREATE TABLE ${t} (
    tenant_id     text COLLATE "C" NOT NULL,
    customer_id   text COLLATE "C" NOT NULL,
    metric_key    text COLLATE "C" NOT NULL,
    bucket_start  timestamptz NOT NULL,
    meter_version integer     NOT NULL,
    group_key     jsonb       NOT NULL,
    aggregation   text        NOT NULL,
    event_count   bigint      NOT NULL,
    value_count   bigint      NOT NULL,
    value_sum     numeric     NOT NULL,
    extremum      numeric,
    pick_ts       timestamptz,
    pick_id       uuid,
    pick_value    numeric,
    CONSTRAINT ${t}_pkey PRIMARY KEY (tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key)
  );`;

/** `usage_buckets_daily`: the same states rolled up per UTC day (bucket_start at 00:00Z). */
export const USAGE_BUCKETS_DAILY_DDL = USAGE_BUCKETS_DDL;

/**
 * Who recorded each counted usage event (the event's metadata): audit_log skips UsageRecorded, the
 * hot path, so the usage projection keeps this instead, in a table of its own (`usage_events` has
 * exactly the columns of the shared contract). Run-length encoded over log_position: the events of
 * one request (a batch of up to 500) are consecutive in the log and share actor and request id, so
 * they take ONE row, [first_position, last_position], even when the projector applies them in several
 * batches (a run that continues the tenant's last row extends it). The origin of a usage row:
 *   SELECT actor, request_id FROM usage_origins
 *    WHERE tenant_id = $1 AND first_position <= $pos ORDER BY first_position DESC LIMIT 1
 * (and last_position >= $pos).
 */
export const USAGE_ORIGINS_DDL = (t: string) => `
  CREATE TABLE ${t} (
    tenant_id      text   NOT NULL,
    first_position bigint NOT NULL,
    last_position  bigint NOT NULL,
    actor          text   NOT NULL,
    request_id     text,
    CONSTRAINT ${t}_pkey PRIMARY KEY (tenant_id, first_position)
  );`;

/** Which customers have raw usage of a metric in a UTC month: where a new meter version must re-derive. */
export const USAGE_SERIES_DDL = (t: string) => `
  CREATE TABLE ${t} (
    tenant_id   text NOT NULL,
    metric_key  text NOT NULL,
    month       date NOT NULL,
    customer_id text NOT NULL,
    PRIMARY KEY (tenant_id, metric_key, month, customer_id)
  );`;

export interface UsageTables {
  events: string;
  origins: string;
  buckets: string;
  daily: string;
  series: string;
  meters: string;
}

/** Bucket slots of these metrics: the versions whose aggregation is pre-aggregated. */
async function bucketSlots(
  client: PoolClient,
  tables: UsageTables,
  pairs: ReadonlyArray<{ tenantId: string; metricKey: string }>,
): Promise<MeterSlot[]> {
  const meters = await loadMeters(client, tables.meters, pairs);
  const inputs: MeterInput[] = [...meters.values()].map((meter) => ({
    tenantId: meter.tenantId,
    metric: meter.metric,
    versions: meter.metric.versions.filter((v) => isBucketed(v.aggregation)).map((v) => v.version),
  }));
  return meterSlots(inputs);
}

function distinctPairs(rows: ReadonlyArray<{ tenantId: string; metricKey: string }>) {
  const pairs = new Map(rows.map((row) => [JSON.stringify([row.tenantId, row.metricKey]), row]));
  return [...pairs.values()];
}

const LEVELS: readonly BucketLevel[] = ['quarter', 'day'];

const levelTable = (tables: UsageTables, level: BucketLevel) => (level === 'quarter' ? tables.buckets : tables.daily);

/**
 * `INSERT INTO <level table> SELECT <partial states of the metered rows x, per bucket key>`.
 * `merge`: add the states to existing rows (sums and counts add, min/max keep the extreme,
 * first/last keep the earlier/later pick by (ts, usage_id)); without it the keys must not exist yet.
 */
function bucketInsertSql(slots: MeterSlot[], table: string, metered: string, level: BucketLevel, merge: boolean) {
  const wins = `EXCLUDED.pick_ts IS NOT NULL AND (b.pick_ts IS NULL
      OR (b.aggregation = 'first' AND (EXCLUDED.pick_ts, EXCLUDED.pick_id) < (b.pick_ts, b.pick_id))
      OR (b.aggregation = 'last' AND (EXCLUDED.pick_ts, EXCLUDED.pick_id) > (b.pick_ts, b.pick_id)))`;
  const onConflict = `ON CONFLICT (tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key) DO UPDATE SET
      event_count = b.event_count + EXCLUDED.event_count,
      value_count = b.value_count + EXCLUDED.value_count,
      value_sum = b.value_sum + EXCLUDED.value_sum,
      extremum = CASE b.aggregation WHEN 'min' THEN LEAST(b.extremum, EXCLUDED.extremum)
                                    WHEN 'max' THEN GREATEST(b.extremum, EXCLUDED.extremum) END,
      pick_ts = CASE WHEN ${wins} THEN EXCLUDED.pick_ts ELSE b.pick_ts END,
      pick_id = CASE WHEN ${wins} THEN EXCLUDED.pick_id ELSE b.pick_id END,
      pick_value = CASE WHEN ${wins} THEN EXCLUDED.pick_value ELSE b.pick_value END`;
  return `INSERT INTO ${table} AS b (tenant_id, customer_id, metric_key, meter_version, aggregation, group_key,
                                    bucket_start, event_count, value_count, value_sum, extremum, pick_ts, pick_id,
                                    pick_value)
    SELECT x.tenant_id, x.customer_id, x.metric_key,
           ${perSlot(slots, 'x.vid', (slot) => String(slot.version.version))},
           ${perSlot(slots, 'x.vid', (slot) => `'${slot.version.aggregation}'`)},
           x.gk, ${bucketStartSql('x.ts', level)} AS bucket_start,
           ${stateColumnsSql(slots)}
      FROM ${metered} x
     GROUP BY x.tenant_id, x.customer_id, x.metric_key, x.vid, x.gk, 7
    ${merge ? onConflict : ''}`;
}

/**
 * Inserts the batch's usage rows and, in the SAME statement, adds exactly the rows that were
 * inserted (not the duplicates ON CONFLICT skipped) to their buckets and to `usage_series`.
 */
export async function recordUsage(
  client: PoolClient,
  tables: UsageTables,
  prepared: PreparedUsage,
  firstPosition: bigint,
): Promise<void> {
  if (prepared.rows.length === 0) return;
  const slots = await bucketSlots(
    client,
    tables,
    distinctPairs(
      prepared.rows.map((row) => ({ tenantId: row.event.metadata.tenant_id, metricKey: row.data.metric_key })),
    ),
  );
  const params = new SqlParams();
  const input = usageInputSql(params, prepared, firstPosition);
  const insert = usageInsertSql(tables.events);
  const series = `INSERT INTO ${tables.series} (tenant_id, metric_key, month, customer_id)
      SELECT DISTINCT tenant_id, metric_key, date_trunc('month', ts AT TIME ZONE 'UTC')::date, customer_id FROM inserted
      ON CONFLICT DO NOTHING`;
  // One metering pass (CTE m), then both levels of buckets from it.
  const metered =
    slots.length === 0
      ? ''
      : `, m AS (${meteredRowsSql(slots, params, `SELECT ${USAGE_ROW_COLUMNS} FROM inserted`, {
          byMetric: true,
          groupBy: 'version',
        })}), quarter AS (${bucketInsertSql(slots, tables.buckets, 'm', 'quarter', true)})`;
  const main = slots.length === 0 ? 'SELECT 1' : bucketInsertSql(slots, tables.daily, 'm', 'day', true);
  // Islands of consecutive inserted positions with one (tenant, actor, request id): one row each,
  // unless the tenant's row before it ends right before it with the same actor and request id (the
  // run began in an earlier batch): that row is extended. So the rows are the maximal runs, whatever
  // the batches (a rebuild with another batch size gives the same rows).
  const islands = `SELECT tenant_id, min(log_position) AS first_position, max(log_position) AS last_position,
                          actor, request_id FROM (
        SELECT i.tenant_id, i.log_position, o.actor, o.request_id,
               i.log_position - row_number() OVER (PARTITION BY i.tenant_id, o.actor, o.request_id
                                                   ORDER BY i.log_position) AS island
          FROM inserted i JOIN input o ON o.log_position = i.log_position) runs
      GROUP BY tenant_id, actor, request_id, island`;
  const extended = `UPDATE ${tables.origins} AS o SET last_position = i.last_position
        FROM islands i
       WHERE o.tenant_id = i.tenant_id
         AND o.first_position = (SELECT max(p.first_position) FROM ${tables.origins} p
                                  WHERE p.tenant_id = i.tenant_id AND p.first_position < i.first_position)
         AND o.last_position = i.first_position - 1
         AND o.actor = i.actor AND o.request_id IS NOT DISTINCT FROM i.request_id
      RETURNING i.tenant_id, i.first_position`;
  const origins = `INSERT INTO ${tables.origins} (tenant_id, first_position, last_position, actor, request_id)
      SELECT i.tenant_id, i.first_position, i.last_position, i.actor, i.request_id FROM islands i
       WHERE NOT EXISTS (SELECT 1 FROM extended x WHERE x.tenant_id = i.tenant_id AND x.first_position = i.first_position)`;
  await client.query(
    `WITH input AS MATERIALIZED (${input}), inserted AS (${insert}), series AS (${series}),
       islands AS (${islands}), extended AS (${extended}), origins AS (${origins})${metered} ${main}`,
    params.values,
  );
}

interface Range {
  tenantId: string;
  metricKey: string;
  customerId: string;
  /** Bucket-aligned; null: from the beginning. */
  from: Date | null;
  /** Bucket-aligned, exclusive; null: to the end. */
  until: Date | null;
}

const NO_START = -Infinity;
const NO_END = Infinity;

/** Overlapping or touching ranges of one series become one, so no raw row is derived twice. */
function mergeRanges(ranges: readonly Range[]): Range[] {
  const bySeries = new Map<string, Range[]>();
  for (const range of ranges) {
    const key = JSON.stringify([range.tenantId, range.metricKey, range.customerId]);
    bySeries.set(key, [...(bySeries.get(key) ?? []), range]);
  }
  const merged: Range[] = [];
  const start = (range: Range) => range.from?.getTime() ?? NO_START;
  const end = (range: Range) => range.until?.getTime() ?? NO_END;
  for (const series of bySeries.values()) {
    series.sort((a, b) => start(a) - start(b));
    let current = series[0];
    for (const range of series.slice(1)) {
      if (start(range) <= end(current)) {
        current = end(range) > end(current) ? { ...current, until: range.until } : current;
      } else {
        merged.push(current);
        current = range;
      }
    }
    merged.push(current);
  }
  return merged;
}

/**
 * Derives the buckets of the given ranges again from the raw rows, in the projection's transaction:
 * deletes them, then inserts the states of every counted event in them.
 */
async function rederive(client: PoolClient, tables: UsageTables, ranges: readonly Range[]): Promise<void> {
  if (ranges.length === 0) return;
  const slots = await bucketSlots(client, tables, distinctPairs(ranges));
  for (const level of LEVELS) {
    // Each level re-derives whole buckets of its own width: widen the ranges to them.
    const width = BUCKET_LEVEL_MS[level];
    const merged = mergeRanges(
      ranges.map((range) => ({
        ...range,
        from: range.from === null ? null : floorTo(range.from, width),
        until: range.until === null ? null : ceilTo(range.until, width),
      })),
    );
    await rederiveLevel(client, tables, level, merged, slots);
  }
}

async function rederiveLevel(
  client: PoolClient,
  tables: UsageTables,
  level: BucketLevel,
  merged: readonly Range[],
  slots: MeterSlot[],
): Promise<void> {
  const table = levelTable(tables, level);
  const rangeParams = (params: SqlParams) =>
    [
      params.add(
        merged.map((r) => r.tenantId),
        'text[]',
      ),
      params.add(
        merged.map((r) => r.metricKey),
        'text[]',
      ),
      params.add(
        merged.map((r) => r.customerId),
        'text[]',
      ),
      params.add(
        merged.map((r) => r.from?.toISOString() ?? '-infinity'),
        'timestamptz[]',
      ),
      params.add(
        merged.map((r) => r.until?.toISOString() ?? 'infinity'),
        'timestamptz[]',
      ),
    ].join(', ');
  const deletion = new SqlParams();
  await client.query(
    `DELETE FROM ${table} b USING unnest(${rangeParams(deletion)}) AS r(tenant_id, metric_key, customer_id, from_ts, until_ts)
      WHERE b.tenant_id = r.tenant_id AND b.customer_id = r.customer_id AND b.metric_key = r.metric_key
        AND b.bucket_start >= r.from_ts AND b.bucket_start < r.until_ts`,
    deletion.values,
  );
  if (slots.length === 0) return;
  const params = new SqlParams();
  const source = `SELECT ${USAGE_ROW_COLUMNS.split(', ')
    .map((column) => `e.${column}`)
    .join(', ')}
      FROM unnest(${rangeParams(params)}) AS r(tenant_id, metric_key, customer_id, from_ts, until_ts)
      JOIN ${tables.events} e ON e.tenant_id = r.tenant_id AND e.customer_id = r.customer_id
       AND e.metric_key = r.metric_key AND e.ts >= r.from_ts AND e.ts < r.until_ts
     WHERE e.voided_at IS NULL`;
  const metered = meteredRowsSql(slots, params, source, { byMetric: true, groupBy: 'version' });
  await client.query(bucketInsertSql(slots, table, `(${metered})`, level, false), params.values);
}

/**
 * A metric got new versions: every customer with raw usage of it from the first new version's
 * effective_from on (its bucket floor) gets those buckets derived again, under the versions now
 * in force. Reads keep working meanwhile: they see the old rows until this batch commits (MVCC).
 */
export async function rederiveMeterChanges(
  client: PoolClient,
  tables: UsageTables,
  changes: readonly MeterChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const froms = changes.map((change) => (change.from === null ? null : bucketFloor(new Date(change.from))));
  const { rows } = await client.query<{ i: number; customer_id: string }>(
    `SELECT c.i, s.customer_id
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS c(tenant_id, metric_key, from_ts, i)
       JOIN ${tables.series} s ON s.tenant_id = c.tenant_id AND s.metric_key = c.metric_key
        AND s.month >= date_trunc('month', c.from_ts AT TIME ZONE 'UTC')::date`,
    [
      changes.map((change) => change.tenantId),
      changes.map((change) => change.metric.key),
      froms.map((from) => from?.toISOString() ?? '-infinity'),
    ],
  );
  const ranges = rows.map((row): Range => {
    const change = changes[Number(row.i) - 1];
    return {
      tenantId: change.tenantId,
      metricKey: change.metric.key,
      customerId: row.customer_id,
      from: froms[Number(row.i) - 1],
      until: null,
    };
  });
  await rederive(client, tables, ranges);
}

const SUBTRACTABLE = ['sum', 'count', 'avg'];

interface BucketKeyRow {
  tenant_id: string;
  customer_id: string;
  metric_key: string;
  bucket_start: Date;
  meter_version: number | null;
  group_key: Array<string | null> | null;
}

const SUBTRACTABLE_SQL = SUBTRACTABLE.map((aggregation) => `'${aggregation}'`).join(', ');

const keyMatch = (t: string, d: string) =>
  `${t}.tenant_id = ${d}.tenant_id AND ${t}.customer_id = ${d}.customer_id AND ${t}.metric_key = ${d}.metric_key
   AND ${t}.bucket_start = ${d}.bucket_start AND ${t}.meter_version = ${d}.meter_version AND ${t}.group_key = ${d}.group_key`;

/**
 * One statement: the voided rows' states per 15-minute bucket (`delta`) and per day, subtracted from
 * the sum/count/avg buckets of both levels. Returns the keys those subtractions emptied (`empty` =
 * their level) and the 15-minute buckets of other aggregations, to derive again (`empty` null).
 */
function subtractVoidsSql(slots: MeterSlot[], tables: UsageTables, metered: string): string {
  const subtract = (table: string, delta: string) => `UPDATE ${table} b
          SET event_count = b.event_count - d.event_count, value_count = b.value_count - d.value_count,
              value_sum = b.value_sum - d.value_sum
         FROM ${delta} d
        WHERE d.aggregation IN (${SUBTRACTABLE_SQL}) AND ${keyMatch('b', 'd')}
       RETURNING b.tenant_id, b.customer_id, b.metric_key, b.bucket_start, b.meter_version, b.group_key, b.event_count`;
  return `WITH delta AS (
       SELECT x.tenant_id, x.customer_id, x.metric_key, x.gk AS group_key,
              ${perSlot(slots, 'x.vid', (slot) => String(slot.version.version))} AS meter_version,
              ${perSlot(slots, 'x.vid', (slot) => `'${slot.version.aggregation}'`)} AS aggregation,
              ${bucketStartSql('x.ts')} AS bucket_start,
              count(*) AS event_count, count(x.mv) AS value_count, COALESCE(sum(x.mv), 0) AS value_sum
         FROM (${metered}) x
        GROUP BY x.tenant_id, x.customer_id, x.metric_key, x.vid, x.gk, 7),
     daily_delta AS (
       SELECT tenant_id, customer_id, metric_key, group_key, meter_version, aggregation,
              ${bucketStartSql('bucket_start', 'day')} AS bucket_start,
              sum(event_count) AS event_count, sum(value_count) AS value_count, sum(value_sum) AS value_sum
         FROM delta GROUP BY 1, 2, 3, 4, 5, 6, 7),
     quarter AS (${subtract(tables.buckets, 'delta')}),
     day AS (${subtract(tables.daily, 'daily_delta')})
     SELECT 'quarter' AS empty, tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key
       FROM quarter WHERE event_count = 0
     UNION ALL
     SELECT 'day', tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key
       FROM day WHERE event_count = 0
     UNION ALL
     SELECT DISTINCT NULL, tenant_id, customer_id, metric_key, bucket_start, NULL::int, NULL::jsonb FROM delta
      WHERE aggregation NOT IN (${SUBTRACTABLE_SQL})`;
}

/** Deletes bucket rows left without events (a separate statement: a row updated by a statement cannot also be deleted by it). */
async function deleteEmptied(client: PoolClient, table: string, emptied: readonly BucketKeyRow[]): Promise<void> {
  if (emptied.length === 0) return;
  await client.query(
    `DELETE FROM ${table} b
      USING unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::jsonb[])
            AS e(tenant_id, customer_id, metric_key, bucket_start, meter_version, group_key)
      WHERE ${keyMatch('b', 'e')} AND b.event_count = 0`,
    [
      emptied.map((row) => row.tenant_id),
      emptied.map((row) => row.customer_id),
      emptied.map((row) => row.metric_key),
      emptied.map((row) => row.bucket_start),
      emptied.map((row) => row.meter_version),
      emptied.map((row) => JSON.stringify(row.group_key)),
    ],
  );
}

/**
 * Takes just-voided rows out of their buckets. sum, count and avg states subtract exactly; min, max,
 * first and last cannot (the runner-up is not in the state), so those buckets are derived again
 * from the raw rows, in the same transaction. Buckets left without events are deleted.
 */
export async function removeVoidedFromBuckets(
  client: PoolClient,
  tables: UsageTables,
  voided: readonly VoidedRow[],
): Promise<void> {
  if (voided.length === 0) return;
  const slots = await bucketSlots(
    client,
    tables,
    distinctPairs(voided.map((row) => ({ tenantId: row.tenant_id, metricKey: row.metric_key }))),
  );
  if (slots.length === 0) return;
  const params = new SqlParams();
  const ids = `unnest(${params.add(
    voided.map((row) => row.tenant_id),
    'text[]',
  )}, ${params.add(
    voided.map((row) => row.usage_id),
    'uuid[]',
  )}) AS v(tenant_id, usage_id)`;
  const source = `SELECT ${USAGE_ROW_COLUMNS.split(', ')
    .map((column) => `u.${column}`)
    .join(', ')}
      FROM ${ids} JOIN ${tables.events} u ON u.tenant_id = v.tenant_id AND u.usage_id = v.usage_id`;
  const metered = meteredRowsSql(slots, params, source, { byMetric: true, groupBy: 'version' });
  const { rows } = await client.query<BucketKeyRow & { empty: BucketLevel | null }>(
    subtractVoidsSql(slots, tables, metered),
    params.values,
  );
  for (const level of LEVELS) {
    await deleteEmptied(
      client,
      levelTable(tables, level),
      rows.filter((row) => row.empty === level),
    );
  }
  await rederive(
    client,
    tables,
    rows
      .filter((row) => row.empty === null)
      .map((row) => ({
        tenantId: row.tenant_id,
        metricKey: row.metric_key,
        customerId: row.customer_id,
        from: row.bucket_start,
        until: new Date(row.bucket_start.getTime() + BUCKET_MS),
      })),
  );
}
