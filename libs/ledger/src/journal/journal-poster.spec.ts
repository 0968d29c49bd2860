import { randomUUID } from 'node:crypto';
import type { AdjustmentRecorded } from '#domain';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { Checkpoint } from '../event-store';
import { streamName } from '../streams';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { waitUntil } from '../projections/testing/projection-fixtures';
import { catchUpJournal, startJournalPoster } from './journal-poster';
import { readLedger } from './post-entry';

const adjustment = (id: string, amount: string): AdjustmentRecorded['data'] => ({
  adjustment_id: id,
  customer_id: 'c1',
  amount,
  currency: 'USD',
  reason: 'goodwill',
  kind: 'manual',
  invoice_id: null,
  line: null,
  recorded_at: '2026-03-01T00:00:00.000Z',
});

describe('journal poster', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  /** A fact appended by a process that died before posting its entry. */
  async function factWithoutEntry(tenant: string, id: string, amount: string): Promise<Checkpoint> {
    const { position } = await store.append(streamName(tenant, 'adjustment', id), [
      {
        id: randomUUID(),
        type: 'AdjustmentRecorded',
        data: adjustment(id, amount),
        metadata: { tenant_id: tenant, actor: 'key_1', request_id: `req_${id}` },
      },
    ]);
    return position;
  }

  it('posts the entries of facts whose entries were never posted, once, however often it runs', async () => {
    await factWithoutEntry('acme', 'adj_1', '-5.00');
    await factWithoutEntry('acme', 'adj_2', '2.00');
    await factWithoutEntry('globex', 'adj_1', '-1.00');
    expect(await readLedger(store, 'acme', 'c1')).toEqual([]);
    const first = await catchUpJournal({ pool: db.pool, store });
    expect(first.posted).toBe(3);
    expect((await readLedger(store, 'acme', 'c1')).map((e) => e.reference)).toEqual(['adj_1', 'adj_2']);
    expect((await readLedger(store, 'globex', 'c1')).map((e) => e.reference)).toEqual(['adj_1']);
    // From its checkpoint: nothing new. From scratch (checkpoint lost): the same entries, not again.
    expect((await catchUpJournal({ pool: db.pool, store })).posted).toBe(0);
    await db.pool.query('DELETE FROM journal_poster_checkpoints');
    expect((await catchUpJournal({ pool: db.pool, store })).posted).toBe(3);
    expect(await readLedger(store, 'acme', 'c1')).toHaveLength(2);
  });

  it('records who posted and why: the poster as actor, the fact as cause', async () => {
    const [event] = await store.readStream(streamName('acme', 'ledger', 'c1'), { maxCount: 1 });
    expect(event.metadata).toMatchObject({
      tenant_id: 'acme',
      actor: 'system:journal-poster',
      request_id: 'req_adj_1',
    });
    expect(typeof event.metadata.causation_id).toBe('string');
  });

  it('follows the log live', async () => {
    const poster = await startJournalPoster({ pool: db.pool, store });
    try {
      await factWithoutEntry('acme', 'adj_3', '7.00');
      const ledger = await waitUntil(
        async () => {
          const entries = await readLedger(store, 'acme', 'c1');
          return entries.some((e) => e.reference === 'adj_3') && entries;
        },
        10_000,
        'the entry of adj_3',
      );
      expect(ledger.map((e) => e.reference)).toEqual(['adj_1', 'adj_2', 'adj_3']);
    } finally {
      await poster.stop();
    }
  });

  it('live, pages without facts do not rewrite its checkpoint each time; a fact does', async () => {
    const saved = async () =>
      (
        await db.pool.query<{ checkpoint: string; updated_at: Date }>(
          `SELECT checkpoint, updated_at FROM journal_poster_checkpoints WHERE name = 'journal'`,
        )
      ).rows[0];
    const poster = await startJournalPoster({ pool: db.pool, store });
    try {
      const fact = await factWithoutEntry('acme', 'adj_4', '1.00');
      // The save after adj_4's page (the poster's first, empty page may have saved once before it).
      const first = await waitUntil(
        async () => {
          const row = await saved();
          return row !== undefined && store.compareCheckpoints(row.checkpoint, fact) >= 0 && row.updated_at;
        },
        10_000,
        'the checkpoint saved after adj_4',
      );
      // Usage-like traffic: every append notifies, none is a fact (the filter skips it).
      for (let i = 0; i < 5; i++) {
        await store.append(streamName('acme', 'usage', `u${i}`), [
          { id: randomUUID(), type: 'UsageRecorded', data: { n: i }, metadata: { tenant_id: 'acme', actor: 'key_1' } },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await saved()).updated_at).toEqual(first);
      await factWithoutEntry('acme', 'adj_5', '1.00');
      await waitUntil(async () => (await saved()).updated_at > first, 10_000, 'the checkpoint saved after a fact');
    } finally {
      await poster.stop();
    }
  });
});
