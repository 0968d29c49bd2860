import {
  PENDING_ADJUSTMENT_FACT_TYPES,
  calculationInputsOf,
  chargeUsageOf,
  countedUsageEvents,
  pendingAdjustmentOf,
  pendingAdjustmentsOf,
  subscriptionPeriod,
  usageMeasuresOf,
  usageStreamId,
  type BillingPeriod,
  type CalculationInputs,
  type ChargeUsage,
  type PendingAdjustment,
} from '#domain';
import { streamName, type Checkpoint, type EventStore, type RecordedEvent } from '#ledger';
import { loadBillingCatalog } from './billing-catalog';
import { mergeInLogOrder, readStreamAsOf } from './log-reads';

export interface LoadFromLogOptions {
  store: EventStore;
  tenantId: string;
  subscriptionId: string;
  /** One of the subscription's billing periods (CALCULATION.INVALID_PERIOD otherwise). */
  period: BillingPeriod;
  /**
   * The log as it stood at this checkpoint, inclusive: what a calculation recorded as its
   * `as_of_position` (ChargesCalculated). Undefined: the whole log as it is now.
   */
  asOf?: Checkpoint | null;
}

/**
 * THE AUDIT LOADER: the inputs of a calculation from the event store alone, no read model. The
 * subscription and metrics are folded from their streams; usage from the customer's monthly usage
 * streams covering the usage window (dedupe by idempotency key and usage id, first in log order;
 * voids; each event metered by the version in force at its timestamp; usageChecksum); pending
 * adjustments from the tenant's AdjustmentRecorded / InvoiceClosed / InvoiceVoided facts.
 * Given the same log (and asOf) it returns exactly what loadCalculationInputsFast returns.
 *
 * Limit: dedupe sees the customer's usage streams of the window's months only. A duplicate key can
 * only reach the log with a conflicting payload in KurrentDB mode, and only then in another month
 * or under another customer; the read model would count the earlier event, this loader this one.
 */
export async function loadCalculationInputsFromLog(options: LoadFromLogOptions): Promise<CalculationInputs> {
  const { store, tenantId, asOf } = options;
  const catalog = await loadBillingCatalog(store, tenantId, options.subscriptionId, asOf);
  const { subscription } = catalog;
  const billing = subscriptionPeriod(subscription, options.period);
  const [usageEvents, pending] = await Promise.all([
    readUsageFromLog(store, tenantId, subscription.customer_id, billing.usage_window, asOf),
    readPendingAdjustments(store, tenantId, subscription.customer_id, asOf),
  ]);
  const counted = countedUsageEvents(usageEvents);
  const usage: ChargeUsage[] = usageMeasuresOf(subscription.charges).map((measure) => {
    const metric = catalog.metrics.get(measure.metric_key);
    if (!metric) return missingMetric(measure.metric_key);
    return chargeUsageOf(measure, metric, billing.usage_window, counted);
  });
  return calculationInputsOf({ subscription, billing, metrics: catalog.metrics, usage, pending });
}

function missingMetric(key: string): never {
  throw new Error(`metric ${key} named by the subscription's charges is not in the log`);
}

/** `2026-03`, …: the UTC months of [start, end), as usage streams are named by event timestamp. */
export function usageMonths(window: BillingPeriod): string[] {
  const months: string[] = [];
  const last = new Date(Date.parse(window.end_exclusive) - 1);
  const cursor = new Date(Date.UTC(new Date(window.start).getUTCFullYear(), new Date(window.start).getUTCMonth(), 1));
  while (cursor.getTime() <= last.getTime()) {
    months.push(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}

/** Every usage event of the customer's streams of the window's months, merged into log order. */
async function readUsageFromLog(
  store: EventStore,
  tenantId: string,
  customerId: string,
  window: BillingPeriod,
  asOf: Checkpoint | null | undefined,
): Promise<RecordedEvent[]> {
  const streams = await Promise.all(
    usageMonths(window).map((month) =>
      readStreamAsOf(
        store,
        streamName(tenantId, 'usage', usageStreamId(customerId, `${month}-01T00:00:00.000Z`)),
        asOf,
      ),
    ),
  );
  return mergeInLogOrder(store, streams);
}

/** The customer's pending adjustments, folded from the tenant's billing facts in the whole log (to asOf). */
export async function readPendingAdjustments(
  store: EventStore,
  tenantId: string,
  customerId: string,
  asOf: Checkpoint | null | undefined,
): Promise<PendingAdjustment[]> {
  const facts: RecordedEvent[] = [];
  let from: Checkpoint | null = null;
  for (;;) {
    const page = await store.readAll(from, { maxCount: 1000, types: PENDING_ADJUSTMENT_FACT_TYPES });
    for (const event of page.events) {
      if (asOf !== undefined && store.compareCheckpoints(event.position, asOf) > 0) return fold(facts);
      if (event.metadata.tenant_id === tenantId) facts.push(event);
    }
    if (page.atHead) return fold(facts);
    from = page.checkpoint;
  }
  function fold(events: RecordedEvent[]): PendingAdjustment[] {
    return pendingAdjustmentsOf(events, customerId).map(pendingAdjustmentOf);
  }
}
