import type { FieldError } from '../decimal';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type BillingErrorCode =
  /** Any change to a closed (closed, paid, payment_failed, void) invoice. */
  | 'INVOICE.CLOSED'
  | 'INVOICE.NOT_FOUND'
  /** A different draft under an existing invoice id (refresh it instead). */
  | 'INVOICE.ALREADY_EXISTS'
  /** Void or payment of an invoice that is still a draft. */
  | 'INVOICE.NOT_CLOSED'
  | 'INVOICE.ALREADY_PAID'
  | 'INVOICE.VOID'
  | 'INVOICE.INVALID'
  /** A payment whose amount or currency is not the invoice's amount due. */
  | 'INVOICE.PAYMENT_MISMATCH'
  /** A close whose pending adjustments another invoice carries already (recalculate the draft). */
  | 'INVOICE.ADJUSTMENT_CARRIED'
  | 'CALCULATION.INVALID'
  /** The period is not one of the subscription's billing periods, or the subscription is not active in it. */
  | 'CALCULATION.INVALID_PERIOD'
  /** The calculation's checksum or id is not the one its content gives: it was altered. */
  | 'CALCULATION.CHECKSUM_MISMATCH'
  | 'ADJUSTMENT.INVALID'
  | 'ADJUSTMENT.ALREADY_EXISTS'
  /** A late-usage recomputation under another plan version, meter version or charge. */
  | 'ADJUSTMENT.VERSION_MISMATCH';

export class BillingError extends Error {
  constructor(
    readonly code: BillingErrorCode,
    message: string,
    /** The request fields at fault, when the error is about input (`calculation.line_items[0].amount`). */
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'BillingError';
  }
}

/** One error naming every field problem (validation), or nothing when there is none. */
export function assertNoFieldErrors(
  code: 'INVOICE.INVALID' | 'CALCULATION.INVALID' | 'ADJUSTMENT.INVALID',
  errors: readonly FieldError[],
): void {
  if (errors.length > 0) throw new BillingError(code, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}
