import {
  Dec,
  formatMoney,
  type AdjustmentRecorded,
  type CreditNoteIssued,
  type DecimalString,
  type InvoiceClosed,
  type InvoicePaid,
} from '#domain';
import { ledgerEntryId } from './entry-id';
import {
  creditsAccount,
  receivablesAccount,
  type LedgerEntry,
  type LedgerEntryKind,
  type LedgerLine,
} from './ledger-entry';
import { validateEntry } from './validate-entry';

/**
 * The journal entry each billing fact posts. Pure and deterministic: the same event always gives the
 * same entry (id included), so posting it again, from anywhere, is a no-op.
 *
 * | fact                 | debit                                   | credit                                   |
 * |----------------------|-----------------------------------------|------------------------------------------|
 * | invoice closed       | receivables:c  total                    | revenue subtotal, tax_payable tax         |
 * |   carried adjustments| credits:c  -adjustments (credits)       | credits:c  adjustments (charges)          |
 * | credit note (void)   | the invoice entry with sides swapped, `reverses` = the invoice entry              |
 * | payment              | cash  amount                            | receivables:c  amount                     |
 * | adjustment > 0       | credits:c  amount                       | revenue  amount                           |
 * | adjustment < 0       | revenue  |amount|                        | credits:c  |amount|                      |
 * | reversal of E        | E's credits                             | E's debits (`reverses` = E)               |
 *
 * An adjustment is revenue when recorded; `credits:c` holds it until an invoice carries it, and the
 * close moves it to receivables. A negative invoice total (credits above the charges) credits
 * receivables: the customer's balance is in their favour. A fact whose amounts are all zero posts nothing.
 */

/** Signed, debit-positive amounts per account -> lines (zero amounts dropped, accounts in the given order). */
function linesOf(currency: string, amounts: ReadonlyArray<[string, Dec]>): LedgerLine[] {
  const lines: LedgerLine[] = [];
  for (const [account, amount] of amounts) {
    if (amount.isZero()) continue;
    const money = formatMoney(amount.abs(), currency);
    lines.push(amount.isPositive() ? { account, debit: money } : { account, credit: money });
  }
  return lines;
}

interface EntryFacts {
  tenantId: string;
  customerId: string;
  currency: string;
  kind: LedgerEntryKind;
  reference: string;
  reverses?: string | null;
  reason: string;
  postedAt: string;
}

function entryOf(facts: EntryFacts, lines: LedgerLine[]): LedgerEntry | null {
  if (lines.length === 0) return null;
  return validateEntry({
    entry_id: ledgerEntryId(facts.tenantId, facts.kind, facts.reference),
    tenant_id: facts.tenantId,
    customer_id: facts.customerId,
    currency: facts.currency,
    kind: facts.kind,
    reference: facts.reference,
    reverses: facts.reverses ?? null,
    reason: facts.reason,
    lines,
    posted_at: facts.postedAt,
  });
}

const dec = (amount: DecimalString) => new Dec(amount);

/** The lines of an invoice's amounts, shared by the close and (swapped) its credit note. */
function invoiceLines(
  customerId: string,
  currency: string,
  amounts: {
    subtotal: DecimalString;
    adjustments_total: DecimalString;
    tax_amount: DecimalString;
    total: DecimalString;
  },
): LedgerLine[] {
  return linesOf(currency, [
    [receivablesAccount(customerId), dec(amounts.total)],
    [creditsAccount(customerId), dec(amounts.adjustments_total).negated()],
    ['revenue', dec(amounts.subtotal).negated()],
    ['tax_payable', dec(amounts.tax_amount).negated()],
  ]);
}

export function invoiceClosedEntry(tenantId: string, invoice: InvoiceClosed['data']): LedgerEntry | null {
  return entryOf(
    {
      tenantId,
      customerId: invoice.customer_id,
      currency: invoice.currency,
      kind: 'invoice',
      reference: invoice.invoice_id,
      reason: `invoice ${invoice.number} closed`,
      postedAt: invoice.closed_at,
    },
    invoiceLines(invoice.customer_id, invoice.currency, invoice),
  );
}

/** Reverses the invoice's entry (the credit note credits back exactly what the invoice debited). */
export function creditNoteEntry(tenantId: string, note: CreditNoteIssued['data']): LedgerEntry | null {
  return entryOf(
    {
      tenantId,
      customerId: note.customer_id,
      currency: note.currency,
      kind: 'credit_note',
      reference: note.credit_note_id,
      reverses: ledgerEntryId(tenantId, 'invoice', note.invoice_id),
      reason: `credit note ${note.credit_note_id} voids invoice ${note.invoice_number}: ${note.reason}`,
      postedAt: note.issued_at,
    },
    invoiceLines(note.customer_id, note.currency, note).map(swapSides),
  );
}

export function paymentEntry(tenantId: string, payment: InvoicePaid['data']): LedgerEntry | null {
  const amount = dec(payment.amount);
  return entryOf(
    {
      tenantId,
      customerId: payment.customer_id,
      currency: payment.currency,
      kind: 'payment',
      reference: payment.payment_id,
      reason: `payment ${payment.payment_id} of invoice ${payment.invoice_id}`,
      postedAt: payment.paid_at,
    },
    linesOf(payment.currency, [
      ['cash', amount],
      [receivablesAccount(payment.customer_id), amount.negated()],
    ]),
  );
}

export function adjustmentEntry(tenantId: string, adjustment: AdjustmentRecorded['data']): LedgerEntry | null {
  const amount = dec(adjustment.amount);
  return entryOf(
    {
      tenantId,
      customerId: adjustment.customer_id,
      currency: adjustment.currency,
      kind: 'adjustment',
      reference: adjustment.adjustment_id,
      reason: `${adjustment.kind} adjustment: ${adjustment.reason}`,
      postedAt: adjustment.recorded_at,
    },
    linesOf(adjustment.currency, [
      [creditsAccount(adjustment.customer_id), amount],
      ['revenue', amount.negated()],
    ]),
  );
}

/** A correction of any entry (a reversal's reversal included): the same lines, sides swapped. */
export function reversalEntry(original: LedgerEntry, options: { reason: string; at: Date }): LedgerEntry {
  return entryOf(
    {
      tenantId: original.tenant_id,
      customerId: original.customer_id,
      currency: original.currency,
      kind: 'reversal',
      reference: original.entry_id,
      reverses: original.entry_id,
      reason: options.reason,
      postedAt: options.at.toISOString(),
    },
    original.lines.map(swapSides),
  ) as LedgerEntry;
}

function swapSides(line: LedgerLine): LedgerLine {
  return line.debit !== undefined
    ? { account: line.account, credit: line.debit }
    : { account: line.account, debit: line.credit as DecimalString };
}

/** The billing events that post journal entries. */
export const JOURNALED_EVENT_TYPES = [
  'InvoiceClosed',
  'CreditNoteIssued',
  'InvoicePaid',
  'AdjustmentRecorded',
] as const;

/** The entry a recorded billing event posts; null for other events and for facts with nothing to post. */
export function journalEntryFor(tenantId: string, event: { type: string; data: unknown }): LedgerEntry | null {
  switch (event.type) {
    case 'InvoiceClosed':
      return invoiceClosedEntry(tenantId, event.data as InvoiceClosed['data']);
    case 'CreditNoteIssued':
      return creditNoteEntry(tenantId, event.data as CreditNoteIssued['data']);
    case 'InvoicePaid':
      return paymentEntry(tenantId, event.data as InvoicePaid['data']);
    case 'AdjustmentRecorded':
      return adjustmentEntry(tenantId, event.data as AdjustmentRecorded['data']);
    default:
      return null;
  }
}
