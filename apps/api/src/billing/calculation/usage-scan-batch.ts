import type { PoolClient } from 'pg';
import {
  meteredRowsSql,
  meterSlots,
  segmentStateColumns,
  segmentStateRow,
  SqlParams,
  stateFromRow,
  UsageAccumulator,
  usageChecksumOf,
  usageSegments,
  versionsInPeriod,
  type Metric,
} from '#domain';
import type { ExactUsage, UsagePeriod } from '../../usage/usage-reader';

/** The aggregations scanUsage meters in one pass over the rows (its "fast" path). */
const FAST_AGGREGATIONS = new Set(['sum', 'count', 'avg', 'min', 'max']);

interface CustomerRow {
  customer_id: string;
  event_count: string;
  late_count: string;
  lines: string | null;
  [column: string]: string | null;
}

/**
 * The exact usage of one metric over one window for MANY customers, in one statement grouped by
 * customer: what scanUsage (apps/api/src/usage/usage-reader.ts) returns for each of them, value,
 * event counts and checksum alike (the same source rows, the same metering SQL, the same checksum
 * lines in (ts, usage_id) order; the spec compares both). Only for ungrouped charges on metrics whose
 * versions in the window all aggregate in one pass (sum, count, avg, min, max): null otherwise, and
 * the caller scans those customers one by one with scanUsage.
 */
export async function scanUsageOfCustomers(
  client: PoolClient,
  tenantId: string,
  metric: Metric,
  period: UsagePeriod,
  customerIds: readonly string[],
): Promise<Map<string, ExactUsage> | null> {
  const versions = versionsInPeriod(metric, period.start, period.end);
  const segments = usageSegments(versions);
  if (!segments.every((segment) => FAST_AGGREGATIONS.has(segment.aggregation))) return null;
  const template = new UsageAccumulator(metric.key, versions);
  const slots = meterSlots([{ tenantId, metric, versions: versions.map((v) => v.version) }]);
  const sql = (withProperties: boolean) => {
    const params = new SqlParams();
    // The first pass of the statement's rows, its SELECT list, is scanChunkSql's fast form per customer.
    const source = `SELECT tenant_id, usage_id, customer_id, metric_key, ts, value,
          ${withProperties ? 'properties' : 'NULL::jsonb AS properties'}, recorded_at
        FROM usage_events
       WHERE tenant_id = ${params.add(tenantId, 'text')} AND customer_id = ANY(${params.add([...customerIds], 'text[]')})
         AND metric_key = ${params.add(metric.key, 'text')}
         AND ts >= ${params.add(period.start, 'timestamptz')} AND ts < ${params.add(period.end, 'timestamptz')}
         AND voided_at IS NULL`;
    const columns = [
      'x.customer_id',
      'count(*)::text AS event_count',
      `count(*) FILTER (WHERE x.recorded_at >= ${params.add(period.end, 'timestamptz')})::text AS late_count`,
      `string_agg(x.usage_id::text || ':' || trim_scale(x.value)::text || E'\\n', '' ORDER BY x.ts, x.usage_id) AS lines`,
    ];
    for (const segment of segments) {
      const own = slots.filter((slot) => template.segmentOfVersion(slot.version.version)?.index === segment.index);
      columns.push(...segmentStateColumns(own, segment.index));
    }
    const metered = meteredRowsSql(slots, params, source, { byMetric: false, groupBy: null, keepUnmatched: true });
    const text = `SELECT ${columns.join(', ')} FROM (${metered}) x GROUP BY x.customer_id`;
    return { text, values: params.values, readsProperties: metered.split(source).join('').includes('properties') };
  };
  // Without properties (no version filters on them or meters one), the scan is index-only on the
  // series index (key columns and INCLUDE value, recorded_at, voided_at): no heap row per event.
  const probe = sql(true);
  const statement = probe.readsProperties ? probe : sql(false);
  const { rows } = await client.query<CustomerRow>(statement.text, statement.values);
  const byCustomer = new Map(rows.map((row) => [row.customer_id, row]));
  const result = new Map<string, ExactUsage>();
  for (const customerId of new Set(customerIds)) {
    // A customer without rows reads as scanUsage's empty chunk: counts 0, no lines.
    const row = byCustomer.get(customerId) ?? {
      customer_id: customerId,
      event_count: '0',
      late_count: '0',
      lines: null,
    };
    const accumulator = new UsageAccumulator(metric.key, versions);
    for (const segment of segments) addSegmentState(accumulator, segment, row);
    result.set(customerId, {
      ...accumulator.finish(),
      event_count: BigInt(row.event_count).toString(),
      late_event_count: BigInt(row.late_count).toString(),
      checksum: usageChecksumOf(
        versions.map((v) => v.version),
        [row.lines ?? ''],
      ),
    });
  }
  return result;
}

/** One segment's one-pass state from a row's columns, as scanUsage's addFastStates reads a chunk. */
function addSegmentState(
  accumulator: UsageAccumulator,
  segment: ReturnType<typeof usageSegments>[number],
  row: CustomerRow,
): void {
  const state = segmentStateRow(segment.aggregation, row, segment.index);
  accumulator.addState(segment.versions[0], [], stateFromRow(segment.aggregation, state));
}
