import { Dec, type DecimalString, type FieldError } from '../../decimal';
import { formatMoney, sumMoney } from '../../money';
import { assertNoFieldErrors, BillingError } from '../billing.errors';
import { idProblems, moneyProblems, nullableText, textProblems } from '../billing-fields';
import { verifyCalculation, type Calculation } from '../calculation';
import { checksumOf } from '../checksum';
import {
  type ClosedInvoiceContent,
  type CreditNoteIssued,
  type CustomerSnapshot,
  type InvoiceClosed,
  type InvoiceDrafted,
  type InvoiceDraftRefreshed,
  type InvoiceEvent,
  type InvoicePaid,
  type InvoicePaymentFailed,
  type InvoiceVoided,
  type PlanSnapshot,
  type TaxLine,
} from './invoice.events';
import { invoiceSequenceOf, type InvoiceCloseRequest } from './invoice-number';
import { evolveInvoice, isClosedState, type ClosedInvoiceState, type InvoiceDraft, type InvoiceState } from './invoice';
import { closeRequestProblems } from './invoice-close';

export interface DraftInvoice {
  type: 'DraftInvoice';
  invoice_id: string;
  /** Sealed (sealCalculation); its customer, subscription and period are the invoice's. */
  calculation: Calculation;
  at: Date;
}

export interface RefreshDraft {
  type: 'RefreshDraft';
  invoice_id: string;
  /** Same customer, subscription, period, plan version and currency as the draft. */
  calculation: Calculation;
  at: Date;
}

export interface CloseInvoice {
  type: 'CloseInvoice';
  invoice_id: string;
  /** Assigned by the numbering stream (closeInvoiceWithNumber in libs/ledger), never chosen here. */
  number: string;
  customer: CustomerSnapshot;
  plan: PlanSnapshot;
  tax_amount?: DecimalString | null;
  tax_lines?: TaxLine[];
  at: Date;
}

export interface VoidInvoice {
  type: 'VoidInvoice';
  invoice_id: string;
  reason: string;
  /** Id of the credit note that reverses the invoice (chosen by the caller, like every id). */
  credit_note_id: string;
  at: Date;
}

export interface RecordPayment {
  type: 'RecordPayment';
  invoice_id: string;
  payment_id: string;
  /** Must be the amount due (the invoice total): partial payments are not modelled yet. */
  amount: DecimalString;
  provider?: string | null;
  provider_reference?: string | null;
  at: Date;
}

export interface RecordPaymentFailure {
  type: 'RecordPaymentFailure';
  invoice_id: string;
  attempt_id: string;
  reason: string;
  decline_code?: string | null;
  provider?: string | null;
  at: Date;
}

export type InvoiceCommand =
  DraftInvoice | RefreshDraft | CloseInvoice | VoidInvoice | RecordPayment | RecordPaymentFailure;

export const invoiceDecider = {
  initialState(): InvoiceState {
    return { status: 'absent' };
  },

  evolve: evolveInvoice,

  decide(command: InvoiceCommand, state: InvoiceState): InvoiceEvent[] {
    switch (command.type) {
      case 'DraftInvoice':
        return decideDraft(command, state);
      case 'RefreshDraft':
        return decideRefresh(command, state);
      case 'CloseInvoice':
        return decideClose(command, state);
      case 'VoidInvoice':
        return decideVoid(command, state);
      case 'RecordPayment':
        return decidePayment(command, state);
      case 'RecordPaymentFailure':
        return decidePaymentFailure(command, state);
      default:
        return unreachable(command);
    }
  },
};

/** The close request a CloseInvoice command carries (what the numbering stream records). */
export function closeRequestOf(command: CloseInvoice): InvoiceCloseRequest {
  return {
    closed_at: command.at.toISOString(),
    customer: command.customer,
    plan: command.plan,
    tax_amount: command.tax_amount ?? null,
    tax_lines: command.tax_lines ?? [],
  };
}

function closedError(invoiceId: string, what: string): BillingError {
  return new BillingError('INVOICE.CLOSED', `invoice ${invoiceId} is closed: ${what} is not allowed`);
}

function notFound(invoiceId: string): BillingError {
  return new BillingError('INVOICE.NOT_FOUND', `no invoice ${invoiceId}`);
}

/** The same draft again (a retried command) changes nothing, even after the invoice was refreshed or closed. */
function decideDraft(command: DraftInvoice, state: InvoiceState): InvoiceDrafted[] {
  assertNoFieldErrors('INVOICE.INVALID', idProblems(command.invoice_id, 'invoice_id'));
  const calculation = verifyCalculation(command.calculation);
  if (state.status !== 'absent') {
    const current = state.status === 'draft' ? state.draft.calculation : state.invoice.calculation;
    if (calculation.checksum === state.drafted_checksum || calculation.checksum === current.checksum) return [];
    if (isClosedState(state)) throw closedError(command.invoice_id, 'drafting it again');
    throw new BillingError(
      'INVOICE.ALREADY_EXISTS',
      `invoice ${command.invoice_id} is already drafted with another calculation; refresh the draft instead`,
    );
  }
  const { customer_id, subscription_id, currency, period_start, period_end } = calculation;
  return [
    {
      type: 'InvoiceDrafted',
      data: {
        invoice_id: command.invoice_id,
        customer_id,
        subscription_id,
        currency,
        period_start,
        period_end,
        calculation,
        drafted_at: command.at.toISOString(),
      },
    },
  ];
}

function decideRefresh(command: RefreshDraft, state: InvoiceState): InvoiceDraftRefreshed[] {
  if (state.status === 'absent') throw notFound(command.invoice_id);
  if (isClosedState(state)) throw closedError(command.invoice_id, 'refreshing it');
  const calculation = verifyCalculation(command.calculation);
  if (calculation.checksum === state.draft.calculation.checksum) return [];
  assertNoFieldErrors('INVOICE.INVALID', sameScopeProblems(state.draft, calculation));
  return [
    {
      type: 'InvoiceDraftRefreshed',
      data: { invoice_id: command.invoice_id, calculation, refreshed_at: command.at.toISOString() },
    },
  ];
}

/** A refresh re-prices the same thing: it may change usage, lines and adjustments, not what is billed. */
function sameScopeProblems(draft: InvoiceDraft, calculation: Calculation): FieldError[] {
  const current = draft.calculation;
  const members = [
    'customer_id',
    'subscription_id',
    'currency',
    'period_start',
    'period_end',
    'plan_key',
    'plan_version',
  ];
  return members
    .filter((member) => calculation[member as keyof Calculation] !== current[member as keyof Calculation])
    .map((member) => ({
      field: `calculation.${member}`,
      message: `must stay ${String(current[member as keyof Calculation])}`,
    }));
}

/**
 * Whether the draft can be closed with this request: checked before a number is assigned, because
 * once assigned the close must go through (a number that closes nothing would be a gap).
 */
export function assertClosable(state: InvoiceState, invoiceId: string, request: InvoiceCloseRequest): InvoiceDraft {
  if (state.status === 'absent') throw notFound(invoiceId);
  if (isClosedState(state)) throw closedError(invoiceId, 'closing it again with another number');
  assertNoFieldErrors('INVOICE.INVALID', closeRequestProblems(state.draft, request));
  return state.draft;
}

/** Closing twice with the number it already has is a no-op; any other close of a closed invoice is INVOICE.CLOSED. */
function decideClose(command: CloseInvoice, state: InvoiceState): InvoiceClosed[] {
  if (isClosedState(state) && state.invoice.number === command.number) return [];
  if (invoiceSequenceOf(command.number) === null) {
    throw new BillingError('INVOICE.INVALID', `"${command.number}" is not an invoice number (INV-000001)`, [
      { field: 'number', message: 'must be INV- and at least 6 digits' },
    ]);
  }
  const request = closeRequestOf(command);
  const draft = assertClosable(state, command.invoice_id, request);
  return [{ type: 'InvoiceClosed', data: closedInvoiceOf(draft, command.number, request) }];
}

/** The closed invoice document and its checksum. */
export function closedInvoiceOf(
  draft: InvoiceDraft,
  number: string,
  request: InvoiceCloseRequest,
): InvoiceClosed['data'] {
  const { calculation, currency } = draft;
  const taxAmount =
    request.tax_amount ??
    sumMoney(
      request.tax_lines.map((line) => line.amount),
      currency,
    );
  const adjustmentsTotal = sumMoney(
    calculation.adjustments.map((adjustment) => adjustment.amount),
    currency,
  );
  const content: ClosedInvoiceContent = {
    invoice_id: draft.invoice_id,
    number,
    customer_id: draft.customer_id,
    subscription_id: draft.subscription_id,
    currency,
    period_start: draft.period_start,
    period_end: draft.period_end,
    closed_at: request.closed_at,
    customer: request.customer,
    plan: request.plan,
    calculation,
    subtotal: calculation.subtotal,
    adjustments_total: adjustmentsTotal,
    tax_amount: taxAmount,
    tax_lines: request.tax_lines,
    total: sumMoney([calculation.total, taxAmount], currency),
  };
  return { ...content, checksum: checksumOf(content) };
}

/** Only a closed or payment-failed invoice is voided; it stays, and a credit note reverses it. */
function decideVoid(command: VoidInvoice, state: InvoiceState): Array<InvoiceVoided | CreditNoteIssued> {
  const invoice = requireClosed(state, command.invoice_id);
  if (invoice.status === 'void') return [];
  if (invoice.status === 'paid') {
    throw new BillingError(
      'INVOICE.ALREADY_PAID',
      `invoice ${command.invoice_id} is paid; refund it instead of voiding it`,
    );
  }
  assertNoFieldErrors('INVOICE.INVALID', [
    ...textProblems(command.reason, 'reason', 500),
    ...idProblems(command.credit_note_id, 'credit_note_id'),
  ]);
  const document = invoice.invoice;
  const at = command.at.toISOString();
  return [
    {
      type: 'InvoiceVoided',
      data: {
        invoice_id: document.invoice_id,
        number: document.number,
        reason: command.reason,
        credit_note_id: command.credit_note_id,
        voided_at: at,
      },
    },
    {
      type: 'CreditNoteIssued',
      data: {
        credit_note_id: command.credit_note_id,
        invoice_id: document.invoice_id,
        invoice_number: document.number,
        customer_id: document.customer_id,
        currency: document.currency,
        reason: command.reason,
        subtotal: document.subtotal,
        adjustments_total: document.adjustments_total,
        tax_amount: document.tax_amount,
        total: document.total,
        issued_at: at,
      },
    },
  ];
}

function requireClosed(state: InvoiceState, invoiceId: string): ClosedInvoiceState {
  if (state.status === 'absent') throw notFound(invoiceId);
  if (!isClosedState(state)) {
    throw new BillingError('INVOICE.NOT_CLOSED', `invoice ${invoiceId} is a draft: close it first`);
  }
  return state;
}

function decidePayment(command: RecordPayment, state: InvoiceState): InvoicePaid[] {
  const invoice = requireClosed(state, command.invoice_id);
  if (invoice.status === 'paid') {
    if (invoice.payment.payment_id === command.payment_id) return [];
    throw new BillingError('INVOICE.ALREADY_PAID', `invoice ${command.invoice_id} is already paid`);
  }
  if (invoice.status === 'void') throw new BillingError('INVOICE.VOID', `invoice ${command.invoice_id} is void`);
  const { currency, total, customer_id } = invoice.invoice;
  assertNoFieldErrors('INVOICE.INVALID', [
    ...idProblems(command.payment_id, 'payment_id'),
    ...moneyProblems(command.amount, currency, 'amount', 'non_negative'),
    ...nullableText(command.provider ?? null, 'provider', 50),
    ...nullableText(command.provider_reference ?? null, 'provider_reference', 200),
  ]);
  if (new Dec(total).isNegative() || command.amount !== formatMoney(total, currency)) {
    throw new BillingError(
      'INVOICE.PAYMENT_MISMATCH',
      `invoice ${command.invoice_id} is due ${total} ${currency}, not ${command.amount}`,
    );
  }
  return [
    {
      type: 'InvoicePaid',
      data: {
        invoice_id: command.invoice_id,
        payment_id: command.payment_id,
        customer_id,
        currency,
        amount: command.amount,
        provider: command.provider ?? null,
        provider_reference: command.provider_reference ?? null,
        paid_at: command.at.toISOString(),
      },
    },
  ];
}

/** A failed attempt is a fact about a due invoice; the same attempt twice is recorded once. */
function decidePaymentFailure(command: RecordPaymentFailure, state: InvoiceState): InvoicePaymentFailed[] {
  const invoice = requireClosed(state, command.invoice_id);
  if (invoice.failures.some((failure) => failure.attempt_id === command.attempt_id)) return [];
  if (invoice.status === 'paid') {
    throw new BillingError('INVOICE.ALREADY_PAID', `invoice ${command.invoice_id} is already paid`);
  }
  if (invoice.status === 'void') throw new BillingError('INVOICE.VOID', `invoice ${command.invoice_id} is void`);
  assertNoFieldErrors('INVOICE.INVALID', [
    ...idProblems(command.attempt_id, 'attempt_id'),
    ...textProblems(command.reason, 'reason', 500),
    ...nullableText(command.decline_code ?? null, 'decline_code', 100),
    ...nullableText(command.provider ?? null, 'provider', 50),
  ]);
  const { customer_id, currency, total } = invoice.invoice;
  return [
    {
      type: 'InvoicePaymentFailed',
      data: {
        invoice_id: command.invoice_id,
        attempt_id: command.attempt_id,
        customer_id,
        currency,
        amount: total,
        reason: command.reason,
        decline_code: command.decline_code ?? null,
        provider: command.provider ?? null,
        failed_at: command.at.toISOString(),
      },
    },
  ];
}

function unreachable(value: never): never {
  throw new Error(`unhandled invoice command ${JSON.stringify(value)}`);
}
