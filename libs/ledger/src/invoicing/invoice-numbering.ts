import {
  formatInvoiceNumber,
  INVOICE_NUMBER_ASSIGNED,
  type InvoiceCloseRequest,
  type InvoiceNumberAssigned,
} from '#domain';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '../event-store';
import { nameBasedUuid } from '../journal/entry-id';
import { AdjustmentCarriedError, adjustmentsCarriedElsewhere } from './adjustment-carriers';
import { backoff, invoiceNumbersStream, readOrEmpty } from './invoice-store';

export type InvoiceNumberAssignment = InvoiceNumberAssigned['data'];

export interface AssignInvoiceNumberOptions {
  store: EventStore;
  tenantId: string;
  invoiceId: string;
  /** Recorded with the number: the close that completes this assignment uses it, whoever runs it. */
  request: InvoiceCloseRequest;
  metadata: EventMetadata;
  /**
   * The adjustments the invoice carries: recorded with the number, and checked against every other
   * invoice's assignment before each attempt (AdjustmentCarriedError when another carries one).
   */
  adjustmentIds?: readonly string[];
  /** Attempts when other closes take the next number first (default 200). */
  maxAttempts?: number;
}

const SCAN_PAGE = 500;

/**
 * The event id of an invoice's number assignment: one per invoice and tenant, so the event store
 * itself refuses a second assignment of the same invoice (EventIdConflictError: its content, the
 * sequence, differs).
 */
export function assignmentEventId(tenantId: string, invoiceId: string): string {
  return nameBasedUuid(`invoice-number:${tenantId}:${invoiceId}`);
}

/**
 * Gives the invoice the next number of its tenant, or the number it already has. The numbers stream's
 * revision is the sequence: the append expects the last revision it read, so two closes can never
 * take the same number, and a loser re-reads and takes the next one. Returns the assignment as
 * recorded (with the request recorded first, when the invoice already had a number).
 */
export async function assignInvoiceNumber(options: AssignInvoiceNumberOptions): Promise<InvoiceNumberAssignment> {
  const { store, tenantId, invoiceId, request, metadata } = options;
  const stream = invoiceNumbersStream(tenantId);
  const maxAttempts = options.maxAttempts ?? 200;
  for (let attempt = 1; ; attempt++) {
    const [last] = await readOrEmpty(store, stream, { direction: 'backwards', maxCount: 1 });
    if (last !== undefined && assignmentOf(last).invoice_id === invoiceId) return assignmentOf(last);
    const sequence = last === undefined ? 1 : last.revision + 2;
    const adjustmentIds = [...(options.adjustmentIds ?? [])];
    if (adjustmentIds.length > 0) {
      // Read after `last`: an assignment that lands in between makes the append below fail, and the
      // next attempt checks again.
      const carried = await adjustmentsCarriedElsewhere(store, tenantId, invoiceId, adjustmentIds);
      if (carried.size > 0) throw new AdjustmentCarriedError(invoiceId, carried);
    }
    const data: InvoiceNumberAssignment = {
      invoice_id: invoiceId,
      number: formatInvoiceNumber(sequence),
      sequence,
      close: request,
      ...(adjustmentIds.length > 0 ? { adjustment_ids: adjustmentIds } : {}),
    };
    try {
      await store.append(
        stream,
        [{ id: assignmentEventId(tenantId, invoiceId), type: INVOICE_NUMBER_ASSIGNED, data, metadata }],
        { expectedRevision: last === undefined ? 'no_stream' : last.revision },
      );
      return data;
    } catch (error) {
      // The invoice already has a number, further back: that one it keeps.
      if (error instanceof EventIdConflictError) return findAssignment(store, tenantId, invoiceId);
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= maxAttempts) throw error;
      await backoff(attempt);
    }
  }
}

/** The invoice's assignment, searched from the newest back (a crashed close is usually recent). */
export async function findAssignment(
  store: EventStore,
  tenantId: string,
  invoiceId: string,
): Promise<InvoiceNumberAssignment> {
  const stream = invoiceNumbersStream(tenantId);
  let from: number | undefined;
  for (;;) {
    const page = await readOrEmpty(store, stream, { direction: 'backwards', fromRevision: from, maxCount: SCAN_PAGE });
    const found = page.find((event) => assignmentOf(event).invoice_id === invoiceId);
    if (found) return assignmentOf(found);
    const oldest = page[page.length - 1];
    if (oldest === undefined || oldest.revision === 0) {
      throw new Error(`invoice ${invoiceId} of tenant ${tenantId} has no number assignment`);
    }
    from = oldest.revision - 1;
  }
}

/** Assignments in sequence order, from `fromSequence` (1-based, inclusive). */
export async function readAssignments(
  store: EventStore,
  tenantId: string,
  fromSequence = 1,
  maxCount?: number,
): Promise<InvoiceNumberAssignment[]> {
  const events = await readOrEmpty(store, invoiceNumbersStream(tenantId), { fromRevision: fromSequence - 1, maxCount });
  return events.map(assignmentOf);
}

/** The assignment of a recorded event; its sequence is its revision + 1, whatever its data says. */
function assignmentOf(event: RecordedEvent): InvoiceNumberAssignment {
  const data = event.data as InvoiceNumberAssignment;
  return { ...data, sequence: event.revision + 1, number: formatInvoiceNumber(event.revision + 1) };
}
