import type { DecimalString } from '../../decimal';
import type { CustomerSnapshot, PlanSnapshot, TaxLine } from './invoice.events';

/**
 * Gapless invoice numbers, per tenant. The singleton stream `<tenant>:invoice_numbers`
 * (`streamName(tenant, INVOICE_NUMBERS_STREAM_CATEGORY)`) holds one InvoiceNumberAssigned per closed
 * invoice; its stream revision IS the sequence (revision r holds number r + 1), so the numbers are
 * exactly 1..n, in the order the log accepted them. (`invoice_numbers`, not `invoice-numbers`:
 * `<tenant>:invoice-numbers` would be the stream of an invoice whose id is "numbers".)
 *
 * The assignment is the commit point of a close: it records the whole close request, so whoever
 * comes next (the caller retrying, another replica, the sweeper) can complete the close from it.
 * The orchestration lives in libs/ledger (`closeInvoiceWithNumber`): the domain has no I/O.
 */
export const INVOICE_NUMBERS_STREAM_CATEGORY = 'invoice_numbers';
export const INVOICE_NUMBER_ASSIGNED = 'InvoiceNumberAssigned';

export const INVOICE_NUMBER_PREFIX = 'INV-';
const INVOICE_NUMBER = /^INV-(\d{6,})$/;

/** What closing an invoice needs besides its number. Time comes from the caller (no clock here). */
export interface InvoiceCloseRequest {
  closed_at: string;
  customer: CustomerSnapshot;
  plan: PlanSnapshot;
  /** Null or absent: no tax. Otherwise non-negative money; equals the sum of `tax_lines` when lines are given. */
  tax_amount: DecimalString | null;
  tax_lines: TaxLine[];
}

export interface InvoiceNumberAssigned {
  type: typeof INVOICE_NUMBER_ASSIGNED;
  data: {
    invoice_id: string;
    number: string;
    /** 1-based; equals the event's stream revision + 1. */
    sequence: number;
    close: InvoiceCloseRequest;
    /**
     * The pending adjustments the invoice carries (its draft calculation's), so that no other invoice
     * takes a number carrying one of them while this one is not voided (libs/ledger
     * adjustment-carriers.ts). Absent on assignments recorded before it existed.
     */
    adjustment_ids?: string[];
  };
}

/** 1 -> "INV-000001"; beyond 999999 the number simply grows ("INV-1000000"). */
export function formatInvoiceNumber(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new RangeError(`invalid invoice sequence ${sequence}`);
  return `${INVOICE_NUMBER_PREFIX}${String(sequence).padStart(6, '0')}`;
}

/** "INV-000042" -> 42; null for anything that is not an invoice number. */
export function invoiceSequenceOf(number: string): number | null {
  const match = typeof number === 'string' ? INVOICE_NUMBER.exec(number) : null;
  if (!match) return null;
  const sequence = Number(match[1]);
  return Number.isSafeInteger(sequence) && sequence >= 1 && formatInvoiceNumber(sequence) === number ? sequence : null;
}
