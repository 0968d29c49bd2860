import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { EventStore, ReadAllOptions, RecordedEvent } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { Pool } from 'pg';
import type { Projection } from './projection';
import { applyNextBatch, type BatchOutcome, type ReadAhead } from './projection-batch';
import { readBuild } from './projection-catalog';
import { ensureProjection } from './projection-rebuild';
import { appendEvents, logPositions, recordingProjection } from './testing/projection-fixtures';

describe('applyNextBatch read-ahead', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await appendEvents(store, 250, { streams: 5, chunk: 50 });
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  const applied = (outcome: BatchOutcome) => {
    if (outcome.kind !== 'applied') throw new Error(`expected an applied batch, got ${outcome.kind}`);
    return outcome;
  };
  type Applied = Extract<BatchOutcome, { kind: 'applied' }>;
  /** Batches from `checkpoint`, each given the page the one before read ahead, until one finds the head. */
  const catchUp = async (
    deps: { pool: Pool; store: EventStore },
    projection: Projection,
    key: { name: string; version: number; build: number; status: 'live' },
    batchSize: number,
  ): Promise<Applied[]> => {
    const batches: Applied[] = [];
    for (;;) {
      const last = batches.at(-1);
      const target = { ...key, checkpoint: last?.checkpoint ?? null };
      const outcome = await applyNextBatch(deps, projection, target, batchSize, last?.readAhead);
      if (outcome.kind === 'at_head') return batches;
      batches.push(applied(outcome));
    }
  };
  const positionsOf = async (table: string) =>
    (await db.pool.query<{ position: string }>(`SELECT position FROM ${table} ORDER BY seq`)).rows.map(
      (row) => row.position,
    );

  it('reads the next page while a batch applies, and only a batch starting from its checkpoint uses it', async () => {
    // Not idempotent: an event applied twice fails the batch loudly.
    const projection = recordingProjection({ name: 'ahead', idempotent: false });
    await ensureProjection(db.pool, projection);
    const deps = { pool: db.pool, store };
    const key = { name: 'ahead', version: 1, build: 0, status: 'live' as const };
    const log = await logPositions(store);

    const first = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: null }, 100));
    expect(first.readAhead?.from).toBe(first.checkpoint);
    expect((await first.readAhead!.page).events.map((e) => e.position)).toEqual(log.slice(100, 200));

    // Another runner moves the checkpoint first (no read-ahead of its own).
    const second = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: first.checkpoint }, 100));
    // A runner still holding the old checkpoint and its read-ahead is fenced by the row lock…
    expect(
      await applyNextBatch(deps, projection, { ...key, checkpoint: first.checkpoint }, 100, first.readAhead),
    ).toEqual({ kind: 'raced' });
    // …and a read-ahead from another checkpoint is ignored: the batch reads from its own.
    const third = applied(
      await applyNextBatch(deps, projection, { ...key, checkpoint: second.checkpoint }, 100, first.readAhead),
    );
    expect(third.events).toBe(50);
    expect(third.atHead).toBe(true);
    expect(third.readAhead).toBeUndefined(); // nothing to read ahead at the head
    expect(await positionsOf('ahead_rows')).toEqual(log);
  });

  it('a page its filter emptied moves only the checkpoint, never back, and never on a build that changed hands', async () => {
    const projection = recordingProjection({ name: 'rare', eventTypes: ['Rare'], idempotent: false });
    await ensureProjection(db.pool, projection);
    const deps = { pool: db.pool, store };
    const key = { name: 'rare', version: 1, build: 0, status: 'live' as const };
    const catalogCheckpoint = async () => (await readBuild(db.pool, key))?.checkpoint;

    const moved = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: null }, 100));
    expect(moved).toMatchObject({ events: 0, atHead: true });
    expect(moved.checkpoint).toBe((await logPositions(store)).at(-1));
    expect(await catalogCheckpoint()).toBe(moved.checkpoint);
    // A runner still holding the old checkpoint reads the same empty page: it must not move it back.
    expect(await applyNextBatch(deps, projection, { ...key, checkpoint: null }, 100)).toEqual({ kind: 'raced' });
    expect(await catalogCheckpoint()).toBe(moved.checkpoint);
    expect(await applyNextBatch(deps, projection, { ...key, checkpoint: moved.checkpoint }, 100)).toEqual({
      kind: 'at_head',
      checkpoint: moved.checkpoint,
    });

    // More skipped events, and a runner that still works the build as 'building': not its build any more.
    const later = await appendEvents(store, 10, { streams: 1, chunk: 10 });
    const building = { ...key, status: 'building' as const, checkpoint: moved.checkpoint };
    expect(await applyNextBatch(deps, projection, building, 100)).toEqual({ kind: 'inactive' });
    expect(await catalogCheckpoint()).toBe(moved.checkpoint);
    expect(
      applied(await applyNextBatch(deps, projection, { ...key, checkpoint: moved.checkpoint }, 100)),
    ).toMatchObject({ events: 0, checkpoint: later });
    expect(await positionsOf('rare_rows')).toEqual([]);
  });

  it('prepares each page read ahead before its batch applies, and a failing prepare only leaves the work to apply', async () => {
    const base = recordingProjection({ name: 'prepared', idempotent: false });
    const prepared = new Set<readonly RecordedEvent[]>();
    const batches: Array<{ positions: string[]; wasPrepared: boolean }> = [];
    let failOnce = true;
    const projection: Projection = {
      ...base,
      prepare: (events) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('prepare failed');
        }
        prepared.add(events);
      },
      apply: async (events, context) => {
        batches.push({ positions: events.map((e) => e.position), wasPrepared: prepared.has(events) });
        await base.apply(events, context);
      },
    };
    await ensureProjection(db.pool, projection);
    const deps = { pool: db.pool, store };
    const key = { name: 'prepared', version: 1, build: 0, status: 'live' as const };
    await catchUp(deps, projection, key, 100);
    // Page 1 was read by the batch itself; page 2's prepare threw (applied all the same); the later
    // ones were prepared while the batch before them applied.
    const pages = Math.ceil((await logPositions(store)).length / 100);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(batches.map((batch) => batch.wasPrepared)).toEqual([false, false, ...Array(pages - 2).fill(true)]);
    expect(batches.flatMap((batch) => batch.positions)).toEqual(await logPositions(store));
    expect(await positionsOf('prepared_rows')).toEqual(await logPositions(store));
  });

  it('commits a batch without waiting for its WAL flush (derived rows; a lost batch is applied again)', async () => {
    const seen: string[] = [];
    const projection: Projection = {
      name: 'async_commit',
      version: 1,
      tables: { async_commit_rows: (t) => `CREATE TABLE ${t} (n int)` },
      apply: async (_events, { client }) => {
        seen.push(
          (await client.query<{ s: string }>('SELECT current_setting($1) AS s', ['synchronous_commit'])).rows[0].s,
        );
      },
    };
    // Test clusters run with synchronous_commit off: this pool's sessions start with it on.
    const pool = new Pool({ connectionString: db.url, max: 1, options: '-c synchronous_commit=on' });
    try {
      await ensureProjection(pool, projection);
      const key = { name: 'async_commit', version: 1, build: 0, status: 'live' as const };
      applied(await applyNextBatch({ pool, store }, projection, { ...key, checkpoint: null }, 10));
      expect(seen).toEqual(['off']);
      // SET LOCAL: the pooled connection goes back with the session's setting.
      const after = await pool.query<{ s: string }>('SELECT current_setting($1) AS s', ['synchronous_commit']);
      expect(after.rows[0].s).toBe('on');
    } finally {
      await pool.end();
    }
  });

  it('a pipelined catch-up reads each page once and applies the log exactly once, in order', async () => {
    const projection = recordingProjection({ name: 'piped', idempotent: false });
    await ensureProjection(db.pool, projection);
    let reads = 0;
    const counting: EventStore = Object.assign(Object.create(store) as EventStore, {
      readAll: (from: string | null, options?: ReadAllOptions) => {
        reads += 1;
        return store.readAll(from, options);
      },
    });
    const deps = { pool: db.pool, store: counting };
    const key = { name: 'piped', version: 1, build: 0, status: 'live' as const };
    const batches = await catchUp(deps, projection, key, 40);
    expect(batches).toHaveLength(7); // 260 events, 40 per batch
    // The last page was read ahead, so its batch cannot say it reached the head: one more read does.
    expect(batches.map((batch) => batch.atHead)).toEqual(Array(7).fill(false));
    expect(reads).toBe(8);
    expect(await positionsOf('piped_rows')).toEqual(await logPositions(store));
  });

  it('a page read ahead does not say the head is reached: what committed after it is read before that', async () => {
    const projection = recordingProjection({ name: 'early', idempotent: false });
    await ensureProjection(db.pool, projection);
    const deps = { pool: db.pool, store };
    const key = { name: 'early', version: 1, build: 0, status: 'live' as const };
    const options = { maxCount: 1000 };
    const all = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: null }, 1000));
    expect(all.atHead).toBe(true);

    // Read ahead at the head (empty), then an event commits: the batch reads again and applies it.
    const empty: ReadAhead = { from: all.checkpoint, page: store.readAll(all.checkpoint, options) };
    expect((await empty.page).events).toEqual([]);
    const one = await appendEvents(store, 1, { streams: 1 });
    const fresh = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: all.checkpoint }, 1000, empty));
    expect(fresh).toMatchObject({ events: 1, checkpoint: one, atHead: true });

    // Read ahead with an event in it, then another commits: the batch applies the page it was given,
    // says it is not at the head, and the next one reads the later event.
    const two = await appendEvents(store, 1, { streams: 1 });
    const page: ReadAhead = { from: fresh.checkpoint, page: store.readAll(fresh.checkpoint, options) };
    expect((await page.page).atHead).toBe(true);
    const three = await appendEvents(store, 1, { streams: 1 });
    const given = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: fresh.checkpoint }, 1000, page));
    expect(given).toMatchObject({ events: 1, checkpoint: two, atHead: false });
    const after = applied(await applyNextBatch(deps, projection, { ...key, checkpoint: given.checkpoint }, 1000));
    expect(after).toMatchObject({ events: 1, checkpoint: three, atHead: true });
    expect(await positionsOf('early_rows')).toEqual(await logPositions(store));
  });
});
