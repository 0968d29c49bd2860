import type { Pool } from 'pg';
import type { InvoiceStatus } from '#domain';
import type { LedgerLine } from '#ledger';

/**
 * The reads the billing read models are shaped for, as plain functions over a pool (the API wraps
 * them with its cursors and problem mapping; the billing cycle reads pending adjustments). All are
 * keyset-paginated on an indexed order and eventually consistent: they follow the projector
 * (`waitForPosition` from '#ledger' for read-your-writes).
 */

export interface InvoiceListRow {
  invoice_id: string;
  customer_id: string;
  subscription_id: string;
  status: InvoiceStatus;
  number: string | null;
  currency: string;
  period_start: Date;
  period_end: Date;
  subtotal: string;
  adjustments_total: string;
  tax_amount: string;
  total: string;
  checksum: string | null;
  drafted_at: Date;
  closed_at: Date | null;
  paid_at: Date | null;
  voided_at: Date | null;
}

/** Invoices of a tenant by invoice id, optionally of one customer and/or one status; `after` is the last id seen. */
export async function listInvoices(
  pool: Pool,
  query: { tenantId: string; customerId?: string; status?: InvoiceStatus; after?: string; limit: number },
): Promise<InvoiceListRow[]> {
  const { rows } = await pool.query<InvoiceListRow>(
    `SELECT invoice_id, customer_id, subscription_id, status, number, currency, period_start, period_end, subtotal,
            adjustments_total, tax_amount, total, checksum, drafted_at, closed_at, paid_at, voided_at
       FROM invoices
      WHERE tenant_id = $1 AND ($2::text IS NULL OR customer_id = $2) AND ($3::text IS NULL OR status = $3)
        AND ($4::text IS NULL OR invoice_id > $4)
      ORDER BY invoice_id LIMIT $5`,
    [query.tenantId, query.customerId ?? null, query.status ?? null, query.after ?? null, query.limit],
  );
  return rows;
}

export interface LedgerEntryRow {
  revision: number;
  entry_id: string;
  kind: string;
  reference: string;
  reverses: string | null;
  reason: string;
  currency: string;
  lines: LedgerLine[];
  posted_at: Date;
}

/** One customer's journal in posting order; `afterRevision` is the last revision seen. */
export async function listLedgerEntries(
  pool: Pool,
  query: { tenantId: string; customerId: string; afterRevision?: number; limit: number },
): Promise<LedgerEntryRow[]> {
  const { rows } = await pool.query<LedgerEntryRow>(
    `SELECT revision, entry_id, kind, reference, reverses, reason, currency, lines, posted_at
       FROM ledger_entries
      WHERE tenant_id = $1 AND customer_id = $2 AND revision > $3
      ORDER BY revision LIMIT $4`,
    [query.tenantId, query.customerId, query.afterRevision ?? -1, query.limit],
  );
  return rows;
}

export interface LedgerBalanceRow {
  account: string;
  currency: string;
  debit: string;
  credit: string;
  balance: string;
}

export async function ledgerBalances(pool: Pool, tenantId: string, customerId: string): Promise<LedgerBalanceRow[]> {
  const { rows } = await pool.query<LedgerBalanceRow>(
    `SELECT account, currency, debit, credit, balance FROM ledger_balances
      WHERE tenant_id = $1 AND customer_id = $2 ORDER BY account, currency`,
    [tenantId, customerId],
  );
  return rows;
}

export interface PendingAdjustmentRow {
  adjustment_id: string;
  kind: string;
  amount: string;
  currency: string;
  reason: string;
  invoice_id: string | null;
  charge_key: string | null;
  recorded_at: Date;
}

/** The customer's adjustments no invoice carries yet (the billing cycle puts them on the next invoice). */
export async function pendingAdjustments(
  pool: Pool,
  tenantId: string,
  customerId: string,
): Promise<PendingAdjustmentRow[]> {
  const { rows } = await pool.query<PendingAdjustmentRow>(
    `SELECT adjustment_id, kind, amount, currency, reason, invoice_id, charge_key, recorded_at FROM adjustments
      WHERE tenant_id = $1 AND customer_id = $2 AND applied_to_invoice_id IS NULL AND recorded_at IS NOT NULL
      ORDER BY adjustment_id`,
    [tenantId, customerId],
  );
  return rows;
}
