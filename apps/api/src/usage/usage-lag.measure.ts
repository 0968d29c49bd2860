import type { Pool } from 'pg';
import type { Checkpoint, EventStore } from '#ledger';
import { preparedQuery } from './prepared-query';
import { usageCheckpoint } from './usage-catalog';

/**
 * Postgres store: the usage projection's checkpoint and the visible head (the last event below the
 * transaction horizon, as PostgresEventStore.headCheckpoint reads it) in ONE prepared statement on
 * one snapshot, instead of two queries on two connections.
 */
const CHECKPOINT_AND_HEAD = `
SELECT (SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live') AS checkpoint,
       (SELECT version::text || '.' || build::text FROM projections WHERE name = 'usage' AND status = 'live') AS build,
       (SELECT e.tx_id::text || '/' || e.position::text FROM events e
         WHERE e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
         ORDER BY e.tx_id DESC, e.position DESC LIMIT 1) AS head`;

const LIVE_BUILD = `SELECT version::text || '.' || build::text AS build FROM projections WHERE name = 'usage' AND status = 'live'`;

interface CheckpointAndHead {
  checkpoint: Checkpoint | null;
  /** The live build (`version.build`); null before the projector created one. */
  build: string | null;
  head: Checkpoint | null;
}

async function checkpointAndHead(pool: Pool, store: EventStore): Promise<CheckpointAndHead> {
  if (store.kind !== 'postgres') {
    const [checkpoint, head, live] = await Promise.all([
      usageCheckpoint(pool),
      store.headCheckpoint(),
      pool.query<{ build: string }>(LIVE_BUILD),
    ]);
    return { checkpoint, head, build: live.rows[0]?.build ?? null };
  }
  const { rows } = await pool.query<CheckpointAndHead>(preparedQuery(CHECKPOINT_AND_HEAD));
  return rows[0];
}

/** The usage read model's lag, and the state it was measured at. */
export interface UsageReadState {
  lagSeconds: number;
  /**
   * The live build and its checkpoint: the usage tables change only when this changes (a batch, a
   * rebuild switched live), so a read of them can be reused while it stays the same. Null before
   * the projector created the build.
   */
  stamp: string | null;
}

/**
 * Age in seconds of the oldest event the usage projection has not applied (0 at the head), as the
 * summary and entitlements report it, with the read model's stamp. At the head (the usual case) one
 * statement is the whole measurement; behind it, the next event gives the age.
 */
export async function measureUsageState(pool: Pool, store: EventStore): Promise<UsageReadState> {
  const { checkpoint, head, build } = await checkpointAndHead(pool, store);
  const stamp = build === null ? null : `${build}@${checkpoint ?? 'start'}`;
  if (store.compareCheckpoints(checkpoint, head) >= 0) return { lagSeconds: 0, stamp };
  const next = await store.readAll(checkpoint, { maxCount: 1 });
  const oldest = next.events[0];
  if (oldest === undefined) return { lagSeconds: 0, stamp };
  return { lagSeconds: Math.round(Math.max(0, Date.now() - oldest.recorded_at.getTime())) / 1000, stamp };
}

export async function measureUsageLag(pool: Pool, store: EventStore): Promise<number> {
  return (await measureUsageState(pool, store)).lagSeconds;
}
