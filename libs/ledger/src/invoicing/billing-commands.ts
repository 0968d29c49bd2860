import { randomUUID } from 'node:crypto';
import {
  ADJUSTMENT_STREAM_CATEGORY,
  adjustmentDecider,
  invoiceDecider,
  isClosedState,
  type AdjustmentEvent,
  type AdjustmentState,
  type CloseInvoice,
  type InvoiceCommand,
  type InvoiceEvent,
  type InvoiceState,
  type RecordAdjustment,
} from '#domain';
import {
  WrongExpectedRevisionError,
  type Checkpoint,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
} from '../event-store';
import { postJournalFor, type PostedEntry } from '../journal/post-entry';
import { streamName } from '../streams';
import { backoff, invoiceStream, loadInvoice, readOrEmpty } from './invoice-store';

export interface BillingDecision<Event, State> {
  /** Appended now; empty when the command had already happened (idempotent). */
  events: Event[];
  state: State;
  position: Checkpoint | null;
  /** The journal entries the resulting state implies, posted (again: posting is idempotent). */
  journal: PostedEntry[];
}

const MAX_ATTEMPTS = 20;

/**
 * Every invoice command but the close (which needs a number: closeInvoiceWithNumber): load, decide,
 * append with the expected revision, retry on a conflict, then post the journal entries of the
 * invoice's state. Those are posted even when the command was a no-op, so a retry after a crash
 * between the append and the posting completes the journal.
 */
export async function runInvoiceCommand(options: {
  store: EventStore;
  tenantId: string;
  command: Exclude<InvoiceCommand, CloseInvoice>;
  metadata: EventMetadata;
}): Promise<BillingDecision<InvoiceEvent, InvoiceState>> {
  const { store, tenantId, command, metadata } = options;
  if ((command as InvoiceCommand).type === 'CloseInvoice') {
    throw new TypeError('CloseInvoice takes its number from closeInvoiceWithNumber');
  }
  const stream = invoiceStream(tenantId, command.invoice_id);
  const decision = await decideAndAppend(
    store,
    stream,
    metadata,
    async () => {
      const { state, expected } = await loadInvoice(store, tenantId, command.invoice_id);
      return { state, expected, events: invoiceDecider.decide(command, state) };
    },
    invoiceDecider.evolve,
  );
  return { ...decision, journal: await postJournalFor(store, tenantId, invoiceFacts(decision.state), metadata) };
}

/** The journaled facts a state holds: its close, its credit note, its payment. */
function invoiceFacts(state: InvoiceState): Array<{ type: string; data: unknown }> {
  if (!isClosedState(state)) return [];
  const facts: Array<{ type: string; data: unknown }> = [{ type: 'InvoiceClosed', data: state.invoice }];
  if (state.status === 'void' && state.credit_note !== null)
    facts.push({ type: 'CreditNoteIssued', data: state.credit_note });
  if (state.status === 'paid') {
    const { customer_id, currency, invoice_id } = state.invoice;
    facts.push({ type: 'InvoicePaid', data: { ...state.payment, invoice_id, customer_id, currency } });
  }
  return facts;
}

/** Records an adjustment (`<tenant>:adjustment-<id>`) and posts its journal entry. */
export async function recordAdjustment(options: {
  store: EventStore;
  tenantId: string;
  command: RecordAdjustment;
  metadata: EventMetadata;
}): Promise<BillingDecision<AdjustmentEvent, AdjustmentState>> {
  const { store, tenantId, command, metadata } = options;
  const stream = streamName(tenantId, ADJUSTMENT_STREAM_CATEGORY, command.adjustment_id);
  const decision = await decideAndAppend(
    store,
    stream,
    metadata,
    async () => {
      const recorded = await readOrEmpty(store, stream);
      const state = recorded.reduce(
        (s, e) => adjustmentDecider.evolve(s, { type: e.type, data: e.data } as AdjustmentEvent),
        adjustmentDecider.initialState(),
      );
      const expected: ExpectedRevision = recorded.length === 0 ? 'no_stream' : recorded[recorded.length - 1].revision;
      return { state, expected, events: adjustmentDecider.decide(command, state) };
    },
    adjustmentDecider.evolve,
  );
  const facts =
    decision.state.status === 'recorded' ? [{ type: 'AdjustmentRecorded', data: decision.state.adjustment }] : [];
  return { ...decision, journal: await postJournalFor(store, tenantId, facts, metadata) };
}

async function decideAndAppend<Event extends { type: string; data: unknown }, State>(
  store: EventStore,
  stream: string,
  metadata: EventMetadata,
  decide: () => Promise<{ state: State; expected: ExpectedRevision; events: Event[] }>,
  evolve: (state: State, event: Event) => State,
): Promise<Omit<BillingDecision<Event, State>, 'journal'>> {
  for (let attempt = 1; ; attempt++) {
    const { state, expected, events } = await decide();
    if (events.length === 0) return { events, state, position: null };
    try {
      const result = await store.append(
        stream,
        events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data, metadata })),
        { expectedRevision: expected },
      );
      return { events, state: events.reduce(evolve, state), position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      await backoff(attempt);
    }
  }
}
