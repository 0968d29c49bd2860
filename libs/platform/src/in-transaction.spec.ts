import { createPool, inTransaction } from './database';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { endSessions, recordQueries } from '../../../test/support/pg-clients';

/** inTransaction on a pool with a query timeout (the API's invoice batches run on one). */
describe('inTransaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.close());

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
