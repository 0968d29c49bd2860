import {
  EventIdConflictError,
  StreamNotFoundError,
  type Checkpoint,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '../event-store';
import { journalEntryFor } from './journal-entries';
import { JournalError } from './journal.errors';
import { LEDGER_ENTRY_POSTED, ledgerStream, type LedgerEntry } from './ledger-entry';
import { validateEntry } from './validate-entry';

export interface PostedEntry {
  entry: LedgerEntry;
  /** Revision of the entry in its customer's ledger stream (a per-customer sequence). */
  revision: number;
  position: Checkpoint;
}

/**
 * Validates and appends an entry to `<tenant>:ledger-<customer>`, with the entry id as its event id.
 * An invalid entry is never written (JournalError). Posting an entry again is a no-op that returns
 * the original revision and position; another entry under the same id is JOURNAL.ENTRY_CONFLICT.
 * Entries are independent facts, so they append without an expected revision.
 */
export async function postEntry(store: EventStore, entry: LedgerEntry, metadata: EventMetadata): Promise<PostedEntry> {
  validateEntry(entry);
  if (metadata.tenant_id !== entry.tenant_id) {
    throw new JournalError(
      'JOURNAL.INVALID_ENTRY',
      `entry of tenant ${entry.tenant_id} posted with metadata of tenant ${metadata.tenant_id}`,
    );
  }
  try {
    const result = await store.append(ledgerStream(entry.tenant_id, entry.customer_id), [
      {
        id: entry.entry_id,
        type: LEDGER_ENTRY_POSTED,
        data: entry,
        metadata,
        occurred_at: new Date(entry.posted_at),
      },
    ]);
    return { entry, revision: result.nextRevision, position: result.position };
  } catch (error) {
    if (error instanceof EventIdConflictError) {
      throw new JournalError(
        'JOURNAL.ENTRY_CONFLICT',
        `entry ${entry.entry_id} (${entry.kind} ${entry.reference}) was already posted with other content`,
      );
    }
    throw error;
  }
}

/**
 * Posts the entry each billing event implies (InvoiceClosed, CreditNoteIssued, InvoicePaid,
 * AdjustmentRecorded; others are skipped), in order. Idempotent: call it after appending those
 * events, and again after any crash; the journal poster does the same from the log.
 */
export async function postJournalFor(
  store: EventStore,
  tenantId: string,
  events: ReadonlyArray<{ type: string; data: unknown }>,
  metadata: EventMetadata,
): Promise<PostedEntry[]> {
  const posted: PostedEntry[] = [];
  for (const event of events) {
    const entry = journalEntryFor(tenantId, event);
    if (entry !== null) posted.push(await postEntry(store, entry, metadata));
  }
  return posted;
}

/** A customer's ledger in posting order (an auditor's view: straight from the log, no read model). */
export async function readLedger(store: EventStore, tenantId: string, customerId: string): Promise<LedgerEntry[]> {
  let events: RecordedEvent[];
  try {
    events = await store.readStream(ledgerStream(tenantId, customerId));
  } catch (error) {
    if (error instanceof StreamNotFoundError) return [];
    throw error;
  }
  return events.filter((event) => event.type === LEDGER_ENTRY_POSTED).map((event) => event.data as LedgerEntry);
}
