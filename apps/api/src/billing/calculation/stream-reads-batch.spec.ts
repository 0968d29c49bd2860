import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { STREAMS_AS_OF_SQL } from './stream-reads-batch';

/*
 * The batch read of many small streams (subscriptions, customers, invoices) in a log that is mostly
 * long usage streams: the planner must look each stream up in the index. Left to estimate every
 * stream at the log's average length, it hash-joins a scan of the whole log instead, which at 10 M
 * events took seconds per batch of the billing run.
 */
describe('readStreamsAsOf on Postgres', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    // 200 usage-like streams of 500 events, then 250 one-event streams: the average stream is long,
    // and (with a small statistics target, as 10 M events give a default one) most long streams are
    // not in the most-common-values list, so an unknown stream is estimated at the average length.
    await db.pool.query(`
      INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
      SELECT gen_random_uuid(), 'acme:usage-' || (i / 500), i % 500, 'UsageRecorded', 'acme', '{}', '{}', now()
        FROM generate_series(0, 99999) AS i`);
    await db.pool.query(`
      INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
      SELECT gen_random_uuid(), 'acme:customer-c' || i, 0, 'CustomerCreated', 'acme', '{}', '{}', now()
        FROM generate_series(1, 250) AS i`);
    await db.pool.query('ALTER TABLE events ALTER COLUMN stream SET STATISTICS 10');
    await db.pool.query('ANALYZE events');
  });
  afterAll(async () => {
    await db?.close();
  });

  it('looks up each of 250 streams in the index: no scan of the log', async () => {
    const streams = Array.from({ length: 250 }, (_, i) => `acme:customer-c${i + 1}`);
    const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${STREAMS_AS_OF_SQL}`, [streams]);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    // Per stream name, an index lookup of that name (not a scan of the log joined afterwards, by
    // hash on a sequential scan or by merge on a full index scan).
    expect(plan).toMatch(/Nested Loop/);
    expect(plan).toMatch(/Index Cond: \(stream = s\.name\)/);
    expect(plan).not.toMatch(/Seq Scan on events|Hash Join|Merge Join/);
    const read = await db.pool.query<{ stream: string }>(STREAMS_AS_OF_SQL, [streams]);
    expect(read.rows).toHaveLength(250);
  });
});
