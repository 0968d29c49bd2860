import type { DecimalString } from '../../decimal';
import type { Calculation } from '../calculation';
import type { Checksum } from '../checksum';
import type {
  CreditNoteIssued,
  InvoiceClosed,
  InvoiceEvent,
  InvoicePaid,
  InvoicePaymentFailed,
  InvoiceVoided,
} from './invoice.events';

export interface InvoiceDraft {
  invoice_id: string;
  customer_id: string;
  subscription_id: string;
  currency: string;
  period_start: string;
  period_end: string;
  calculation: Calculation;
  drafted_at: string;
  /** Last InvoiceDraftRefreshed; null until then. */
  refreshed_at: string | null;
}

/** The closed invoice document (InvoiceClosed's data): it never changes after closing. */
export type ClosedInvoice = InvoiceClosed['data'];
export type InvoicePayment = Omit<InvoicePaid['data'], 'invoice_id' | 'customer_id' | 'currency'>;
export type InvoicePaymentFailure = Omit<InvoicePaymentFailed['data'], 'invoice_id' | 'customer_id' | 'currency'>;
export type InvoiceVoid = Omit<InvoiceVoided['data'], 'invoice_id' | 'number'>;
export type CreditNote = CreditNoteIssued['data'];

interface Drafted {
  /** The first draft's calculation checksum: a retried DraftInvoice of it is recognised even after a refresh. */
  drafted_checksum: Checksum;
}

interface Closed extends Drafted {
  invoice: ClosedInvoice;
  /** Declined or failed collection attempts, in order. */
  failures: InvoicePaymentFailure[];
}

/**
 * An invoice's life: draft -> closed -> (paid | payment_failed | void); payment_failed -> paid | void.
 * Everything from `closed` on is "closed" in the sense of INVOICE.CLOSED: the document is final.
 */
export type InvoiceState =
  | { status: 'absent' }
  | ({ status: 'draft'; draft: InvoiceDraft } & Drafted)
  | ({ status: 'closed' } & Closed)
  | ({ status: 'payment_failed' } & Closed)
  | ({ status: 'paid'; payment: InvoicePayment } & Closed)
  | ({ status: 'void'; void: InvoiceVoid; credit_note: CreditNote | null } & Closed);

export type InvoiceStatus = Exclude<InvoiceState['status'], 'absent'>;
export type ClosedInvoiceState = Extract<InvoiceState, { invoice: ClosedInvoice }>;

/** Whether the document is final (INVOICE.CLOSED applies). Exhaustive: a new status must be classified here. */
export function isClosedState(state: InvoiceState): state is ClosedInvoiceState {
  switch (state.status) {
    case 'absent':
    case 'draft':
      return false;
    case 'closed':
    case 'payment_failed':
    case 'paid':
    case 'void':
      return true;
    default:
      return unreachable(state);
  }
}

/** The amount due of a closed invoice (its total); a negative total is a credit, nothing is due. */
export function amountDue(invoice: ClosedInvoice): DecimalString {
  return invoice.total;
}

/**
 * Folds one event. Pure and total: an event that cannot follow the state (never written by the
 * decider) leaves the state unchanged rather than throwing, so read models never stall on one.
 */
export function evolveInvoice(state: InvoiceState, event: InvoiceEvent): InvoiceState {
  switch (event.type) {
    case 'InvoiceDrafted': {
      if (state.status !== 'absent') return state;
      const { calculation, drafted_at, ...fields } = event.data;
      const draft = { ...fields, calculation, drafted_at, refreshed_at: null };
      return { status: 'draft', draft, drafted_checksum: calculation.checksum };
    }
    case 'InvoiceDraftRefreshed':
      if (state.status !== 'draft') return state;
      return {
        ...state,
        draft: { ...state.draft, calculation: event.data.calculation, refreshed_at: event.data.refreshed_at },
      };
    case 'InvoiceClosed':
      if (state.status !== 'draft') return state;
      return { status: 'closed', invoice: event.data, failures: [], drafted_checksum: state.drafted_checksum };
    case 'InvoicePaymentFailed': {
      if (state.status !== 'closed' && state.status !== 'payment_failed') return state;
      const { invoice_id: _i, customer_id: _c, currency: _cur, ...failure } = event.data;
      return { ...closedPart(state), status: 'payment_failed', failures: [...state.failures, failure] };
    }
    case 'InvoicePaid': {
      if (state.status !== 'closed' && state.status !== 'payment_failed') return state;
      const { invoice_id: _i, customer_id: _c, currency: _cur, ...payment } = event.data;
      return { ...closedPart(state), status: 'paid', payment };
    }
    case 'InvoiceVoided': {
      if (state.status !== 'closed' && state.status !== 'payment_failed') return state;
      const { invoice_id: _i, number: _n, ...voided } = event.data;
      return { ...closedPart(state), status: 'void', void: voided, credit_note: null };
    }
    case 'CreditNoteIssued':
      if (state.status !== 'void' || state.credit_note !== null) return state;
      return { ...state, credit_note: event.data };
    default:
      return unreachable(event);
  }
}

function closedPart(state: ClosedInvoiceState): Closed {
  return { invoice: state.invoice, failures: state.failures, drafted_checksum: state.drafted_checksum };
}

function unreachable(value: never): never {
  throw new Error(`unhandled invoice message ${JSON.stringify(value)}`);
}
