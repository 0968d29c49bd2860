import { Inject, Injectable } from '@nestjs/common';
import pLimit from 'p-limit';
import type { Pool, PoolClient } from 'pg';
import { PG_POOL } from './tokens';

/** Arbitrary constant: the advisory-lock namespace of catalog references (two-key form, key 2 = tenant). */
export const CATALOG_REFERENCE_LOCK_NAMESPACE = 4_242_400;

/** Lock holders per process at once: each holds one pool connection for the whole command. */
const HOLDERS = 2;

/**
 * Serialises, per tenant and across every API replica, the commands whose rule spans two aggregates:
 * starting a subscription (or changing its plan) checks that its customer and the metrics it bills
 * are not archived, and archiving a customer or a metric checks that no live subscription uses it.
 * Each reads the other's stream, then appends to its own: run at the same moment, both checks could
 * pass and both appends land (a live subscription billing an archived metric). Under this lock the
 * second command reads after the first one's append committed, so exactly one of them is refused.
 *
 * A session-level advisory lock on a pool connection held until the work ends (Postgres is there in
 * both event-store modes; a holder that dies releases it with its session). At most HOLDERS commands
 * of this process hold a connection for it, so lock holders can never take the whole pool from the
 * work they run. `work` must not take this lock again (it would wait for itself).
 */
@Injectable()
export class CatalogReferenceLock {
  private readonly holders = pLimit(HOLDERS);

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  run<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return this.holders(async () => {
      const client = await this.pool.connect();
      // A failure of the lock's own connection (a query timeout while waiting, a cut connection) drops
      // it rather than reuse it: its session ends, and with it a lock granted after we stopped listening.
      let broken: Error | undefined;
      try {
        await lock(client, 'pg_advisory_lock', tenantId);
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      try {
        return await work();
      } finally {
        await lock(client, 'pg_advisory_unlock', tenantId).catch((error: Error) => (broken = error));
        client.release(broken);
      }
    });
  }
}

async function lock(client: PoolClient, fn: 'pg_advisory_lock' | 'pg_advisory_unlock', tenantId: string) {
  await client.query(`SELECT ${fn}($1, hashtext($2))`, [CATALOG_REFERENCE_LOCK_NAMESPACE, tenantId]);
}
