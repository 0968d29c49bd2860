import { randomUUID } from 'node:crypto';
import { PostgresEventStore, type RecordedEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { readToHead } from './read-to-head';

describe('readToHead', () => {
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

  const event = (type: string) => ({
    id: randomUUID(),
    type,
    data: {},
    metadata: { tenant_id: 't1', actor: 'system:test' },
  });

  it('waits for an event committed behind an older open transaction before it returns', async () => {
    await store.append('t1:thing-a', [event('ThingHappened')]);
    // An older transaction with an id holds the horizon: what commits after it is not visible yet.
    const holder = await db.pool.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT pg_current_xact_id()');
    const late = await store.append('t1:thing-b', [event('ThingHappened')]);
    expect((await store.readAll(null, { types: ['ThingHappened'] })).pending).toBe(true);

    const seen: RecordedEvent[] = [];
    const reading = readToHead(store, null, { types: ['ThingHappened'], maxCount: 1 }, (events) =>
      seen.push(...events),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await holder.query('COMMIT');
    holder.release();
    const checkpoint = await reading;

    expect(seen.map((e) => e.stream)).toEqual(['t1:thing-a', 't1:thing-b']);
    expect(checkpoint).toBe(late.position);
  });

  it('returns at once at the head when nothing is pending', async () => {
    const seen: RecordedEvent[] = [];
    const head = await store.headCheckpoint();
    expect(await readToHead(store, head, { types: ['ThingHappened'] }, (events) => seen.push(...events))).toBe(head);
    expect(seen).toEqual([]);
  });
});
