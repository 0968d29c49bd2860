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
       (SELECT e.tx_id::text || '/' || e.position::text FROM events e
         WHERE e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
         ORDER BY e.tx_id DESC, e.position DESC LIMIT 1) AS head`;

async function checkpointAndHead(pool: Pool, store: EventStore): Promise<[Checkpoint | null, Checkpoint | null]> {
  if (store.kind !== 'postgres') return Promise.all([usageCheckpoint(pool), store.headCheckpoint()]);
  const { rows } = await pool.query<{ checkpoint: string | null; head: string | null }>(
    preparedQuery(CHECKPOINT_AND_HEAD),
  );
  return [rows[0].checkpoint, rows[0].head];
}

/**
 * Age in seconds of the oldest event the usage projection has not applied (0 at the head), as the
 * summary and entitlements report it. At the head (the usual case) one statement is the whole
 * measurement; behind it, the next event gives the age.
 */
export async function measureUsageLag(pool: Pool, store: EventStore): Promise<number> {
  const [checkpoint, head] = await checkpointAndHead(pool, store);
  if (store.compareCheckpoints(checkpoint, head) >= 0) return 0;
  const next = await store.readAll(checkpoint, { maxCount: 1 });
  const oldest = next.events[0];
  if (oldest === undefined) return 0;
  return Math.round(Math.max(0, Date.now() - oldest.recorded_at.getTime())) / 1000;
}
