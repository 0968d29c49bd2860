import { instantOrder, type Metric } from '../../catalog/metrics';
import { isInstant, usageQuantity, type MeteredEvent } from '../../metering';
import { toGroupedUsage } from '../../pricing';
import type { BillingPeriod } from '../../periods';
import { aggregatePeriodUsage } from '../../usage/period-usage';
import { usageChecksum } from '../../usage/usage-checksum';
import { USAGE_RECORDED, USAGE_VOIDED, type UsageRecordedData, type UsageVoidedData } from '../../usage/usage.events';
import type { ChargeUsage } from './calculation-inputs';

/*
 * Usage from the log alone (the audit path): the same events the `usage` read model counts, by the
 * same rules, so that the usage of a window computed here equals the exact scan of the read model.
 *
 *   - a UsageRecorded counts unless an earlier one (in log order) had its idempotency key or its
 *     usage id: the first in log order wins, like the projection's primary key;
 *   - a malformed one never counts (the projection skips what it could not store);
 *   - a UsageVoided removes the counted event with its usage id, if that one came before it.
 */

/** A usage event as read from the log, in log order. */
export interface LoggedUsageEvent {
  /** The event id (a UsageRecorded without `usage_id` in its data is known by it). */
  id: string;
  type: string;
  data: unknown;
}

/** A counted usage event: the UsageRecorded data, usage_id in lowercase. */
export type CountedUsage = UsageRecordedData;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** numeric(20,10), as the read model stores values. */
const DECIMAL_20_10 = /^-?\d{1,10}(\.\d{1,10})?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The data of a storable UsageRecorded, or null (the read model would skip it). */
function recordedData(event: LoggedUsageEvent): CountedUsage | null {
  const data = event.data as Partial<UsageRecordedData> | null;
  if (!isRecord(data)) return null;
  const usageId = typeof data.usage_id === 'string' ? data.usage_id : event.id;
  if (!UUID.test(usageId) || typeof data.customer_id !== 'string' || typeof data.metric_key !== 'string') return null;
  if (typeof data.idempotency_key !== 'string' || typeof data.value !== 'string') return null;
  if (!DECIMAL_20_10.test(data.value) || !isInstant(data.timestamp)) return null;
  return {
    ...(data as UsageRecordedData),
    usage_id: usageId.toLowerCase(),
    properties: isRecord(data.properties) ? (data.properties as UsageRecordedData['properties']) : {},
  };
}

/** The counted events among `events` (in log order): duplicates and voided events removed. */
export function countedUsageEvents(events: Iterable<LoggedUsageEvent>): CountedUsage[] {
  const keys = new Set<string>();
  // A voided event keeps its key and id: the read model's row stays, voided.
  const ids = new Set<string>();
  const counted = new Map<string, CountedUsage>();
  for (const event of events) {
    if (event.type === USAGE_RECORDED) {
      const data = recordedData(event);
      if (data === null || keys.has(data.idempotency_key) || ids.has(data.usage_id)) continue;
      keys.add(data.idempotency_key);
      ids.add(data.usage_id);
      counted.set(data.usage_id, data);
    } else if (event.type === USAGE_VOIDED) {
      const data = event.data as Partial<UsageVoidedData> | null;
      if (isRecord(data) && typeof data.usage_id === 'string') counted.delete(data.usage_id.toLowerCase());
    }
  }
  return [...counted.values()];
}

/** Events of one metric whose timestamp falls in [start, end_exclusive). */
export function usageInWindow(
  events: readonly CountedUsage[],
  metricKey: string,
  window: BillingPeriod,
): CountedUsage[] {
  const from = instantOrder(window.start);
  const to = instantOrder(window.end_exclusive);
  return events.filter((event) => {
    if (event.metric_key !== metricKey) return false;
    const at = instantOrder(event.timestamp);
    return at >= from && at < to;
  });
}

/**
 * A charge's usage from the window's counted events of its metric: aggregated by the version in
 * force at each event's timestamp (aggregatePeriodUsage), grouped by the matrix dimensions when
 * `dimensions` is given, and checksummed over every counted event of the window (usageChecksum).
 */
export function chargeUsageOf(
  charge: { key: string; metric_key: string; dimensions?: readonly string[] },
  metric: Pick<Metric, 'key' | 'versions'>,
  window: BillingPeriod,
  events: readonly CountedUsage[],
): ChargeUsage {
  const own = usageInWindow(events, metric.key, window);
  const metered: MeteredEvent[] = own.map((event) => ({
    id: event.usage_id,
    timestamp: event.timestamp,
    value: event.value,
    properties: event.properties,
  }));
  const usage = aggregatePeriodUsage(
    metric,
    window,
    metered,
    charge.dimensions === undefined ? {} : { groupBy: charge.dimensions },
  );
  return {
    charge_key: charge.key,
    metric_key: charge.metric_key,
    quantity: usageQuantity(usage.value),
    groups: charge.dimensions === undefined ? null : toGroupedUsage(usage.groups ?? []),
    meter_versions: usage.meter_versions,
    usage_checksum: usageChecksum(
      usage.meter_versions,
      own.map((event) => ({ usage_id: event.usage_id, timestamp: event.timestamp, value: event.value })),
    ),
  };
}
