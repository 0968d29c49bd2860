import { rollbackOrDrop } from '#platform';
import type { Pool, PoolClient } from 'pg';

/** How long to wait for each extra connection before going on with fewer (never deadlock on the pool). */
const EXTRA_CONNECTION_WAIT_MS = 20;
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i;

async function connectWithin(pool: Pool, timeoutMs: number): Promise<PoolClient | null> {
  let timedOut = false;
  const connecting = pool.connect();
  const timer = new Promise<null>((resolve) =>
    setTimeout(() => {
      timedOut = true;
      resolve(null);
    }, timeoutMs),
  );
  const client = await Promise.race([connecting, timer]);
  if (client === null) {
    // Too late: hand the connection back when it comes.
    connecting.then((late) => late.release()).catch(() => undefined);
    return null;
  }
  if (timedOut) {
    client.release();
    return null;
  }
  return client;
}

/**
 * Runs `work` with up to `size` connections reading ONE snapshot (REPEATABLE READ, READ ONLY; the
 * first exports its snapshot, the others import it), so that parallel queries see exactly the same
 * rows and the same projection checkpoint. Extra connections are only taken if the pool has them
 * promptly: under load the work runs on fewer (at least one).
 */
export async function withSharedSnapshot<T>(
  pool: Pool,
  size: number,
  work: (clients: PoolClient[]) => Promise<T>,
): Promise<T> {
  const clients: PoolClient[] = [];
  let failure: unknown;
  try {
    const first = await pool.connect();
    clients.push(first);
    await first.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows } = await first.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
    const snapshot = rows[0].id;
    if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
    for (let i = 1; i < size; i++) {
      const extra = await connectWithin(pool, EXTRA_CONNECTION_WAIT_MS);
      if (extra === null) break;
      clients.push(extra);
      await extra.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await extra.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    }
    return await work(clients);
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // A query timeout leaves its client busy: every client is dropped rather than queue a ROLLBACK.
    for (const client of clients) client.release(await rollbackOrDrop(client, failure));
  }
}
