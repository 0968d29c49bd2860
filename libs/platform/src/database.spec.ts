import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { endSessions, failureOf, recordQueries, terminateSession } from '../../../test/support/pg-clients';
import { createPool, inTransaction, isQueryTimeout, rollbackOrDrop, STATEMENT_TIMEOUT_MARGIN_MS } from './database';

/** One throwaway database for the file: each test makes its own pool, named for it. */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(() => db?.close());

/**
 * A server restart terminates every session. pg-pool only listens for errors on idle clients, so a
 * client checked out between two queries (a transaction in progress, a held lock) used to emit an
 * unhandled 'error' and kill the process: the API and the projector both died on the first
 * PostgreSQL restart of the chaos scenario (test/chaos/postgres-restart.spec.ts).
 */
describe('createPool: a connection lost while checked out', () => {
  it('does not crash the process: the next query rejects, release() drops the client, the pool goes on', async () => {
    const pool = createPool(db.url, { max: 2, applicationName: 'abaxus-pool-spec' });
    try {
      const client = await pool.connect();
      // pg-pool removed its idle listener on checkout: ours is what is left.
      expect(client.listenerCount('error')).toBe(1);
      // What a fast shutdown does to every session: FATAL 57P01 sent to the client, socket closed.
      // No listener of the test's own (it would hide the defect): pg marks the client unqueryable in
      // the same tick it emits 'error', which Node would throw here were nobody listening.
      await terminateSession(db.pool, client);
      expect((client as unknown as { _queryable: boolean })._queryable).toBe(false);
      await expect(client.query('SELECT 1')).rejects.toThrow(/not queryable|terminated|ended/i);
      client.release();
      expect(pool.totalCount).toBe(0);
      const again = await pool.query<{ ok: number }>('SELECT 1 AS ok');
      expect(again.rows).toEqual([{ ok: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe('createPool: queryTimeoutMs', () => {
  it('abandons a query the server does not answer in time; released with the error, the client is dropped', async () => {
    const pool = createPool(db.url, { max: 1, queryTimeoutMs: 200, applicationName: 'abaxus-timeout-spec' });
    try {
      const client = await pool.connect();
      const error: unknown = await failureOf(client.query('SELECT pg_sleep(30)'));
      expect(isQueryTimeout(error)).toBe(true);
      expect(isQueryTimeout(new Error('canceling statement due to statement timeout'))).toBe(false);
      client.release(error as Error);
      expect(pool.totalCount).toBe(0);
      // A fresh connection answers at once (the abandoned one is not queued behind).
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0].one).toBe(1);
    } finally {
      await pool.end();
      // The abandoned pg_sleep ends with its connection.
      await endSessions(db.pool, 'abaxus-timeout-spec');
    }
  });

  it('the server cancels the abandoned statement too (statement_timeout: the limit plus a margin)', async () => {
    const name = 'abaxus-server-timeout-spec';
    const pool = createPool(db.url, { max: 1, queryTimeoutMs: 200, applicationName: name });
    try {
      const client = await pool.connect();
      const { rows } = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0].statement_timeout).toBe(`${200 + STATEMENT_TIMEOUT_MARGIN_MS}ms`);
      const error: unknown = await failureOf(client.query('SELECT pg_sleep(60)'));
      expect(isQueryTimeout(error)).toBe(true);
      client.release(error as Error);
      // Without a server-side limit the backend would sleep on for a minute after its client left.
      const running = () =>
        db.pool.query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'`, [name]);
      const deadline = Date.now() + 15_000;
      while ((await running()).rows.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await running()).rows).toEqual([]);
    } finally {
      await pool.end();
      await endSessions(db.pool, name);
    }
  });

  it('sets no limit when unset or 0', async () => {
    for (const queryTimeoutMs of [undefined, 0]) {
      const pool = createPool(db.url, { max: 1, queryTimeoutMs });
      try {
        const { rows } = await pool.query<{ slept: string }>('SELECT pg_sleep(0.3)::text AS slept');
        expect(rows).toHaveLength(1);
        expect((pool as unknown as { options: { query_timeout?: number } }).options.query_timeout).toBeUndefined();
        expect(
          (await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout,
        ).toBe('0');
      } finally {
        await pool.end();
      }
    }
  });
});

describe('rollbackOrDrop: after a failed transaction', () => {
  it('rolls back after a statement error: the client is usable again and released without an error', async () => {
    const pool = createPool(db.url, { max: 1, applicationName: 'abaxus-rollback-spec' });
    try {
      const client = await pool.connect();
      const sent = recordQueries(client);
      await client.query('BEGIN');
      const error: unknown = await failureOf(client.query('SELECT 1 / 0'));
      expect((error as { code?: string }).code).toBe('22012');
      expect(await rollbackOrDrop(client, error)).toBeUndefined();
      expect(sent).toEqual(['BEGIN', 'SELECT 1 / 0', 'ROLLBACK']);
      // Out of the aborted transaction (25P02 otherwise).
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0].one).toBe(1);
      client.release();
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('sends no ROLLBACK after a query timeout: it returns that error, to drop the busy client', async () => {
    const pool = createPool(db.url, { max: 1, queryTimeoutMs: 200, applicationName: 'abaxus-rollback-timeout-spec' });
    try {
      const client = await pool.connect();
      const sent = recordQueries(client);
      await client.query('BEGIN');
      const error: unknown = await failureOf(client.query('SELECT pg_sleep(30)'));
      expect(isQueryTimeout(error)).toBe(true);
      expect(await rollbackOrDrop(client, error)).toBe(error);
      expect(sent).toEqual(['BEGIN', 'SELECT pg_sleep(30)']);
      client.release(error as Error);
      expect(pool.totalCount).toBe(0);
    } finally {
      await pool.end();
      await endSessions(db.pool, 'abaxus-rollback-timeout-spec');
    }
  });

  it("returns the ROLLBACK's own error when the connection is gone", async () => {
    const pool = createPool(db.url, { max: 1, applicationName: 'abaxus-rollback-gone-spec' });
    try {
      const client = await pool.connect();
      await terminateSession(db.pool, client);
      const dropped = await rollbackOrDrop(client, new Error('the statement failed'));
      expect(dropped).toBeInstanceOf(Error);
      expect(dropped?.message).toMatch(/not queryable|terminated|ended/i);
      client.release(dropped);
      expect(pool.totalCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
});

/** inTransaction on a pool with a query timeout (the API's invoice batches run on one). */
describe('inTransaction', () => {
  it('drops a client whose query timed out without queueing a ROLLBACK behind it', async () => {
    const pool = createPool(db.url, { max: 1, queryTimeoutMs: 200, applicationName: 'abaxus-in-tx-timeout-spec' });
    let sent: string[] = [];
    pool.on('acquire', (client) => {
      sent = recordQueries(client);
    });
    try {
      await expect(inTransaction(pool, (client) => client.query('SELECT pg_sleep(30)'))).rejects.toThrow(
        'Query read timeout',
      );
      expect(sent).toEqual(['BEGIN', 'SELECT pg_sleep(30)']);
      expect(pool.totalCount).toBe(0);
    } finally {
      await pool.end();
      await endSessions(db.pool, 'abaxus-in-tx-timeout-spec');
    }
  });

  it('rolls back after a statement error and keeps the client', async () => {
    const pool = createPool(db.url, { max: 1, applicationName: 'abaxus-in-tx-spec' });
    let sent: string[] = [];
    pool.on('acquire', (client) => {
      sent = recordQueries(client);
    });
    try {
      await expect(inTransaction(pool, (client) => client.query('SELECT 1 / 0'))).rejects.toMatchObject({
        code: '22012',
      });
      expect(sent).toEqual(['BEGIN', 'SELECT 1 / 0', 'ROLLBACK']);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
