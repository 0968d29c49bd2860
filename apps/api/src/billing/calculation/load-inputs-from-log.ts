import {
  PENDING_ADJUSTMENT_FACT_TYPES,
  calculationInputsOf,
  pendingAdjustmentOf,
  pendingAdjustmentsOf,
  subscriptionPeriod,
  usageMeasuresOf,
  type BillingPeriod,
  type CalculationInputs,
  type PendingAdjustment,
} from '#domain';
import type { Checkpoint, EventStore, RecordedEvent } from '#ledger';
import { replayUsage } from '../../audit/usage-replay/replay-usage';
import { loadBillingCatalog } from './billing-catalog';

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
 * streams covering the usage window, replayed as they are read (replayUsage: dedupe by idempotency
 * key and usage id, first in log order; voids; each event metered by the version in force at its
 * timestamp; usageChecksum; nothing held per event but its key and id); pending adjustments from
 * the tenant's AdjustmentRecorded / InvoiceClosed / InvoiceVoided facts.
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
  const [usage, pending] = await Promise.all([
    replayUsage({
      store,
      tenantId,
      customerId: subscription.customer_id,
      measures: usageMeasuresOf(subscription.charges),
      metrics: catalog.metrics,
      window: billing.usage_window,
      asOf,
    }),
    readPendingAdjustments(store, tenantId, subscription.customer_id, asOf),
  ]);
  return calculationInputsOf({ subscription, billing, metrics: catalog.metrics, usage, pending });
}

export { usageMonths } from '../../audit/usage-replay/replay-usage';

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
