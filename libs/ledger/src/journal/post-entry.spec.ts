import type { AdjustmentRecorded } from '#domain';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { StreamNotFoundError, type EventMetadata } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { adjustmentEntry } from './journal-entries';
import { JournalError } from './journal.errors';
import { LEDGER_ENTRY_POSTED, ledgerStream, type LedgerEntry } from './ledger-entry';
import { postEntry, postJournalFor, readLedger } from './post-entry';

const metadata: EventMetadata = { tenant_id: 'acme', actor: 'system:test', request_id: 'req_1' };

const recorded = (id: string, amount: string): AdjustmentRecorded['data'] => ({
  adjustment_id: id,
  customer_id: 'c1',
  amount,
  currency: 'EUR',
  reason: 'goodwill',
  kind: 'manual',
  invoice_id: null,
  line: null,
  recorded_at: '2026-03-01T00:00:00.000Z',
});

describe('postEntry on the real event store', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  const eventCount = async (stream: string) =>
    Number((await db.pool.query('SELECT count(*) FROM events WHERE stream = $1', [stream])).rows[0].count);

  it('appends a LedgerEntryPosted to the customer ledger, with the entry id as event id and its business time', async () => {
    const entry = adjustmentEntry('acme', recorded('adj_1', '-10.00'))!;
    const posted = await postEntry(store, entry, metadata);
    expect(posted.revision).toBe(0);
    const [event] = await store.readStream(ledgerStream('acme', 'c1'));
    expect(event).toMatchObject({ id: entry.entry_id, type: LEDGER_ENTRY_POSTED, data: entry });
    expect(event.occurred_at.toISOString()).toBe(entry.posted_at);
  });

  it('posting the same entry twice (or concurrently) posts it once', async () => {
    const entry = adjustmentEntry('acme', recorded('adj_2', '4.00'))!;
    const results = await Promise.all(
      [1, 2, 3].map(() => postEntry(store, entry, { ...metadata, request_id: 'retry' })),
    );
    expect(new Set(results.map((r) => r.revision)).size).toBe(1);
    await postJournalFor(store, 'acme', [{ type: 'AdjustmentRecorded', data: recorded('adj_2', '4.00') }], metadata);
    expect((await readLedger(store, 'acme', 'c1')).filter((e) => e.reference === 'adj_2')).toHaveLength(1);
  });

  it('another entry under an existing entry id is JOURNAL.ENTRY_CONFLICT and is not written', async () => {
    const original = adjustmentEntry('acme', recorded('adj_3', '1.00'))!;
    await postEntry(store, original, metadata);
    const before = await eventCount(ledgerStream('acme', 'c1'));
    const altered: LedgerEntry = { ...original, reason: 'something else' };
    await expect(postEntry(store, altered, metadata)).rejects.toMatchObject({ code: 'JOURNAL.ENTRY_CONFLICT' });
    expect(await eventCount(ledgerStream('acme', 'c1'))).toBe(before);
  });

  it('an unbalanced entry is refused with a typed error and never written', async () => {
    const entry = adjustmentEntry('acme', { ...recorded('adj_4', '5.00'), customer_id: 'c_unbalanced' })!;
    const unbalanced: LedgerEntry = { ...entry, lines: [entry.lines[0], { account: 'revenue', credit: '4.99' }] };
    const error = await postEntry(store, unbalanced, metadata).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalError);
    expect(error).toMatchObject({ code: 'JOURNAL.UNBALANCED' });
    await expect(store.readStream(ledgerStream('acme', 'c_unbalanced'))).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it("an entry posted under another tenant's metadata is refused", async () => {
    const entry = adjustmentEntry('acme', recorded('adj_5', '5.00'))!;
    await expect(postEntry(store, entry, { ...metadata, tenant_id: 'globex' })).rejects.toMatchObject({
      code: 'JOURNAL.INVALID_ENTRY',
    });
  });

  it('reads a customer ledger in posting order; an unknown customer has an empty ledger', async () => {
    expect((await readLedger(store, 'acme', 'c1')).map((e) => e.reference)).toEqual(['adj_1', 'adj_2', 'adj_3']);
    expect(await readLedger(store, 'acme', 'nobody')).toEqual([]);
  });
});
