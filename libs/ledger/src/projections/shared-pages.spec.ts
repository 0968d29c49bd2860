import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { Checkpoint, EventStore, ReadAllOptions, ReadAllResult } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { ProjectionRunner } from './projection-runner';
import { SHARED_PAGES_CAPACITY, SharedPages } from './shared-pages';
import { appendEvents, deferred, logPositions, recordingProjection } from './testing/projection-fixtures';

describe('SharedPages', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let reads: Array<{ from: Checkpoint | null; options: ReadAllOptions }>;
  /** The real store, counting its readAll calls. */
  let counting: Pick<EventStore, 'readAll'>;
  let last: Checkpoint;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    last = await appendEvents(store, 250, { streams: 5, chunk: 50 });
    counting = {
      readAll: (from, options = {}) => {
        reads.push({ from, options });
        return store.readAll(from, options);
      },
    };
  });
  beforeEach(() => {
    reads = [];
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  const ticks = async (n: number) => {
    for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
  };
  const positions = (page: ReadAllResult) => page.events.map((event) => event.position);
  /** Two readers of the counting store with the same options. */
  const sharing = (options: ReadAllOptions, first: string, second: string) =>
    new SharedPages(counting, [
      { name: first, options },
      { name: second, options },
    ]);

  it('reads each page once for two readers with the same options, and hands both the same events', async () => {
    const options = { maxCount: 40 };
    const pages = sharing(options, 'a', 'b');
    const seen: Record<string, string[]> = { a: [], b: [] };
    const follow = async (name: string) => {
      let from: Checkpoint | null = null;
      for (;;) {
        const page = await pages.read(name, from, options);
        seen[name].push(...positions(page));
        from = page.checkpoint;
        if (page.atHead) return;
      }
    };
    await Promise.all([follow('a'), follow('b')]);
    expect(seen.a).toEqual(await logPositions(store));
    expect(seen.b).toEqual(seen.a);
    // 7 pages: 6 full ones read once for both; the last reached the head and is never kept.
    const full = reads.filter((read) => read.from !== reads.at(-1)!.from);
    expect(new Set(full.map((read) => read.from)).size).toBe(full.length);
    expect(reads.length).toBeLessThanOrEqual(8);
  });

  it('never keeps an empty page that reached the head: a later reader from there sees what came after', async () => {
    const options = { maxCount: 1000 };
    const pages = sharing(options, 'a', 'b');
    const first = await pages.read('a', last, options);
    expect(first.atHead).toBe(true);
    const next = await appendEvents(store, 3, { streams: 1 });
    const later = await pages.read('b', last, options);
    expect(later.events.at(-1)?.position).toBe(next);
    last = next;
  });

  it('hands on a page with events that reached the head as not at the head; reading on from it sees what came after', async () => {
    const options = { maxCount: 1000 };
    const pages = sharing(options, 'a', 'b');
    const added = await appendEvents(store, 4, { streams: 1 });
    const first = await pages.read('a', last, options);
    expect(first.atHead).toBe(true);
    expect(first.events).toHaveLength(4);
    const next = await appendEvents(store, 3, { streams: 1 });
    const before = reads.length;
    const kept = await pages.read('b', last, options);
    expect(reads.length).toBe(before); // the page a read, not a second read of the log
    expect(positions(kept)).toEqual(positions(first));
    expect(kept.atHead).toBe(false);
    expect(kept.checkpoint).toEqual(first.checkpoint);
    const after = await pages.read('b', kept.checkpoint, options);
    expect(positions(after)).toHaveLength(3);
    expect(after.events.at(-1)?.position).toBe(next);
    expect(store.compareCheckpoints(first.checkpoint, added)).toBe(0);
    last = next;
  });

  it('hands on no empty page: read before the other reader last looked at its bell, it may miss what rang it', async () => {
    const options = { maxCount: 1000 };
    const answered = deferred();
    const held = deferred();
    let hold = true;
    // The real store, but its first answer is held back once the read is done.
    const holding: Pick<EventStore, 'readAll'> = {
      readAll: async (from, opts) => {
        const page = await counting.readAll(from, opts);
        if (hold) {
          hold = false;
          answered.resolve();
          await held.promise;
        }
        return page;
      },
    };
    const pages = new SharedPages(holding, [
      { name: 'a', options },
      { name: 'b', options },
    ]);
    const first = pages.read('a', last, options); // at the head: nothing there yet
    await answered.promise;
    const next = await appendEvents(store, 2, { streams: 1 });
    const second = pages.read('b', last, options); // after the events committed
    held.resolve();
    expect((await first).events).toEqual([]);
    const page = await second;
    expect(page.events).toHaveLength(2);
    expect(page.events.at(-1)?.position).toBe(next);
    last = next;
  });

  it('a follower takes the consecutive pages it has not read as one page, up to maxCount', async () => {
    const options = { maxCount: 10 };
    const pages = sharing(options, 'lead', 'follow');
    // At the head of a busy log the lead reads short pages: 4 events each, three times.
    const start = last;
    let lead = { checkpoint: start } as ReadAllResult;
    const leadPages: string[][] = [];
    for (let i = 0; i < 3; i += 1) {
      last = await appendEvents(store, 4, { streams: 1 });
      lead = await pages.read('lead', lead.checkpoint, options);
      leadPages.push(positions(lead));
    }
    expect(leadPages.map((page) => page.length)).toEqual([4, 4, 4]);
    const before = reads.length;
    // Two kept pages fit in maxCount 10, the third would not: one page of 8, then the third alone.
    const merged = await pages.read('follow', start, options);
    expect(positions(merged)).toEqual([...leadPages[0], ...leadPages[1]]);
    expect(merged.atHead).toBe(false);
    const rest = await pages.read('follow', merged.checkpoint, options);
    expect(positions(rest)).toEqual(leadPages[2]);
    expect(store.compareCheckpoints(rest.checkpoint, lead.checkpoint)).toBe(0);
    expect(reads.length).toBe(before);
  });

  it('does not share between readers with different options', async () => {
    const pages = new SharedPages(counting, [
      { name: 'a', options: { maxCount: 50 } },
      { name: 'b', options: { maxCount: 60 } },
    ]);
    await pages.read('a', null, { maxCount: 50 });
    await pages.read('b', null, { maxCount: 60 });
    await pages.read('a', null, { maxCount: 50 });
    expect(reads).toHaveLength(3);
  });

  it('a reader ahead of a lined-up one waits for it, but never for one that stalled', async () => {
    const options = { maxCount: 10 };
    const pages = sharing(options, 'lead', 'follow');
    // Both read the first page (the follower from the lead's page: lined up), then the lead runs ahead.
    let lead = await pages.read('lead', null, options);
    await pages.read('follow', null, options);
    let follow = lead.checkpoint;
    for (let i = 0; i < SHARED_PAGES_CAPACITY - 1; i += 1) lead = await pages.read('lead', lead.checkpoint, options);
    const before = reads.length;
    let done = false;
    const waiting = pages.read('lead', lead.checkpoint, options).then((page) => {
      done = true;
      return page;
    });
    await ticks(20);
    expect(reads.length).toBe(before); // paused before reading: the follower has pages to catch up on
    expect(done).toBe(false);
    follow = (await pages.read('follow', follow, options)).checkpoint;
    expect(positions(await waiting).length).toBe(10);
    expect(reads.length).toBe(before + 1);

    lead = await waiting;
    // Ahead again; then the follower fails: the lead reads on at once instead of waiting for it.
    expect(follow).not.toBe(lead.checkpoint);
    pages.stalled('follow');
    const stalledBefore = reads.length;
    const unblocked = pages.read('lead', lead.checkpoint, options);
    await ticks(20);
    expect(reads.length).toBe(stalledBefore + 1);
    expect((await unblocked).events).toHaveLength(10);
  });

  it('a follower that reaches the front and reads the next page itself stays lined up: the lead waits for it', async () => {
    const options = { maxCount: 10 };
    const pages = sharing(options, 'lead', 'follow');
    let lead = await pages.read('lead', null, options);
    const served = await pages.read('follow', null, options);
    // The follower is now at the front: it reads the next page itself, and the lead is served it.
    const front = await pages.read('follow', served.checkpoint, options);
    const before = reads.length;
    lead = await pages.read('lead', lead.checkpoint, options);
    expect(reads.length).toBe(before);
    expect(positions(lead)).toEqual(positions(front));
    for (let i = 0; i < SHARED_PAGES_CAPACITY - 1; i += 1) lead = await pages.read('lead', lead.checkpoint, options);
    let done = false;
    const waiting = pages.read('lead', lead.checkpoint, options).then(() => {
      done = true;
    });
    await ticks(20);
    expect(done).toBe(false); // it waits for the follower, which is lined up
    await pages.read('follow', front.checkpoint, options);
    await waiting;
  });

  it('in a runner, two projections reading alike apply the whole log from shared pages', async () => {
    const a = recordingProjection({ name: 'shared_a' });
    const b = recordingProjection({ name: 'shared_b' });
    const runner = new ProjectionRunner({
      pool: db.pool,
      store: Object.assign(Object.create(store) as PostgresEventStore, { readAll: counting.readAll }),
      projections: [a, b],
      batchSize: 25,
      idlePollMs: 100,
    });
    await runner.start();
    try {
      await runner.waitForPosition('shared_a', last, 20_000);
      await runner.waitForPosition('shared_b', last, 20_000);
    } finally {
      await runner.stop();
    }
    const log = await logPositions(store);
    for (const name of ['shared_a', 'shared_b']) {
      const rows = await db.pool.query<{ position: string }>(`SELECT position FROM ${name}_rows ORDER BY seq`);
      expect(rows.rows.map((row) => row.position)).toEqual(log);
    }
    // 253 events in pages of 25: 11 pages. Unshared, the two projections would read at least 22.
    const pageReads = reads.filter((read) => read.options.maxCount === 25);
    expect(pageReads.length).toBeLessThan(22);
  });
});
