import { randomBytes } from 'node:crypto';
import {
  BillingError,
  CustomerError,
  DecimalError,
  MoneyError,
  formatMoney,
  isClosedState,
  isCurrencyCode,
  parseDecimal,
  type AdjustmentRecorded,
  type Customer,
  type DecimalString,
  type FieldError,
} from '#domain';
import { loadInvoice, recordAdjustment } from '#ledger';
import { loadCustomer } from '../customers/customer.operations';
import { clockOf, metadataOf, type BillingContext } from './billing-context';

export interface ManualAdjustmentRequest {
  customer_id: string;
  /** Signed: positive charges the customer, negative credits them. A JSON number or a decimal string. */
  amount: unknown;
  currency: string;
  reason: string;
  /** The closed invoice it corrects, if any (same customer). */
  invoice_id?: string | null;
}

export interface RecordedAdjustment {
  adjustment: AdjustmentRecorded['data'];
  /** Who recorded it (the API key id): it is on the event's metadata too. */
  actor: string;
  journal_entry_id: string | null;
}

const invalid = (errors: FieldError[]) =>
  new BillingError('ADJUSTMENT.INVALID', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

/** The amount as money of the currency ("-12.5" USD -> "-12.50"); finer than the minor unit is refused. */
function moneyAmount(raw: unknown, currency: string): DecimalString | FieldError {
  try {
    return formatMoney(parseDecimal(raw, { field: 'amount', allowNegative: true }), currency);
  } catch (error) {
    if (error instanceof DecimalError) return { field: 'amount', message: error.message };
    if (error instanceof MoneyError) return { field: 'amount', message: `must be money in ${currency} (minor units)` };
    throw error;
  }
}

async function customerOf(ctx: BillingContext, id: string): Promise<Customer | null> {
  return loadCustomer(ctx.store, ctx.tenantId, id).catch((error: unknown) => {
    if (error instanceof CustomerError && error.code === 'CUSTOMER.NOT_FOUND') return null;
    throw error;
  });
}

/**
 * A manual credit or debit (finance, admin): recorded once in `<tenant>:adjustment-<id>` with the
 * actor in its metadata, and its balanced journal entry posted (recordAdjustment). It is pending
 * until an invoice carries it: it appears on the customer's next calculation as its own entry.
 * ADJUSTMENT.INVALID names each field at fault (unknown customer, another currency, an invoice of
 * another customer, an amount of zero or finer than the currency's minor unit).
 */
export async function recordManualAdjustment(
  ctx: BillingContext,
  request: ManualAdjustmentRequest,
): Promise<RecordedAdjustment> {
  const customer = await customerOf(ctx, request.customer_id);
  const errors: FieldError[] = [];
  if (customer === null) errors.push({ field: 'customer_id', message: `unknown customer "${request.customer_id}"` });
  else if (customer.currency !== request.currency) {
    errors.push({ field: 'currency', message: `must be the customer's currency ${customer.currency}` });
  }
  if (!isCurrencyCode(request.currency)) errors.push({ field: 'currency', message: 'unknown ISO 4217 currency' });
  const amount = isCurrencyCode(request.currency) ? moneyAmount(request.amount, request.currency) : null;
  if (amount !== null && typeof amount !== 'string') errors.push(amount);
  const invoiceId = request.invoice_id ?? null;
  if (invoiceId !== null) {
    const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
    if (!isClosedState(state) || state.invoice.customer_id !== request.customer_id) {
      errors.push({ field: 'invoice_id', message: `must be a closed invoice of customer ${request.customer_id}` });
    }
  }
  if (errors.length > 0 || typeof amount !== 'string') throw invalid(errors);
  const decision = await recordAdjustment({
    store: ctx.store,
    tenantId: ctx.tenantId,
    command: {
      type: 'RecordAdjustment',
      adjustment_id: `adj_${randomBytes(12).toString('hex')}`,
      customer_id: request.customer_id,
      amount,
      currency: request.currency,
      reason: request.reason,
      kind: 'manual',
      invoice_id: invoiceId,
      at: clockOf(ctx),
    },
    metadata: metadataOf(ctx),
  });
  if (decision.state.status !== 'recorded') throw new Error('the adjustment was not recorded');
  return {
    adjustment: decision.state.adjustment,
    actor: ctx.actor,
    journal_entry_id: decision.journal[0]?.entry.entry_id ?? null,
  };
}
