import type { Pool } from 'pg';
import type { Checkpoint, EventStore, RecordedEvent, Subscription } from '../event-store';
import { JOURNALED_EVENT_TYPES, journalEntryFor } from './journal-entries';
import { postEntry } from './post-entry';

/**
 * The journal poster: follows the log and posts the entry every billing fact implies (InvoiceClosed,
 * CreditNoteIssued, InvoicePaid, AdjustmentRecorded). The commands post their entries themselves;
 * the poster is what makes the journal complete anyway, when a process died between appending a fact
 * and posting its entry and nobody retried. Entries have ids derived from their facts, so posting one
 * the command already posted is a no-op; the checkpoint (table journal_poster_checkpoints) only saves
 * re-reading, it is not what makes the journal exact.
 *
 * Unlike a projection it appends events, so it is not one (projections have no side effects outside
 * their transaction); it runs next to them in the projector process.
 */
export interface JournalPosterOptions {
  pool: Pool;
  store: EventStore;
  /** Checkpoint row; one per poster (default `journal`). */
  name?: string;
  /** Events per page (default 1000). */
  batchSize?: number;
  onError?(error: Error): void;
}

const ACTOR = 'system:journal-poster';

async function readCheckpoint(pool: Pool, name: string): Promise<Checkpoint | null> {
  const { rows } = await pool.query<{ checkpoint: string | null }>(
    'SELECT checkpoint FROM journal_poster_checkpoints WHERE name = $1',
    [name],
  );
  return rows[0]?.checkpoint ?? null;
}

async function saveCheckpoint(pool: Pool, name: string, checkpoint: Checkpoint, posted: number): Promise<void> {
  await pool.query(
    `INSERT INTO journal_poster_checkpoints (name, checkpoint, posted) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint,
       posted = journal_poster_checkpoints.posted + EXCLUDED.posted, updated_at = now()`,
    [name, checkpoint, posted],
  );
}

/** Posts the entries of a page of facts, in log order; returns how many entries it appended or confirmed. */
async function postFacts(store: EventStore, events: readonly RecordedEvent[]): Promise<number> {
  let posted = 0;
  for (const event of events) {
    const entry = journalEntryFor(event.metadata.tenant_id, event);
    if (entry === null) continue;
    await postEntry(store, entry, {
      tenant_id: event.metadata.tenant_id,
      actor: ACTOR,
      request_id: event.metadata.request_id,
      causation_id: event.id,
      correlation_id: event.metadata.correlation_id ?? event.metadata.request_id,
    });
    posted += 1;
  }
  return posted;
}

/** One pass from the saved checkpoint to the head (the CLI, tests, a scheduler's tick). */
export async function catchUpJournal(
  options: JournalPosterOptions,
): Promise<{ posted: number; checkpoint: Checkpoint | null }> {
  const name = options.name ?? 'journal';
  let checkpoint = await readCheckpoint(options.pool, name);
  let posted = 0;
  for (;;) {
    const page = await options.store.readAll(checkpoint, {
      maxCount: options.batchSize ?? 1000,
      types: JOURNALED_EVENT_TYPES,
    });
    const count = await postFacts(options.store, page.events);
    posted += count;
    if (options.store.compareCheckpoints(page.checkpoint, checkpoint) !== 0) {
      await saveCheckpoint(options.pool, name, page.checkpoint, count);
      checkpoint = page.checkpoint;
    }
    if (page.atHead) return { posted, checkpoint };
  }
}

/**
 * Live, the poster reads at most this often: the commands post their own entries, so the poster has
 * nothing urgent, and every usage flush would otherwise cost it a read and a checkpoint write.
 */
const LIVE_READ_INTERVAL_MS = 250;
/** A page with no facts (the filter skipped usage events) saves its checkpoint at most this often. */
const EMPTY_SAVE_INTERVAL_MS = 5_000;

/** Follows the log live from the saved checkpoint until stopped (the projector process runs it). */
export async function startJournalPoster(options: JournalPosterOptions): Promise<Subscription> {
  const name = options.name ?? 'journal';
  const from = await readCheckpoint(options.pool, name);
  let lastSaved = -Infinity;
  return options.store.subscribeToAll(from, {
    maxCount: options.batchSize ?? 1000,
    types: JOURNALED_EVENT_TYPES,
    minIntervalMs: LIVE_READ_INTERVAL_MS,
    onBatch: async (events, checkpoint) => {
      // Skipping a save only means re-reading those pages after a restart (posting is idempotent).
      if (events.length === 0 && performance.now() - lastSaved < EMPTY_SAVE_INTERVAL_MS) return;
      const count = await postFacts(options.store, events);
      await saveCheckpoint(options.pool, name, checkpoint, count);
      lastSaved = performance.now();
    },
    onError: options.onError,
  });
}
