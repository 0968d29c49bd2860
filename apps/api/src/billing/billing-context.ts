import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { BillingPeriod } from '#domain';
import type { EventMetadata, EventStore } from '#ledger';

/**
 * What every billing operation runs with: the database (read models), the event store, the caller's
 * tenant and identity (recorded on every event), and the clock (the domain never reads one).
 */
export interface BillingContext {
  pool: Pool;
  store: EventStore;
  tenantId: string;
  /** API key id, `cli:<user>` or `system:<component>`. */
  actor: string;
  requestId?: string;
  now?: () => Date;
  /** How long a calculation waits for the projections (default CALCULATION_BARRIER_MS). */
  barrierMs?: number;
}

export function metadataOf(ctx: BillingContext): EventMetadata {
  const metadata: EventMetadata = { tenant_id: ctx.tenantId, actor: ctx.actor };
  if (ctx.requestId !== undefined) metadata.request_id = ctx.requestId;
  return metadata;
}

export const clockOf = (ctx: BillingContext): Date => (ctx.now ?? (() => new Date()))();

const digest = (name: string) => createHash('sha256').update(`abaxus:${name}`).digest('hex').slice(0, 24);

/**
 * An invoice's id is derived from its subscription and period: one invoice per subscription period,
 * so drafting it again (a retry, a second bulk run) finds the same invoice instead of a new one.
 */
export function invoiceIdFor(subscriptionId: string, period: BillingPeriod): string {
  const instant = (at: string) => new Date(at).toISOString();
  return `inv_${digest(`invoice:${subscriptionId}:${instant(period.start)}:${instant(period.end_exclusive)}`)}`;
}

/** The credit note voiding an invoice: one per invoice (a second void is a no-op anyway). */
export function creditNoteIdFor(invoiceId: string): string {
  return `cn_${digest(`credit-note:${invoiceId}`)}`;
}
