import type { DecimalString } from '../../decimal';
import type { BillingInterval } from '../../periods';
import type { Charge } from '../../pricing';
import type { Calculation } from '../calculation';
import type { Checksum } from '../checksum';

/**
 * Invoice events, in the stream `<tenant>:invoice-<invoice_id>`
 * (`streamName(tenant, INVOICE_STREAM_CATEGORY, id)`). An invoice is drafted from a sealed
 * calculation, may be refreshed while it is a draft, and is closed once with its number: InvoiceClosed
 * is the whole invoice document (snapshots, the calculation with its lines and breakdowns, tax,
 * totals, checksum), so an auditor needs no other event to reproduce it. After that only facts about
 * it are recorded (paid, payment failed, voided with its credit note); its content never changes.
 */
export const INVOICE_STREAM_CATEGORY = 'invoice';

export const INVOICE_EVENT_TYPES = [
  'InvoiceDrafted',
  'InvoiceDraftRefreshed',
  'InvoiceClosed',
  'InvoiceVoided',
  'CreditNoteIssued',
  'InvoicePaid',
  'InvoicePaymentFailed',
] as const;

/** The customer as billed: copied into the closed invoice, so later edits of the customer never change it. */
export interface CustomerSnapshot {
  id: string;
  name: string;
  email: string | null;
  currency: string;
  timezone: string;
}

/** The locked plan version (with the subscription's overrides) the invoice was priced with. */
export interface PlanSnapshot {
  key: string;
  version: number;
  name: string;
  currency: string;
  billing_interval: BillingInterval;
  charges: Charge[];
  minimum_commitment: DecimalString | null;
}

/** Tax is computed elsewhere (a tax provider); the invoice records what it was given. */
export interface TaxLine {
  /** "VAT 20%", "NY sales tax". */
  name: string;
  /** Decimal rate as a fraction ("0.2"), when the provider gives one. */
  rate: DecimalString | null;
  /** Money, minor units, non-negative. */
  amount: DecimalString;
}

export interface InvoiceDrafted {
  type: 'InvoiceDrafted';
  data: {
    invoice_id: string;
    customer_id: string;
    subscription_id: string;
    currency: string;
    period_start: string;
    /** Exclusive. */
    period_end: string;
    calculation: Calculation;
    drafted_at: string;
  };
}

export interface InvoiceDraftRefreshed {
  type: 'InvoiceDraftRefreshed';
  /** A new calculation for the same customer, subscription, period and plan version. */
  data: { invoice_id: string; calculation: Calculation; refreshed_at: string };
}

/** Everything on a closed invoice but its checksum (which is checksumOf this). */
export interface ClosedInvoiceContent {
  invoice_id: string;
  /** `INV-000042`: per tenant, gapless, in closing order. */
  number: string;
  customer_id: string;
  subscription_id: string;
  currency: string;
  period_start: string;
  period_end: string;
  closed_at: string;
  customer: CustomerSnapshot;
  plan: PlanSnapshot;
  /** The sealed calculation: line items with breakdowns, meter versions, usage checksums, adjustments. */
  calculation: Calculation;
  /** Sum of the line items (calculation.subtotal). */
  subtotal: DecimalString;
  /** Sum of the adjustments carried in (signed). */
  adjustments_total: DecimalString;
  tax_amount: DecimalString;
  tax_lines: TaxLine[];
  /** subtotal + adjustments_total + tax_amount: the amount due. */
  total: DecimalString;
}

export interface InvoiceClosed {
  type: 'InvoiceClosed';
  data: ClosedInvoiceContent & { checksum: Checksum };
}

export interface InvoiceVoided {
  type: 'InvoiceVoided';
  data: { invoice_id: string; number: string; reason: string; credit_note_id: string; voided_at: string };
}

/**
 * The credit note that reverses a voided invoice, recorded with InvoiceVoided (same append). Amounts
 * are the invoice's, credited back in full; the journal reverses the invoice's entry from it.
 */
export interface CreditNoteIssued {
  type: 'CreditNoteIssued';
  data: {
    credit_note_id: string;
    invoice_id: string;
    invoice_number: string;
    customer_id: string;
    currency: string;
    reason: string;
    subtotal: DecimalString;
    adjustments_total: DecimalString;
    tax_amount: DecimalString;
    total: DecimalString;
    issued_at: string;
  };
}

export interface InvoicePaid {
  type: 'InvoicePaid';
  data: {
    invoice_id: string;
    payment_id: string;
    customer_id: string;
    currency: string;
    amount: DecimalString;
    /** `stripe`, `adyen`, `manual`…; null when not given. */
    provider: string | null;
    provider_reference: string | null;
    paid_at: string;
  };
}

/** A declined or failed collection attempt: a fact, the invoice stays due. */
export interface InvoicePaymentFailed {
  type: 'InvoicePaymentFailed';
  data: {
    invoice_id: string;
    attempt_id: string;
    customer_id: string;
    currency: string;
    amount: DecimalString;
    reason: string;
    /** The provider's code (`card_declined`, `insufficient_funds`); null when not given. */
    decline_code: string | null;
    provider: string | null;
    failed_at: string;
  };
}

export type InvoiceEvent =
  | InvoiceDrafted
  | InvoiceDraftRefreshed
  | InvoiceClosed
  | InvoiceVoided
  | CreditNoteIssued
  | InvoicePaid
  | InvoicePaymentFailed;
