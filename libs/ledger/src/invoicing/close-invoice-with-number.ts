import { randomUUID } from 'node:crypto';
import {
  assertClosable,
  invoiceDecider,
  isClosedState,
  type ClosedInvoice,
  type CustomerSnapshot,
  type DecimalString,
  type InvoiceCloseRequest,
  type PlanSnapshot,
  type TaxLine,
} from '#domain';
import { WrongExpectedRevisionError, type Checkpoint, type EventMetadata, type EventStore } from '../event-store';
import { postJournalFor, type PostedEntry } from '../journal/post-entry';
import { carriedAdjustmentIds } from './adjustment-carriers';
import { assignInvoiceNumber, readAssignments, type InvoiceNumberAssignment } from './invoice-numbering';
import { backoff, invoiceStream, loadInvoice } from './invoice-store';

export interface CloseInvoiceWithNumberOptions {
  store: EventStore;
  tenantId: string;
  invoiceId: string;
  customer: CustomerSnapshot;
  plan: PlanSnapshot;
  tax_amount?: DecimalString | null;
  tax_lines?: TaxLine[];
  /** The close time (the caller's clock). */
  at: Date;
  metadata: EventMetadata;
}

export interface ClosedInvoiceResult {
  number: string;
  /** The closed document as recorded (by this call or by whichever close got there first). */
  invoice: ClosedInvoice;
  /** False when the invoice was already closed: nothing new was decided. */
  closedNow: boolean;
  /** Position of the InvoiceClosed append; null when this call appended nothing. */
  position: Checkpoint | null;
  /** The invoice's journal entry (null for an invoice with nothing to post). */
  journal: PostedEntry | null;
}

/**
 * Closes a draft with the next invoice number of its tenant, without gaps:
 *
 * 1. the close is validated first (assertClosable), so no number is taken for a close that must fail;
 * 2. the number is assigned in `<tenant>:invoice_numbers` (revision = sequence), with the request
 *    and the adjustments the invoice carries (refused with AdjustmentCarriedError when another
 *    invoice carries one: recalculate the draft): this append is the COMMIT POINT of the close;
 * 3. InvoiceClosed is appended to the invoice from the RECORDED request (idempotent: an invoice
 *    already closed with that number gives no event);
 * 4. the invoice's journal entry is posted (idempotent: deterministic entry id).
 *
 * A crash after 2 leaves a number whose invoice is still a draft. Nothing can take that number again
 * (it is in the stream), and nothing can stop its close: a draft has no other way out, and the
 * snapshots and tax it closes with were validated and recorded. Whoever comes next finishes it: the
 * caller retrying (step 2 finds the invoice's assignment), another replica, or completeInvoiceCloses
 * (the scheduler's sweep). So the closed invoices are numbered exactly 1..n.
 */
export async function closeInvoiceWithNumber(options: CloseInvoiceWithNumberOptions): Promise<ClosedInvoiceResult> {
  const { store, tenantId, invoiceId, metadata } = options;
  const { state } = await loadInvoice(store, tenantId, invoiceId);
  if (isClosedState(state)) {
    return { ...(await journaled(store, tenantId, state.invoice, metadata)), closedNow: false, position: null };
  }
  const request: InvoiceCloseRequest = {
    closed_at: options.at.toISOString(),
    customer: options.customer,
    plan: options.plan,
    tax_amount: options.tax_amount ?? null,
    tax_lines: options.tax_lines ?? [],
  };
  assertClosable(state, invoiceId, request);
  const assignment = await assignInvoiceNumber({
    store,
    tenantId,
    invoiceId,
    request,
    metadata,
    adjustmentIds: carriedAdjustmentIds(state),
  });
  return completeClose(store, tenantId, assignment, metadata);
}

/** Steps 3 and 4 from a recorded assignment; safe to run any number of times, concurrently. */
export async function completeClose(
  store: EventStore,
  tenantId: string,
  assignment: InvoiceNumberAssignment,
  metadata: EventMetadata,
): Promise<ClosedInvoiceResult> {
  const { invoice_id: invoiceId, number, close } = assignment;
  for (let attempt = 1; ; attempt++) {
    const { state, expected } = await loadInvoice(store, tenantId, invoiceId);
    const events = invoiceDecider.decide(
      {
        type: 'CloseInvoice',
        invoice_id: invoiceId,
        number,
        customer: close.customer,
        plan: close.plan,
        tax_amount: close.tax_amount,
        tax_lines: close.tax_lines,
        at: new Date(close.closed_at),
      },
      state,
    );
    if (events.length === 0 && isClosedState(state)) {
      return { ...(await journaled(store, tenantId, state.invoice, metadata)), closedNow: false, position: null };
    }
    try {
      const stream = invoiceStream(tenantId, invoiceId);
      const result = await store.append(
        stream,
        events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data, metadata })),
        { expectedRevision: expected },
      );
      const invoice = events[0].data as ClosedInvoice;
      return { ...(await journaled(store, tenantId, invoice, metadata)), closedNow: true, position: result.position };
    } catch (error) {
      // Another writer appended to the invoice (a concurrent close of it, a refresh): decide again.
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= 20) throw error;
      await backoff(attempt);
    }
  }
}

async function journaled(
  store: EventStore,
  tenantId: string,
  invoice: ClosedInvoice,
  metadata: EventMetadata,
): Promise<{ number: string; invoice: ClosedInvoice; journal: PostedEntry | null }> {
  const [journal = null] = await postJournalFor(store, tenantId, [{ type: 'InvoiceClosed', data: invoice }], metadata);
  return { number: invoice.number, invoice, journal };
}

export interface CompleteInvoiceClosesResult {
  /** Assignments checked, in sequence order. */
  checked: number;
  /** Invoices this sweep closed (their close had crashed after the number was assigned). */
  completed: Array<{ invoice_id: string; number: string }>;
  /** The last sequence checked (0: none): pass lastSequence + 1 next time to check only new ones. */
  lastSequence: number;
}

/**
 * The sweep: completes every assigned-but-unclosed invoice from `fromSequence` on (default 1: all).
 * The billing scheduler runs it periodically; it is idempotent and safe next to live closes.
 */
export async function completeInvoiceCloses(options: {
  store: EventStore;
  tenantId: string;
  metadata: EventMetadata;
  fromSequence?: number;
}): Promise<CompleteInvoiceClosesResult> {
  const { store, tenantId, metadata } = options;
  const result: CompleteInvoiceClosesResult = { checked: 0, completed: [], lastSequence: 0 };
  let from = options.fromSequence ?? 1;
  for (;;) {
    const page = await readAssignments(store, tenantId, from, 500);
    for (const assignment of page) {
      // An invoice closed under another number (only if the store let a second assignment of one
      // invoice through, see the README) makes the decider throw INVOICE.CLOSED here: never silent.
      const closed = await completeClose(store, tenantId, assignment, metadata);
      if (closed.closedNow) result.completed.push({ invoice_id: assignment.invoice_id, number: assignment.number });
      result.checked += 1;
      result.lastSequence = assignment.sequence;
    }
    if (page.length < 500) return result;
    from = result.lastSequence + 1;
  }
}
