import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { EventMetadata, EventStore } from '#ledger';
import type { BillingContext } from '../../../api/src/billing/billing-context';
import type { TickReport } from './tick-report';

/** Who the billing cycle's events name as their actor. */
export const BILLING_CYCLE_ACTOR = 'system:billing-cycle';

/** One tick's work on one tenant: the clock read once for the tick, the tenant's grace, the report. */
export interface TenantRun {
  pool: Pool;
  store: EventStore;
  logger?: Logger;
  tenantId: string;
  /** The cycle's clock at the start of the tick: every decision of the tick is about this instant. */
  now: Date;
  graceSeconds: number;
  /** The billing operations' context (actor `system:billing-cycle`, the cycle's clock). */
  billing: BillingContext;
  /** Customers worked on at the same time (each customer's invoices one after the other). */
  concurrency: number;
  /**
   * Invoices per batch (one snapshot read, one transaction drafting and closing them all) on the
   * Postgres store; 0: one invoice at a time (always on KurrentDB).
   */
  batchSize: number;
  /** At most this many closed invoices are checked for late usage per tenant and tick. */
  lateUsageLimit: number;
  report: TickReport;
}

export function metadataOf(run: TenantRun): EventMetadata {
  const metadata: EventMetadata = { tenant_id: run.tenantId, actor: BILLING_CYCLE_ACTOR };
  if (run.billing.requestId !== undefined) metadata.request_id = run.billing.requestId;
  return metadata;
}

/** Runs `work` over `items` with at most `concurrency` in flight; each item's failure is its own. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
