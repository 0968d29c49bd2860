import { inTransaction } from '#platform';
import type { Pool } from 'pg';
import type { Checkpoint, EventStore, ReadAllOptions, ReadAllResult } from '../event-store';
import type { Projection, ProjectionContext } from './projection';
import { lockBuild, moveCheckpoint, readBuild, writeCheckpoint } from './projection-catalog';
import { buildLabel, physicalTableName, type BuildKey } from './projection-naming';

/**
 * Events per page, and so per batch transaction, while a projection is behind (at the head a page
 * holds what arrived since the last step). A batch has a fixed cost besides its events (catalog
 * lock, page read, one statement per table, commit, upserts of the buckets it touches), so small pages
 * are what let the usage projection fall behind under load: in the ingestion bench (60 s of 500-event
 * batches, 8 clients), 2,000-event pages left it 168,600 events behind with a 14.4 s catch-up, and
 * 8,000-event pages 23,000-48,900 behind with 2.3-3.7 s. A page of usage events is a few MB.
 */
export const DEFAULT_BATCH_SIZE = 8000;

export type BatchOutcome =
  /**
   * Events were applied and the checkpoint moved, in one transaction (or, when the filter skipped
   * every event read, only the checkpoint moved, in one conditional statement).
   * `readAhead`: the next page, read from the new checkpoint while this batch applied.
   */
  | { kind: 'applied'; events: number; checkpoint: Checkpoint | null; atHead: boolean; readAhead?: ReadAhead }
  /** Nothing visible after the checkpoint. */
  | { kind: 'at_head'; checkpoint: Checkpoint | null }
  /** Another runner moved the checkpoint since it was read: the batch was dropped unapplied. */
  | { kind: 'raced' }
  /** The build is no longer the one expected (switched, retired): stop working on it. */
  | { kind: 'inactive' };

export class ProjectionApplyError extends Error {
  readonly code = 'PROJECTION.APPLY_FAILED';
  constructor(
    readonly key: BuildKey,
    readonly from: Checkpoint | null,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${buildLabel(key)}: batch after checkpoint ${from ?? 'start'} failed: ${reason}`, { cause });
    this.name = 'ProjectionApplyError';
  }
}

/**
 * A page read from `from` while the previous batch was still applying. Only a batch that starts
 * from exactly `from` may use it (the lock-and-compare in the transaction still fences it): it is a
 * valid readAll result, only read earlier.
 */
export interface ReadAhead {
  readonly from: Checkpoint | null;
  readonly page: Promise<ReadAllResult>;
}

/** What a batch needs from the store: the runner hands in a reader that shares pages (shared-pages.ts). */
export type BatchReader = Pick<EventStore, 'readAll' | 'compareCheckpoints'>;

function startReadAhead(
  store: BatchReader,
  projection: Projection,
  from: Checkpoint | null,
  options: ReadAllOptions,
): ReadAhead {
  const page = store.readAll(from, options).then((read) => {
    // Runs as the page arrives, while the current batch is still in Postgres (Projection.prepare).
    try {
      projection.prepare?.(read.events);
    } catch {
      // apply() prepares again and reports the failure as the batch's.
    }
    return read;
  });
  // A read-ahead nobody uses (the batch rolled back, the runner stopped) must not be an unhandled rejection.
  page.catch(() => undefined);
  return { from, page };
}

export interface BatchTarget extends BuildKey {
  /** The status the caller works the build under; any other status means the build changed hands. */
  readonly status: 'live' | 'building';
  /** The catalog checkpoint the caller read; the batch starts after it. */
  readonly checkpoint: Checkpoint | null;
}

/** How a projection reads the log: its batch size and its type filters. */
export function readOptions(projection: Projection, batchSize: number): ReadAllOptions {
  return { maxCount: batchSize, types: projection.eventTypes, excludeTypes: projection.excludedEventTypes };
}

export function projectionContext(
  client: ProjectionContext['client'],
  projection: Projection,
  key: BuildKey,
): ProjectionContext {
  return {
    client,
    table: (logical: string) => {
      if (!(logical in projection.tables)) throw new Error(`projection ${projection.name} has no table "${logical}"`);
      return physicalTableName(logical, key.version, key.build);
    },
  };
}

/**
 * Reads the next batch after the target's checkpoint and applies it in ONE transaction that locks
 * the build's catalog row, re-checks the checkpoint, applies, and writes the new checkpoint. The
 * read-model rows and the checkpoint therefore commit together: a crash at any point neither loses
 * nor double-applies an event, and a second runner holding the same checkpoint waits on the row
 * lock, then sees the moved checkpoint and drops its batch.
 *
 * Pipelined: while a batch that did not reach the head applies, the page after it is read
 * (`readAhead` of the outcome; pass it to the next call), so reading the log and writing the read
 * model overlap instead of alternating. A read-ahead for another checkpoint is ignored.
 */
export async function applyNextBatch(
  deps: { pool: Pool; store: BatchReader },
  projection: Projection,
  target: BatchTarget,
  batchSize = DEFAULT_BATCH_SIZE,
  readAhead?: ReadAhead,
): Promise<BatchOutcome> {
  const { pool, store } = deps;
  const options = readOptions(projection, batchSize);
  const usable = readAhead !== undefined && store.compareCheckpoints(readAhead.from, target.checkpoint) === 0;
  // A page read ahead was read before the caller last looked at its doorbell (the runner's loop notes
  // the bell's generation when a step starts): events that rang it in between are not in the page, so
  // the page cannot say the head is reached. Empty, it is read again now; with events, the batch
  // applies them and reports itself not at the head, so the caller reads again before it waits.
  const early = usable ? await readAhead.page : undefined;
  const fromAhead = early !== undefined && early.events.length > 0;
  const read = fromAhead ? early : await store.readAll(target.checkpoint, options);
  const atHead = read.atHead && !fromAhead;
  if (read.events.length === 0 && store.compareCheckpoints(read.checkpoint, target.checkpoint) === 0) {
    return { kind: 'at_head', checkpoint: target.checkpoint };
  }
  if (read.events.length === 0) {
    // Only the checkpoint moves, past events the filter skipped: at the head of a busy log (every
    // usage flush) this is most steps of a filtered projection, so one statement, no transaction.
    if (!(await moveCheckpoint(pool, target, target.checkpoint, read.checkpoint))) {
      const row = await readBuild(pool, target);
      return row?.status === target.status ? { kind: 'raced' } : { kind: 'inactive' };
    }
    return { kind: 'applied', events: 0, checkpoint: read.checkpoint, atHead };
  }
  return inTransaction(
    pool,
    async (client) => {
      const row = await lockBuild(client, target);
      if (!row || row.status !== target.status) return { kind: 'inactive' } as const;
      if (store.compareCheckpoints(row.checkpoint, target.checkpoint) !== 0) return { kind: 'raced' } as const;
      const next = read.atHead ? undefined : startReadAhead(store, projection, read.checkpoint, options);
      try {
        await projection.apply(read.events, projectionContext(client, projection, target));
      } catch (error) {
        throw new ProjectionApplyError(target, target.checkpoint, error);
      }
      await writeCheckpoint(client, target, read.checkpoint, read.events.length);
      return {
        kind: 'applied',
        events: read.events.length,
        checkpoint: read.checkpoint,
        atHead,
        readAhead: next,
      } as const;
    },
    // Derived rows: COMMIT does not wait for the WAL flush. A server crash can only lose the newest
    // batches whole (rows and checkpoint together, WAL is flushed in order), which are then applied
    // again from the log, itself committed synchronously; any synchronous commit that follows (an
    // append, the next ingestion flush) flushes them too. Catch-up: 12.2k -> 13.6k events/s here.
    { asyncCommit: true },
  );
}
