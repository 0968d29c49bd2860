import type { Pool } from 'pg';
import type { Checkpoint, EventStore } from '#ledger';
import { preparedQuery } from './prepared-query';

/** The usage projection's live build (`version.build`) and its checkpoint: no row before the projector created it. */
const LIVE_USAGE = `SELECT checkpoint, version::text || '.' || build::text AS build FROM projections
  WHERE name = 'usage' AND status = 'live'`;

/**
 * Postgres store: the live build, its checkpoint and the visible head (the last event below the
 * transaction horizon, as PostgresEventStore.headCheckpoint reads it) in ONE prepared statement on
 * one snapshot, instead of two queries on two connections.
 */
const CHECKPOINT_AND_HEAD = `
SELECT live.checkpoint, live.build,
       (SELECT e.tx_id::text || '/' || e.position::text FROM events e
         WHERE e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
         ORDER BY e.tx_id DESC, e.position DESC LIMIT 1) AS head
  FROM (SELECT 1) AS one LEFT JOIN (${LIVE_USAGE}) AS live ON true`;

interface CheckpointAndHead {
  checkpoint: Checkpoint | null;
  /** The live build (`version.build`); null before the projector created one. */
  build: string | null;
  head: Checkpoint | null;
}

async function checkpointAndHead(pool: Pool, store: EventStore): Promise<CheckpointAndHead> {
  if (store.kind !== 'postgres') {
    const [live, head] = await Promise.all([
      pool.query<{ checkpoint: Checkpoint | null; build: string }>(preparedQuery(LIVE_USAGE)),
      store.headCheckpoint(),
    ]);
    return { checkpoint: live.rows[0]?.checkpoint ?? null, build: live.rows[0]?.build ?? null, head };
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
