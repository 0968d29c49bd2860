import { createHash } from 'node:crypto';
import {
  carriedAdjustments,
  endsAt,
  formatMoney,
  sealCalculation,
  type AdjustmentKind,
  type Calculation,
  type PendingAdjustment,
  type Subscription,
} from '#domain';
import { closeInvoiceWithNumber, runInvoiceCommand } from '#ledger';
import { invoiceIdFor } from '../../../api/src/billing/billing-context';
import { customerSnapshot, planSnapshot } from './close-snapshots';
import { endedPeriods } from './ended-periods';
import { metadataOf, type TenantRun } from './tenant-run';
import { failureOf } from './tick-report';

interface PendingRow {
  adjustment_id: string;
  kind: AdjustmentKind;
  amount: string;
  currency: string;
  reason: string;
  invoice_id: string | null;
  charge_key: string | null;
}

const FINAL_STATUSES = new Set(['closed', 'payment_failed', 'paid', 'void']);

/**
 * Step 4 of a tick: credits no invoice will ever carry. A pending adjustment normally rides on the
 * customer's next invoice; when the customer's pending adjustments in a currency sum to a credit and
 * every subscription of the customer in that currency has ended with all its periods closed, no next
 * invoice exists. The cycle then issues a CREDIT NOTE: a closed invoice document with no charge lines
 * that carries those adjustments, so its total is the (negative) credit. It is an invoice in every
 * respect that matters to the books: numbered in the tenant's gapless sequence, posted to the journal
 * (receivables credited, the customer's credits account cleared), and it marks the adjustments carried,
 * so no later invoice carries them again. It belongs to the subscription that ended last, for its final
 * period, under its own id (derived from the subscription and the adjustments it carries).
 *
 * Positive leftovers (the customer owes) are left pending: a later invoice of the customer carries them.
 */
export async function issueCreditNotes(run: TenantRun): Promise<void> {
  const { rows } = await run.pool.query<{ customer_id: string; currency: string }>(
    `SELECT customer_id, currency FROM adjustments
      WHERE tenant_id = $1 AND applied_to_invoice_id IS NULL AND recorded_at IS NOT NULL
      GROUP BY customer_id, currency HAVING sum(amount) < 0
      ORDER BY customer_id, currency`,
    [run.tenantId],
  );
  for (const { customer_id, currency } of rows) {
    try {
      if (await issueCreditNote(run, customer_id, currency)) run.report.credit_notes += 1;
    } catch (error) {
      const failure = failureOf(run.tenantId, `customer:${customer_id}`, error);
      run.report.failed.push(failure);
      run.logger?.warn(failure, 'billing cycle: issuing a credit note failed; retried next tick');
    }
  }
}

async function issueCreditNote(run: TenantRun, customerId: string, currency: string): Promise<boolean> {
  const last = await lastEndedSubscription(run, customerId, currency);
  if (last === null) return false;
  const final = endedPeriods(last, run.now).at(-1);
  if (final === undefined) return false;
  const { rows } = await run.pool.query<PendingRow>(
    `SELECT adjustment_id, kind, amount::text AS amount, currency, reason, invoice_id, charge_key FROM adjustments
      WHERE tenant_id = $1 AND customer_id = $2 AND currency = $3
        AND applied_to_invoice_id IS NULL AND recorded_at IS NOT NULL`,
    [run.tenantId, customerId, currency],
  );
  const pending: PendingAdjustment[] = rows.map((row) => ({ ...row, amount: formatMoney(row.amount, currency) }));
  const calculation = sealCalculation({
    customer_id: customerId,
    subscription_id: last.subscription_id,
    currency,
    period_start: final.period.start,
    period_end: final.period.end_exclusive,
    plan_key: last.plan_key,
    plan_version: last.plan_version,
    line_items: [],
    adjustments: carriedAdjustments(pending, currency),
  });
  const invoiceId = creditNoteInvoiceId(last.subscription_id, calculation);
  const metadata = metadataOf(run);
  await runInvoiceCommand({
    store: run.store,
    tenantId: run.tenantId,
    command: { type: 'DraftInvoice', invoice_id: invoiceId, calculation, at: run.now },
    metadata,
  });
  const closed = await closeInvoiceWithNumber({
    store: run.store,
    tenantId: run.tenantId,
    invoiceId,
    customer: await customerSnapshot(run, customerId),
    plan: await planSnapshot(run, last),
    at: run.now,
    metadata,
  });
  return closed.closedNow;
}

/**
 * The customer's subscription in `currency` that ended last, when every one of them has ended and has
 * all its periods closed (else the next invoice carries the credit: null). Ended for good: a
 * subscription that is only scheduled to end (ends_at in the future) still has an invoice to come.
 */
async function lastEndedSubscription(
  run: TenantRun,
  customerId: string,
  currency: string,
): Promise<Subscription | null> {
  const { rows } = await run.pool.query<{ subscription: Subscription }>(
    `SELECT subscription FROM subscriptions WHERE tenant_id = $1 AND customer_id = $2`,
    [run.tenantId, customerId],
  );
  const subscriptions = rows.map((row) => row.subscription).filter((s) => s.currency === currency);
  let last: Subscription | null = null;
  for (const subscription of subscriptions) {
    const end = endsAt(subscription);
    if (end === null || Date.parse(end) > run.now.getTime()) return null;
    if (last === null || Date.parse(end) > Date.parse(endsAt(last)!)) last = subscription;
  }
  const ids = subscriptions.flatMap((s) =>
    endedPeriods(s, run.now).map((p) => invoiceIdFor(s.subscription_id, p.period)),
  );
  if (ids.length === 0) return null;
  const statuses = await run.pool.query<{ status: string }>(
    `SELECT status FROM invoices WHERE tenant_id = $1 AND invoice_id = ANY($2::text[])`,
    [run.tenantId, ids],
  );
  const allClosed = statuses.rows.length === ids.length && statuses.rows.every((r) => FINAL_STATUSES.has(r.status));
  return allClosed ? last : null;
}

/** `inv_` + 24 hex digits from the subscription and the adjustments carried: the same credit, the same id. */
export function creditNoteInvoiceId(subscriptionId: string, calculation: Calculation): string {
  const carried = calculation.adjustments.map((a) => a.adjustment_id).join(',');
  const digest = createHash('sha256').update(`abaxus:credit-note:${subscriptionId}:${carried}`).digest('hex');
  return `inv_${digest.slice(0, 24)}`;
}
