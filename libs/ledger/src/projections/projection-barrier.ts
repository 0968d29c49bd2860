import type { Pool } from 'pg';
import type { Checkpoint, EventStore } from '../event-store';

export class ProjectionWaitTimeoutError extends Error {
  readonly code = 'PROJECTION.WAIT_TIMEOUT';
  constructor(
    readonly projection: string,
    readonly target: Checkpoint,
    /** The live build's checkpoint when the wait gave up (null: nothing applied, or not started). */
    readonly reached: Checkpoint | null,
    readonly timeoutMs: number,
  ) {
    super(`projection ${projection} did not reach ${target} within ${timeoutMs} ms (at ${reached ?? 'start'})`);
    this.name = 'ProjectionWaitTimeoutError';
  }
}

export interface WaitForPositionOptions {
  /** Longest pause between two checks; the first checks come quicker. Default 50 ms. */
  maxPollIntervalMs?: number;
  signal?: AbortSignal;
}

async function liveCheckpoint(
  pool: Pool,
  projection: string,
): Promise<{ found: boolean; checkpoint: Checkpoint | null }> {
  const result = await pool.query<{ checkpoint: string | null }>(
    `SELECT checkpoint FROM projections WHERE name = $1 AND status = 'live'`,
    [projection],
  );
  return result.rows.length === 0
    ? { found: false, checkpoint: null }
    : { found: true, checkpoint: result.rows[0].checkpoint };
}

/**
 * Barrier for exact reads: resolves with the live build's checkpoint once it is at or after
 * `checkpoint` (as the store orders them; null: as soon as a live build exists), rejects with
 * ProjectionWaitTimeoutError after `timeoutMs`.
 * Reads the catalog, so it works in any process, whether or not the projector runs in it.
 */
export async function waitForPosition(
  deps: { pool: Pool; store: EventStore },
  projectionName: string,
  checkpoint: Checkpoint | null,
  timeoutMs: number,
  options: WaitForPositionOptions = {},
): Promise<Checkpoint | null> {
  const deadline = Date.now() + timeoutMs;
  const maxPause = options.maxPollIntervalMs ?? 50;
  let pause = 2;
  for (;;) {
    options.signal?.throwIfAborted();
    const live = await liveCheckpoint(deps.pool, projectionName);
    if (live.found && deps.store.compareCheckpoints(live.checkpoint, checkpoint) >= 0) return live.checkpoint;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new ProjectionWaitTimeoutError(projectionName, checkpoint ?? 'start', live.checkpoint, timeoutMs);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, remaining)));
    pause = Math.min(pause * 2, maxPause);
  }
}
