import type * as ProjectorModule from '../../../apps/projector/src';
import { loadBuiltFile, type TestApi } from '../../support/api';

/**
 * The projections' catalog checkpoints, as committed: sampled while the faults run (each live
 * build's checkpoint may only move forward), and waited on by position at the end.
 */
export async function liveCheckpoints(api: TestApi): Promise<Map<string, string | null>> {
  const { rows } = await api.db.pool.query<{ name: string; checkpoint: string | null }>(
    `SELECT name, checkpoint FROM projections WHERE status = 'live'`,
  );
  return new Map(rows.map((row) => [row.name, row.checkpoint]));
}

/** The last committed event (tx_id, position): what a client holding a 202 expects to be projected. */
export async function lastCommitted(api: TestApi): Promise<string | null> {
  const { rows } = await api.db.pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return rows[0]?.checkpoint ?? null;
}

/** Waits (by position, not by time) until every live projection has applied everything committed so far. */
export async function waitForAllProjections(api: TestApi, timeoutMs: number): Promise<string | null> {
  const target = await lastCommitted(api);
  const names = [...(await liveCheckpoints(api)).keys()];
  for (const name of names) {
    await api.modules.ledger.waitForPosition({ pool: api.db.pool, store: api.store }, name, target, timeoutMs);
  }
  return target;
}

/** Samples the checkpoints every `everyMs` and records any that moved backwards (must stay empty). */
export function watchCheckpoints(api: TestApi, everyMs = 100) {
  const last = new Map<string, string | null>();
  const backwards: Array<{ projection: string; from: string | null; to: string | null }> = [];
  let moves = 0;
  let samples = 0;
  let stopped = false;
  const run = (async () => {
    while (!stopped) {
      for (const [name, checkpoint] of await liveCheckpoints(api)) {
        if (last.has(name)) {
          const order = api.store.compareCheckpoints(checkpoint, last.get(name) ?? null);
          if (order < 0) backwards.push({ projection: name, from: last.get(name) ?? null, to: checkpoint });
          if (order > 0) moves += 1;
        }
        last.set(name, checkpoint);
      }
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    backwards,
    moves: () => moves,
    samples: () => samples,
    stop: async () => {
      stopped = true;
      await run;
    },
  };
}

export interface AppliedVersusLog {
  projection: string;
  /** The live build's `events_applied`, moved in the same transaction as its rows and checkpoint. */
  applied: number;
  /** Events of the projection's types in the log. */
  inLog: number;
}

/**
 * At the head, every live build (all built from position 0 here) has applied exactly the log's events
 * of its types: a batch applied twice (two replicas, a retried commit) would make `applied` larger.
 */
export async function appliedVersusLog(api: TestApi): Promise<AppliedVersusLog[]> {
  const { projections } = loadBuiltFile<typeof ProjectorModule>('apps/projector/src/index');
  const { rows } = await api.db.pool.query<{ name: string; applied: string }>(
    `SELECT name, events_applied::text AS applied FROM projections WHERE status = 'live' ORDER BY name`,
  );
  const result: AppliedVersusLog[] = [];
  for (const row of rows) {
    const projection = projections.find((candidate) => candidate.name === row.name);
    // Types applied: `eventTypes` (null: all) minus `excludedEventTypes`.
    const counted = await api.db.pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM events
        WHERE ($1::text[] IS NULL OR type = ANY($1::text[])) AND NOT (type = ANY($2::text[]))`,
      [projection?.eventTypes ? [...projection.eventTypes] : null, [...(projection?.excludedEventTypes ?? [])]],
    );
    result.push({ projection: row.name, applied: Number(row.applied), inLog: Number(counted.rows[0].n) });
  }
  return result;
}
