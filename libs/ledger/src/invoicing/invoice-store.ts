import {
  INVOICE_NUMBERS_STREAM_CATEGORY,
  INVOICE_STREAM_CATEGORY,
  invoiceDecider,
  type InvoiceEvent,
  type InvoiceState,
} from '#domain';
import {
  StreamNotFoundError,
  type EventStore,
  type ExpectedRevision,
  type ReadStreamOptions,
  type RecordedEvent,
} from '../event-store';
import { streamName } from '../streams';

export const invoiceStream = (tenantId: string, invoiceId: string) =>
  streamName(tenantId, INVOICE_STREAM_CATEGORY, invoiceId);

export const invoiceNumbersStream = (tenantId: string) => streamName(tenantId, INVOICE_NUMBERS_STREAM_CATEGORY);

/** A stream's events; a stream without events reads as empty. */
export async function readOrEmpty(
  store: EventStore,
  stream: string,
  options?: ReadStreamOptions,
): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(stream, options);
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
}

export interface LoadedInvoice {
  state: InvoiceState;
  /** For the next append: the revision of the stream's last event, or `no_stream`. */
  expected: ExpectedRevision;
}

/** The invoice as its stream says it is (strongly consistent: no read model involved). */
export async function loadInvoice(store: EventStore, tenantId: string, invoiceId: string): Promise<LoadedInvoice> {
  const events = await readOrEmpty(store, invoiceStream(tenantId, invoiceId));
  const state = events.reduce(
    (s, e) => invoiceDecider.evolve(s, { type: e.type, data: e.data } as InvoiceEvent),
    invoiceDecider.initialState(),
  );
  return { state, expected: events.length === 0 ? 'no_stream' : events[events.length - 1].revision };
}

/** Waits a little, more after each failed attempt (0-2 ms, 0-4 ms, … capped at 50): spreads the retries of a contended stream. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
