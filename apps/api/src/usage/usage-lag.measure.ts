import type { Pool } from 'pg';
import type { EventStore } from '#ledger';
import { usageCheckpoint } from './usage-catalog';

/**
 * Age in seconds of the oldest event the usage projection has not applied (0 at the head), as the
 * summary and entitlements report it. The checkpoint and the visible head are read in parallel: at
 * the head (the usual case) that is the whole measurement; behind it, the next event gives the age.
 */
export async function measureUsageLag(pool: Pool, store: EventStore): Promise<number> {
  const [checkpoint, head] = await Promise.all([usageCheckpoint(pool), store.headCheckpoint()]);
  if (store.compareCheckpoints(checkpoint, head) >= 0) return 0;
  const next = await store.readAll(checkpoint, { maxCount: 1 });
  const oldest = next.events[0];
  if (oldest === undefined) return 0;
  return Math.round(Math.max(0, Date.now() - oldest.recorded_at.getTime())) / 1000;
}
