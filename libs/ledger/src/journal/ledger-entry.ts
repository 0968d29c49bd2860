import type { DecimalString } from '#domain';
import { streamName } from '../streams';

/**
 * The double-entry journal: one stream per tenant and customer, `<tenant>:ledger-<customer>`, of
 * LedgerEntryPosted events. Every entry balances (debits = credits, one currency), amounts are
 * positive money in minor units, and an entry is never changed: a correction is a reversing entry
 * that references the one it reverses.
 */
export const LEDGER_STREAM_CATEGORY = 'ledger';
export const LEDGER_ENTRY_POSTED = 'LedgerEntryPosted';

/**
 * Accounts. Customer accounts carry the customer id; the others are the tenant's, and appear in each
 * customer's ledger for that customer's share (revenue from them, cash from them).
 * - `receivables:<customer>` (asset): what the customer owes on closed invoices.
 * - `credits:<customer>` (liability): adjustments recorded but not yet invoiced; a credit balance is
 *   owed to the customer, a debit balance is a charge still to be invoiced.
 * - `revenue` (income), `cash` (asset, payments received), `tax_payable` (liability, tax invoiced).
 */
export const TENANT_ACCOUNTS = ['revenue', 'cash', 'tax_payable'] as const;
export const CUSTOMER_ACCOUNT_KINDS = ['receivables', 'credits'] as const;
export type TenantAccount = (typeof TENANT_ACCOUNTS)[number];

export const receivablesAccount = (customerId: string) => `receivables:${customerId}`;
export const creditsAccount = (customerId: string) => `credits:${customerId}`;

/** What an entry records; with `reference`, it determines the entry id. */
export const LEDGER_ENTRY_KINDS = ['invoice', 'credit_note', 'payment', 'adjustment', 'reversal'] as const;
export type LedgerEntryKind = (typeof LEDGER_ENTRY_KINDS)[number];

/** One side of one account: exactly one of `debit` and `credit`, a positive money string. */
export type LedgerLine =
  | { account: string; debit: DecimalString; credit?: undefined }
  | { account: string; credit: DecimalString; debit?: undefined };

export interface LedgerEntry {
  /** uuid derived from (tenant, kind, reference): posting the same fact twice posts once. */
  entry_id: string;
  tenant_id: string;
  customer_id: string;
  /** One currency per entry; lines carry none. */
  currency: string;
  kind: LedgerEntryKind;
  /** The invoice, credit note, payment or adjustment id; for a reversal, the reversed entry id. */
  reference: string;
  /** The entry this one reverses (credit notes, reversals); null otherwise. */
  reverses: string | null;
  reason: string;
  lines: LedgerLine[];
  /** Business time of the fact (RFC 3339 UTC). */
  posted_at: string;
}

export interface LedgerEntryPosted {
  type: typeof LEDGER_ENTRY_POSTED;
  data: LedgerEntry;
}

export function ledgerStream(tenantId: string, customerId: string): string {
  return streamName(tenantId, LEDGER_STREAM_CATEGORY, customerId);
}

/** The amount of a line, signed debit-positive ("10.00" debit -> +10, credit -> -10), as [side, amount]. */
export function sideOf(line: LedgerLine): ['debit' | 'credit', DecimalString] {
  return line.debit !== undefined ? ['debit', line.debit] : ['credit', line.credit as DecimalString];
}
