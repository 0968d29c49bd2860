import { randomUUID } from 'node:crypto';
import { Client, type Pool, type PoolClient } from 'pg';
import { createPool } from '#platform';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  type Checkpoint,
  type NewEvent,
  type RecordedEvent,
} from '../event-store';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { AppendOrderConflictError, CHANGED_CONTENT_SQL, InvalidEventError, STREAM_STATE_SQL } from './postgres-append';
import { InvalidCheckpointError, decodeCheckpoint } from './postgres-checkpoint';
import {
  COUNT_VISIBLE_AFTER_SETTINGS,
  COUNT_VISIBLE_AFTER_SQL,
  UNINDEXED_TYPE,
  filteredPageSql,
} from './postgres-read-all';
import { PostgresEventStore } from './postgres-event-store';
import { UsageGroupCommitWriter } from '../usage/usage-group-commit';

let db: TestDatabase | undefined;
async function database(): Promise<TestDatabase> {
  db ??= await createTestDatabase();
  return db;
}
afterAll(async () => {
  await db?.close();
});

/**
 * Runs `check` on a connection whose `events` is a temporary copy of the log's table (pg_temp comes
 * first in the search path; autovacuum never analyses temporary tables, so it has no statistics)
 * holding the rows of `rows`: a SELECT of (position, tx_id, id, stream, revision, type, data), each
 * with tenant pg_spec. For the plans a big log gets before anything analysed it.
 */
async function withTemporaryLog(pool: Pool, rows: string, check: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('CREATE TEMPORARY TABLE events (LIKE public.events INCLUDING INDEXES)');
    await client.query(
      `INSERT INTO events (position, tx_id, id, stream, revision, type, data, tenant_id, metadata, occurred_at, recorded_at)
       SELECT r.*, 'pg_spec', '{}', now(), now() FROM (${rows}) r`,
    );
    await check(client);
  } finally {
    await client.query('DROP TABLE IF EXISTS pg_temp.events');
    client.release();
  }
}

describeEventStoreContract('postgres', async () => {
  const store = new PostgresEventStore((await database()).pool);
  return { store, cleanup: () => store.close() };
});

const TENANT = 'pg_spec';
let streamCounter = 0;
const newStream = (): string => `${TENANT}:pg-${++streamCounter}-${randomUUID().slice(0, 8)}`;
const newEvent = (type = 'PgThingHappened', data: unknown = { value: '1' }): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: { tenant_id: TENANT, actor: 'system:pg-spec' },
});
const ids = (events: readonly { id: string }[]): string[] => events.map((e) => e.id);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Reads the log from `from` until `done` holds for the events of `streams`, at the head. */
async function readUntil(
  store: PostgresEventStore,
  from: Checkpoint | null,
  streams: readonly string[],
  done: (events: RecordedEvent[]) => boolean,
): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint | null }> {
  const result = { events: [] as RecordedEvent[], checkpoint: from };
  await waitFor('events in readAll', async () => {
    for (;;) {
      const page = await store.readAll(result.checkpoint, { maxCount: 100 });
      result.events.push(...page.events.filter((e) => streams.includes(e.stream)));
      result.checkpoint = page.checkpoint;
      if (page.atHead) return done(result.events);
    }
  });
  return result;
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

describe('PostgresEventStore (Postgres only)', () => {
  let pool: Pool;
  let store: PostgresEventStore;
  beforeAll(async () => {
    pool = (await database()).pool;
    store = new PostgresEventStore(pool);
  });
  afterAll(async () => {
    await store.close();
  });

  describe('the sequence-gap problem', () => {
    it('a reader does not pass an open transaction that holds an earlier position (gap test)', async () => {
      const head = await store.headCheckpoint();
      const [streamA, streamB] = [newStream(), newStream()];
      const [first, second] = [newEvent(), newEvent()];
      const tx1 = await pool.connect();
      try {
        await tx1.query('BEGIN');
        const appended1 = await store.appendWithin(tx1, streamA, [first]);
        const appended2 = await store.append(streamB, [second]);
        // Transaction 2 committed the later position while transaction 1 is still open.
        expect(decodeCheckpoint(appended2.position).position).toBeGreaterThan(
          decodeCheckpoint(appended1.position).position,
        );

        const during = await store.readAll(head);
        expect(ids(during.events)).not.toContain(second.id);
        expect(ids(during.events)).not.toContain(first.id);
        expect(during.atHead).toBe(true);
        // Resuming from this checkpoint cannot skip transaction 1's event.
        expect(store.compareCheckpoints(during.checkpoint, appended1.position)).toBeLessThan(0);
        expect(store.compareCheckpoints(await store.headCheckpoint(), appended1.position)).toBeLessThan(0);
        expect(await store.countAfter(appended1.position, 10)).toBe(0);

        await tx1.query('COMMIT');
        const after = await readUntil(store, during.checkpoint, [streamA, streamB], (events) => events.length >= 2);
        expect(ids(after.events)).toEqual([first.id, second.id]);
      } finally {
        tx1.release(true);
      }
    });

    it('an older transaction with a later position is read first, and the open one is not skipped', async () => {
      const head = await store.headCheckpoint();
      const [streamA, streamB] = [newStream(), newStream()];
      const [first, second] = [newEvent(), newEvent()];
      const [tx1, tx2] = [await pool.connect(), await pool.connect()];
      try {
        // Transaction 2 takes its id first, then writes after transaction 1: older id, later position.
        await tx2.query('BEGIN');
        await tx2.query('SELECT pg_current_xact_id()');
        await tx1.query('BEGIN');
        const appended1 = await store.appendWithin(tx1, streamA, [first]);
        const appended2 = await store.appendWithin(tx2, streamB, [second]);
        await tx2.query('COMMIT');
        expect(decodeCheckpoint(appended2.position).position).toBeGreaterThan(
          decodeCheckpoint(appended1.position).position,
        );
        expect(store.compareCheckpoints(appended2.position, appended1.position)).toBeLessThan(0);

        // Transaction 2's event becomes visible while transaction 1 is open; the checkpoint stays before it.
        const during = await readUntil(store, head, [streamA, streamB], (events) => events.length >= 1);
        expect(ids(during.events)).toEqual([second.id]);
        expect(store.compareCheckpoints(during.checkpoint, appended1.position)).toBeLessThan(0);

        await tx1.query('COMMIT');
        const after = await readUntil(store, during.checkpoint, [streamA, streamB], (events) => events.length >= 1);
        expect(ids([...during.events, ...after.events])).toEqual([second.id, first.id]);
      } finally {
        tx1.release(true);
        tx2.release(true);
      }
    });

    it('keeps each stream in revision order in the global log while writers contend for it', async () => {
      const head = await store.headCheckpoint();
      const stream = newStream();
      // Writers that keep arriving while others wait and race for the stream after each commit.
      const writer = async (): Promise<void> => {
        for (let i = 0; i < 10; i += 1) await store.append(stream, [newEvent()]);
      };
      await Promise.all(Array.from({ length: 8 }, writer));
      const log = await readUntil(store, head, [stream], (events) => events.length >= 80);
      expect(log.events.map((e) => e.revision)).toEqual(Array.from({ length: 80 }, (_, i) => i));
    });

    it("refuses to append from a transaction older than the stream's last writer (it would sort before it)", async () => {
      const stream = newStream();
      const old = await pool.connect();
      try {
        await old.query('BEGIN');
        await old.query('SELECT pg_current_xact_id()');
        await store.append(stream, [newEvent()]);
        await expect(store.appendWithin(old, stream, [newEvent()])).rejects.toBeInstanceOf(AppendOrderConflictError);
        await old.query('ROLLBACK');
        // A fresh transaction is younger: the retry succeeds.
        await expect(
          inTransaction(pool, (client) => store.appendWithin(client, stream, [newEvent()])),
        ).resolves.toMatchObject({
          nextRevision: 1,
        });
      } finally {
        old.release(true);
      }
    });

    it('lockStreams lets one transaction append to several busy streams without an order conflict', async () => {
      const streams = [newStream(), newStream()];
      for (const stream of streams) await store.append(stream, [newEvent()]);
      const group = await pool.connect();
      try {
        await group.query('BEGIN');
        await store.lockStreams(group, [...streams].reverse());
        // Other writers now queue behind the group's locks instead of slipping in before its appends.
        const others = streams.map((stream) => store.append(stream, [newEvent()]));
        await waitFor('the other writers to queue', async () => {
          const waiting = await pool.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          return waiting.rows[0].n >= 2;
        });
        for (const stream of streams) await store.appendWithin(group, stream, [newEvent(), newEvent()]);
        await group.query('COMMIT');
        await Promise.all(others);
      } finally {
        group.release(true);
      }
      for (const stream of streams) {
        expect((await store.readStream(stream)).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
      }
    });

    it('concurrent writers (some slow, some rolled back) and a looping reader: every committed event exactly once', async () => {
      await randomizedWritersAndReader(pool, store, Number(process.env.EVENT_STORE_SEED ?? Date.now() % 1_000_000));
    });
  });

  describe('append', () => {
    it('keeps the event log append-only', async () => {
      const stream = newStream();
      await store.append(stream, [newEvent()]);
      await expect(pool.query("UPDATE events SET type = 'Changed' WHERE stream = $1", [stream])).rejects.toThrow(
        /append-only/,
      );
      await expect(pool.query('DELETE FROM events WHERE stream = $1', [stream])).rejects.toThrow(/append-only/);
      await expect(pool.query('TRUNCATE events')).rejects.toThrow(/append-only/);
      expect((await store.readStream(stream)).length).toBe(1);
    });

    it('rejects an event without metadata.tenant_id, a bad id or a bad occurred_at, writing nothing', async () => {
      const stream = newStream();
      const noTenant = { ...newEvent(), metadata: { actor: 'system:pg-spec' } } as unknown as NewEvent;
      await expect(store.append(stream, [newEvent(), noTenant])).rejects.toBeInstanceOf(InvalidEventError);
      await expect(store.append(stream, [{ ...newEvent(), id: 'not-a-uuid' }])).rejects.toThrow(/uuid/);
      await expect(store.append(stream, [{ ...newEvent(), occurred_at: new Date('nope') }])).rejects.toThrow(
        /occurred_at/,
      );
      const rows = await pool.query(
        'SELECT 1 FROM events WHERE stream = $1 UNION ALL SELECT 1 FROM streams WHERE stream = $1',
        [stream],
      );
      expect(rows.rowCount).toBe(0);
    });

    it('stores tenant_id from the metadata and defaults occurred_at to the append time', async () => {
      const stream = newStream();
      const event = { ...newEvent(), metadata: { tenant_id: 'other_tenant', actor: 'key_1' } };
      await store.append(stream, [event]);
      const row = await pool.query(
        'SELECT tenant_id, occurred_at <= recorded_at AS ordered FROM events WHERE id = $1',
        [event.id],
      );
      expect(row.rows).toEqual([{ tenant_id: 'other_tenant', ordered: true }]);
      const streamRow = await pool.query('SELECT tenant_id, revision::int AS revision FROM streams WHERE stream = $1', [
        stream,
      ]);
      expect(streamRow.rows).toEqual([{ tenant_id: 'other_tenant', revision: 0 }]);
    });

    it('writes a batch of 500 in one transaction, revisions and positions in order', async () => {
      const stream = newStream();
      await store.append(stream, [newEvent()]);
      const batch = Array.from({ length: 500 }, (_, i) => newEvent('PgBulk', { i, value: `${i}.25` }));
      const result = await store.append(stream, batch, { expectedRevision: 0 });
      expect(result.nextRevision).toBe(500);
      const rows = await pool.query<{ revision: string; position: string; tx_id: string }>(
        'SELECT e.revision::text, e.position::text, e.tx_id::text FROM events e WHERE e.stream = $1 AND e.revision > 0 ORDER BY e.revision',
        [stream],
      );
      expect(rows.rows.map((r) => Number(r.revision))).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      expect(new Set(rows.rows.map((r) => r.tx_id)).size).toBe(1);
      const positions = rows.rows.map((r) => BigInt(r.position));
      expect(positions.every((p, i) => i === 0 || p > positions[i - 1])).toBe(true);
      const read = await store.readStream(stream, { fromRevision: 1 });
      expect(ids(read)).toEqual(ids(batch));
      expect(read[499].data).toEqual({ i: 499, value: '499.25' });
      expect(store.compareCheckpoints(result.position, read[499].position)).toBe(0);
    });

    it('a partly present batch skips the present events and appends the rest, checked against the current revision', async () => {
      const stream = newStream();
      const [a, b, c, d] = [newEvent(), newEvent(), newEvent(), newEvent()];
      await store.append(stream, [a, b]);
      // b is present: c and d are appended after it, in the batch's order.
      await expect(store.append(stream, [c, b, d], { expectedRevision: 1 })).resolves.toMatchObject({
        nextRevision: 3,
      });
      expect(ids(await store.readStream(stream))).toEqual([a.id, b.id, c.id, d.id]);
      // The expectation is checked as usual when something is left to append.
      const e = newEvent();
      await expect(store.append(stream, [d, e], { expectedRevision: 1 })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      // A conflicting present event fails the whole batch.
      await expect(store.append(stream, [e, { ...a, data: { value: 'changed' } }])).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      expect((await store.readStream(stream)).length).toBe(4);
    });

    it('collapses a repeated id inside one batch, and rejects one with different content', async () => {
      const stream = newStream();
      const a = newEvent('PgRepeated', { x: 1, y: 2 });
      const reordered = { ...a, data: { y: 2, x: 1 } };
      await expect(store.append(stream, [a, reordered, newEvent()])).resolves.toMatchObject({ nextRevision: 1 });
      const other = newEvent();
      await expect(store.append(stream, [other, { ...other, data: { value: 'other' } }])).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      expect((await store.readStream(stream)).length).toBe(2);
    });

    it('a UsageRecorded re-appended through append is found by the hash index on id: a no-op, or a conflict when changed', async () => {
      // Migration 0011: (stream, id) is unique for every type but UsageRecorded (whose ids the usage
      // flush derives from keys it claims), and every event is in a hash index on id.
      const indexes = await pool.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'events'`,
      );
      const definition = new Map(indexes.rows.map((row) => [row.indexname, row.indexdef]));
      expect(definition.get('events_stream_id_key')).toContain(`WHERE (type <> 'UsageRecorded'::text)`);
      expect(definition.get('events_id')).toContain('USING hash (id)');

      const stream = newStream();
      const usage = newEvent('UsageRecorded', { value: '1' });
      const first = await store.append(stream, [usage]);
      await expect(store.append(stream, [usage])).resolves.toEqual(first);
      await expect(store.append(stream, [{ ...usage, data: { value: '2' } }])).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      const other = newEvent();
      await store.append(stream, [usage, other]);
      expect(ids(await store.readStream(stream))).toEqual([usage.id, other.id]);
      // Any other type: the database refuses a second row with the same (stream, id), even one written
      // around the store.
      await expect(
        pool.query(
          `INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
           SELECT id, stream, revision + 100, type, tenant_id, data, metadata, occurred_at FROM events
            WHERE stream = $1 AND id = $2`,
          [stream, other.id],
        ),
      ).rejects.toMatchObject({ code: '23505' });
    });

    it("looks up a batch's ids by id alone, never by walking the stream (a usage stream holds millions)", async () => {
      // One stream of 200,000 usage events, as a month of one customer's usage right after it was written.
      const rows = `SELECT i, 3::text::xid8, gen_random_uuid(), 'pg_spec:usage-big-2026-03', i, 'UsageRecorded', '{}'::jsonb
                      FROM generate_series(0, 199999) AS i`;
      await withTemporaryLog(pool, rows, async (client) => {
        const hash = await client.query<{ indexname: string }>(
          `SELECT indexname FROM pg_indexes WHERE schemaname LIKE 'pg_temp%' AND indexdef LIKE '%USING hash (id)%'`,
        );
        expect(hash.rows).toHaveLength(1);
        for (const sql of [STREAM_STATE_SQL, CHANGED_CONTENT_SQL]) {
          const explained = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${sql}`);
          const plan = JSON.stringify(explained.rows[0]['QUERY PLAN']);
          expect(plan).toContain(`"Index Name":"${hash.rows[0].indexname}"`);
          expect(plan).not.toContain('Seq Scan');
        }
      });
    });

    it('an empty batch only checks the expected revision', async () => {
      const stream = newStream();
      await expect(store.append(stream, [], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
        nextRevision: -1,
      });
      await expect(store.append(stream, [], { expectedRevision: 'exists' })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
      const appended = await store.append(stream, [newEvent()]);
      const checked = await store.append(stream, [], { expectedRevision: 0 });
      expect(checked.nextRevision).toBe(0);
      expect(store.compareCheckpoints(checked.position, appended.position)).toBe(0);
      expect((await store.readStream(stream)).length).toBe(1);
    });

    it('notifies the channel in the appending transaction, so listeners wake at commit', async () => {
      const listener = new Client({ connectionString: (await database()).url });
      await listener.connect();
      const received: string[] = [];
      listener.on('notification', (message) => received.push(message.channel));
      const custom = new PostgresEventStore(pool, { notifyChannel: 'abaxus_spec_channel' });
      try {
        await listener.query('LISTEN abaxus_events');
        await listener.query('LISTEN abaxus_spec_channel');
        const tx = await pool.connect();
        try {
          await tx.query('BEGIN');
          await store.appendWithin(tx, newStream(), [newEvent()]);
          await listener.query('SELECT 1');
          expect(received).toEqual([]);
          await tx.query('COMMIT');
        } finally {
          tx.release(true);
        }
        await waitFor('the notification', () => received.includes('abaxus_events'));
        await custom.append(newStream(), [newEvent()]);
        await waitFor('the custom channel', () => received.includes('abaxus_spec_channel'));
      } finally {
        await custom.close();
        await listener.end();
      }
    });
  });

  describe('reads', () => {
    it('rejects a malformed checkpoint', async () => {
      await expect(store.readAll('12:34')).rejects.toBeInstanceOf(InvalidCheckpointError);
      expect(() => store.compareCheckpoints('x', null)).toThrow(InvalidCheckpointError);
    });

    it('readAll from null on an empty log returns the start checkpoint, equal to null', async () => {
      const empty = await createTestDatabase();
      const emptyStore = new PostgresEventStore(empty.pool);
      try {
        const page = await emptyStore.readAll(null);
        expect(page).toMatchObject({ events: [], atHead: true });
        expect(emptyStore.compareCheckpoints(page.checkpoint, null)).toBe(0);
        expect(await emptyStore.headCheckpoint()).toBeNull();
        expect(await emptyStore.countAfter(null, 10)).toBe(0);
      } finally {
        await emptyStore.close();
        await empty.close();
      }
    });

    it('a types filter moves the checkpoint past a long stretch of other events', async () => {
      const head = await store.headCheckpoint();
      const stream = newStream();
      const batch = Array.from({ length: 30 }, (_, i) => newEvent(i === 29 ? 'PgRareType' : 'PgCommonType', { i }));
      const appended = await store.append(stream, batch);
      let checkpoint = head;
      const found: RecordedEvent[] = [];
      await waitFor('the filtered read', async () => {
        const page = await store.readAll(checkpoint, { types: ['PgRareType'], maxCount: 5 });
        found.push(...page.events);
        checkpoint = page.checkpoint;
        return page.atHead && found.length > 0;
      });
      expect(ids(found)).toEqual([batch[29].id]);
      expect(store.compareCheckpoints(checkpoint, appended.position)).toBe(0);
      // Nothing matching: the checkpoint still reaches the head.
      const none = await store.readAll(head, { types: [] });
      expect(none.events).toEqual([]);
      expect(store.compareCheckpoints(none.checkpoint, appended.position)).toBeGreaterThanOrEqual(0);
    });

    it('a reader of rare types reaches the head in one read, however many other events precede it', async () => {
      // Key and catalog directories follow a few rare types over a log that is mostly usage: each
      // read walks the type index instead of scanning the log in windows.
      const head = await store.headCheckpoint();
      const stream = newStream();
      for (let i = 0; i < 40; i++) {
        await store.append(
          stream,
          Array.from({ length: 500 }, () => newEvent('PgBulkType')),
        );
      }
      const rare = newEvent('PgVeryRareType');
      const last = await store.append(stream, [rare]);
      await waitFor('the rare event to be visible', async () => (await store.countAfter(head, 30_000)) >= 20_001);
      const page = await store.readAll(head, { types: ['PgVeryRareType', 'PgNeverWritten'], maxCount: 100 });
      expect(ids(page.events)).toEqual([rare.id]);
      expect(page.atHead).toBe(true);
      expect(store.compareCheckpoints(page.checkpoint, last.position)).toBeGreaterThanOrEqual(0);
    });
    it('the type index leaves UsageRecorded out: rare-type walks use it, and a read of usage by type still finds it', async () => {
      const definition = await pool.query<{ indexdef: string }>(
        `SELECT indexdef FROM pg_indexes WHERE indexname = 'events_type_tx_position'`,
      );
      expect(definition.rows[0].indexdef).toContain(`WHERE (type <> '${UNINDEXED_TYPE}'::text)`);
      // Generic plans (the statements are prepared): each rare walk must repeat the index predicate.
      const plan = async (sql: string) => {
        const explained = await pool.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (GENERIC_PLAN, FORMAT JSON) ${sql}`);
        return JSON.stringify(explained.rows[0]['QUERY PLAN']);
      };
      expect(await plan(filteredPageSql(2, false))).toContain('"Index Name":"events_type_tx_position"');
      expect(await plan(filteredPageSql(2, true))).toContain('"Index Name":"events_type_tx_position"');

      const head = await store.headCheckpoint();
      const stream = newStream();
      const batch = ['UsageRecorded', 'PgMixType', 'UsageRecorded', 'PgOtherMixType'].map((type) => newEvent(type));
      const appended = await store.append(stream, batch);
      await waitFor('the events to be visible', async () => (await store.countAfter(head, 10)) >= 4);
      for (const types of [
        ['UsageRecorded', 'PgMixType', 'PgOtherMixType'],
        ['PgMixType', 'UsageRecorded', 'PgOtherMixType'],
      ]) {
        const page = await store.readAll(head, { types, maxCount: 10 });
        expect(ids(page.events)).toEqual(ids(batch));
        expect(store.compareCheckpoints(page.checkpoint, appended.position)).toBe(0);
      }
      const usage = await store.readAll(head, { types: ['UsageRecorded'], maxCount: 1 });
      expect(ids(usage.events)).toEqual([batch[0].id]);
      const rare = await store.readAll(head, { types: ['PgOtherMixType', 'PgMixType'], maxCount: 10 });
      expect(ids(rare.events)).toEqual([batch[1].id, batch[3].id]);
    });

    it('countAfter walks the log index from the checkpoint, even without statistics on the log', async () => {
      // The projector counts its lag under load, when the events after its checkpoint are the last
      // rows of the table, and while it catches up, when up to a million follow it. Without
      // statistics (autovacuum had not analysed \`events\` in two minutes of the ingestion bench) the
      // planner's guesses are far off (withTemporaryLog).
      const rows = `SELECT i, (3 + i / 1000)::text::xid8, gen_random_uuid(), 'pg_spec:lag', i, 'PgLagType',
                           jsonb_build_object('pad', repeat('x', 500))
                      FROM generate_series(1, 200000) AS i`;
      await withTemporaryLog(pool, rows, async (client) => {
        // Transaction ids 3..203, below any horizon. Near the head: the last 1,000 events, counted up
        // to the projector's window; from the start: all of them, counted up to the status limit.
        const nearTheHead = [String(3 + 199), '199000', 4000];
        const fromTheStart = ['0', '0', 1_000_000];
        const plan = async (sql: string, params: Array<string | number>, settings: string | null) => {
          await client.query('BEGIN');
          try {
            if (settings !== null) await client.query(settings);
            const explained = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
            return JSON.stringify(explained.rows[0]['QUERY PLAN']);
          } finally {
            await client.query('ROLLBACK');
          }
        };
        // The statement as it was: a sequential scan, which reads the whole log to find the last rows.
        const before = `SELECT count(*)::text AS n FROM (SELECT 1 FROM events e
           WHERE (e.tx_id, e.position) > ($1::xid8, $2::bigint) AND e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
           LIMIT $3) visible`;
        expect(await plan(before, nearTheHead, null)).toContain('"Node Type":"Seq Scan"');
        // Ordered, but without the settings: a long count is sorted after a bitmap scan.
        expect(await plan(COUNT_VISIBLE_AFTER_SQL, fromTheStart, null)).toContain('"Node Type":"Sort"');
        for (const params of [nearTheHead, fromTheStart]) {
          const counted = await plan(COUNT_VISIBLE_AFTER_SQL, params, COUNT_VISIBLE_AFTER_SETTINGS);
          expect(counted).toContain('"Node Type":"Index Only Scan"');
          expect(counted).not.toContain('"Node Type":"Sort"');
          expect(counted).not.toContain('Seq Scan');
        }
        const counted = await client.query<{ n: string }>(COUNT_VISIBLE_AFTER_SQL, nearTheHead);
        expect(counted.rows[0].n).toBe('1000');
      });
    });
  });

  describe('subscriptions', () => {
    it('reports an onBatch failure to onError and delivers the same batch again', async () => {
      const head = await store.headCheckpoint();
      const stream = newStream();
      const event = newEvent();
      await store.append(stream, [event]);
      const errors: Error[] = [];
      const attempts: string[][] = [];
      const subscription = store.subscribeToAll(head, {
        onBatch: async (events) => {
          const ours = ids(events.filter((e) => e.stream === stream));
          if (ours.length === 0) return;
          attempts.push(ours);
          if (attempts.length === 1) throw new Error('projection failed');
        },
        onError: (error) => errors.push(error),
      });
      try {
        await waitFor('the retry', () => attempts.length >= 2);
      } finally {
        await subscription.stop();
      }
      expect(attempts.slice(0, 2)).toEqual([[event.id], [event.id]]);
      expect(errors.map((e) => e.message)).toEqual(['projection failed']);
    });

    it('minIntervalMs: live appends that come faster are read together; a backlog is read at once', async () => {
      const stream = newStream();
      const backlog = Array.from({ length: 15 }, () => newEvent());
      const head = await store.headCheckpoint();
      for (const event of backlog) await store.append(stream, [event]);
      const batches: string[][] = [];
      const subscription = store.subscribeToAll(head, {
        maxCount: 5,
        minIntervalMs: 1_500,
        onBatch: async (events) => {
          const ours = ids(events.filter((e) => e.stream === stream));
          if (ours.length > 0) batches.push(ours);
        },
      });
      try {
        // Catching up: three pages of five, one after the other.
        await waitFor('the backlog', () => batches.flat().length === backlog.length);
        expect(batches).toEqual([0, 5, 10].map((i) => ids(backlog.slice(i, i + 5))));
        // Live: five appends 50 ms apart, each notifying. Read on every notification, they would
        // come one by one; within one interval, the first read after the backlog takes them all
        // (or all but those appended before it started).
        const live: NewEvent[] = [];
        for (let i = 0; i < 5; i++) {
          const event = newEvent();
          live.push(event);
          await store.append(stream, [event]);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await waitFor('the live appends', () => batches.flat().length === backlog.length + live.length);
        expect(batches.slice(3).flat()).toEqual(ids(live));
        expect(batches.length - 3).toBeLessThanOrEqual(2);
      } finally {
        await subscription.stop();
      }
    });

    it('stop() called from inside onBatch returns without waiting for itself', async () => {
      const head = await store.headCheckpoint();
      const stream = newStream();
      await store.append(stream, [newEvent()]);
      let stoppedInside = false;
      const subscription = store.subscribeToAll(head, {
        onBatch: async (events) => {
          if (!events.some((e) => e.stream === stream)) return;
          await subscription.stop();
          stoppedInside = true;
        },
      });
      await waitFor('the batch', () => stoppedInside);
      await subscription.stop();
    });

    it('survives its connections being killed, reports it, and keeps delivering live events', async () => {
      const applicationName = `abaxus-kill-${randomUUID().slice(0, 8)}`;
      const ownPool = createPool((await database()).url, { max: 3, applicationName });
      // Without notifications, nothing would arrive within the test: this proves LISTEN comes back.
      const ownStore = new PostgresEventStore(ownPool, { pollIntervalMs: 3_600_000 });
      const stream = newStream();
      const received: string[] = [];
      const errors: Error[] = [];
      const subscription = ownStore.subscribeToAll(await store.headCheckpoint(), {
        onBatch: async (events) => {
          received.push(...ids(events.filter((e) => e.stream === stream)));
        },
        onError: (error) => errors.push(error),
      });
      const listening = async (): Promise<boolean> =>
        (
          await pool.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [
            `${applicationName}:listen`,
          ])
        ).rowCount === 1;
      try {
        await waitFor('LISTEN', listening);
        const first = newEvent();
        await store.append(stream, [first]);
        await waitFor('the first event', () => received.includes(first.id));
        await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1', [
          `${applicationName}%`,
        ]);
        await waitFor('the loss to be reported', () => errors.length > 0);
        const second = newEvent();
        await store.append(stream, [second]);
        await waitFor('the event after the kill', () => received.includes(second.id));
        await waitFor('LISTEN again', listening);
        const third = newEvent();
        await store.append(stream, [third]);
        await waitFor('the event after reconnecting', () => received.includes(third.id));
        expect(received).toEqual([first.id, second.id, third.id]);
      } finally {
        await subscription.stop();
        await ownStore.close();
        await ownPool.end();
      }
    });

    it('a commit whose notification lists only types a subscription filters out does not make it read', async () => {
      const applicationName = `abaxus-notice-${randomUUID().slice(0, 8)}`;
      const ownPool = createPool((await database()).url, { max: 3, applicationName });
      // Without the poll, only notifications make these subscriptions read.
      const ownStore = new PostgresEventStore(ownPool, { pollIntervalMs: 3_600_000 });
      const writer = new UsageGroupCommitWriter(pool);
      const rareType = `PgRare${randomUUID().slice(0, 8)}`;
      const filteredBatches: string[][] = [];
      const everything: string[] = [];
      const head = await store.headCheckpoint();
      const filtered = ownStore.subscribeToAll(head, {
        types: [rareType],
        onBatch: async (events) => {
          filteredBatches.push(ids(events));
        },
      });
      const all = ownStore.subscribeToAll(head, {
        onBatch: async (events) => {
          everything.push(...ids(events));
        },
      });
      try {
        // A rare event first: LISTEN is up, and the reads that started the subscriptions are done.
        const rare = newEvent(rareType);
        await store.append(newStream(), [rare]);
        await waitFor('the rare event', () => filteredBatches.flat().includes(rare.id) && everything.includes(rare.id));
        await sleep(300);
        filteredBatches.length = 0;

        // A usage flush notifies with the types it wrote: the unfiltered subscription reads it, the
        // filtered one does not even read (no batch, not even an empty one moving its checkpoint).
        const usageIds = [randomUUID(), randomUUID()];
        await writer.append(
          usageIds.map((id, i) => ({
            tenantId: TENANT,
            idempotencyKey: `notice-${id}`,
            payloadHash: 'h',
            stream: `${TENANT}:usage-notice-${i}`,
            customerId: 'cus_notice',
            metricKey: 'api_calls',
            timestamp: '2026-03-17T14:00:00.000Z',
            event: {
              id,
              type: 'UsageRecorded',
              data: { usage_id: id },
              metadata: { tenant_id: TENANT, actor: 'system:spec' },
            },
          })),
        );
        await waitFor('the usage events', () => usageIds.every((id) => everything.includes(id)));
        await sleep(300);
        expect(filteredBatches).toEqual([]);

        // Any other append notifies without types: every subscription reads, and the filtered one
        // passes the usage events too on the way to the next rare event.
        const next = newEvent(rareType);
        await store.append(newStream(), [next]);
        await waitFor('the next rare event', () => filteredBatches.flat().includes(next.id));
        expect(filteredBatches.flat()).toEqual([next.id]);
      } finally {
        await filtered.stop();
        await all.stop();
        await writer.close();
        await ownStore.close();
        await ownPool.end();
      }
    });

    it('close() stops subscriptions and leaves the pool to its owner', async () => {
      const own = new PostgresEventStore(pool);
      let batches = 0;
      const subscription = own.subscribeToAll(null, {
        onBatch: async () => {
          batches += 1;
        },
      });
      await waitFor('a first batch', () => batches > 0);
      await own.close();
      await subscription.stop();
      const stoppedAt = batches;
      await store.append(newStream(), [newEvent()]);
      await expect(pool.query('SELECT 1')).resolves.toBeDefined();
      await expect(own.append(newStream(), [newEvent()])).rejects.toThrow(/closed/);
      expect(() => own.subscribeToAll(null, { onBatch: async () => undefined })).toThrow(/closed/);
      expect(batches).toBe(stoppedAt);
    });
  });
});

/** A small deterministic PRNG, so a failing run can be repeated with EVENT_STORE_SEED. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RandomRun {
  pool: Pool;
  store: PostgresEventStore;
  random: () => number;
  shared: string[];
  head: Checkpoint | null;
  committed: Set<string>;
  rolledBack: Set<string>;
  seen: RecordedEvent[];
  writing: boolean;
}

function pick<T>(run: RandomRun, items: readonly T[]): T {
  return items[Math.floor(run.random() * items.length)];
}

/** Appends to shared streams and its own; some transactions stay open after inserting, some roll back. */
async function randomWriter(run: RandomRun): Promise<void> {
  const own = newStream();
  for (let op = 0; op < 12; op += 1) {
    const stream = pick(run, [...run.shared, own]);
    const batch = Array.from({ length: 1 + Math.floor(run.random() * 4) }, () => newEvent('PgRandom', { op }));
    const mode = pick(run, ['append', 'append', 'slow', 'rollback'] as const);
    const holdMs = Math.floor(run.random() * 15);
    if (mode === 'append') {
      await run.store.append(stream, batch);
      for (const event of batch) run.committed.add(event.id);
      continue;
    }
    // Hold the transaction open after inserting, so later positions commit first.
    const client = await run.pool.connect();
    try {
      await client.query('BEGIN');
      await run.store.appendWithin(client, stream, batch);
      await sleep(holdMs);
      await client.query(mode === 'slow' ? 'COMMIT' : 'ROLLBACK');
      for (const event of batch) (mode === 'slow' ? run.committed : run.rolledBack).add(event.id);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

/** Resumes from its own checkpoint with random page sizes until the writers are done and it saw every commit. */
async function loopingReader(run: RandomRun): Promise<void> {
  let checkpoint = run.head;
  for (;;) {
    const page = await run.store.readAll(checkpoint, { maxCount: 1 + Math.floor(run.random() * 20) });
    expect(run.store.compareCheckpoints(page.checkpoint, checkpoint)).toBeGreaterThanOrEqual(0);
    run.seen.push(...page.events.filter((e) => e.type === 'PgRandom'));
    checkpoint = page.checkpoint;
    if (page.atHead) {
      const seenIds = new Set(ids(run.seen));
      if (!run.writing && [...run.committed].every((id) => seenIds.has(id))) return;
      await sleep(1);
    }
  }
}

async function expectEveryCommitOnce(run: RandomRun): Promise<void> {
  const seenIds = ids(run.seen);
  expect(new Set(seenIds).size).toBe(seenIds.length);
  expect(new Set(seenIds)).toEqual(run.committed);
  expect(seenIds.filter((id) => run.rolledBack.has(id))).toEqual([]);
  // Within each stream the reader saw revisions 0, 1, 2… in order.
  const byStream = new Map<string, number[]>();
  for (const event of run.seen) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event.revision]);
  for (const revisions of byStream.values()) expect(revisions).toEqual(revisions.map((_, i) => i));
  // One uninterrupted read from the same start returns the same sequence.
  const replay: RecordedEvent[] = [];
  let checkpoint = run.head;
  for (;;) {
    const page = await run.store.readAll(checkpoint, { maxCount: 1000 });
    replay.push(...page.events.filter((e) => e.type === 'PgRandom'));
    checkpoint = page.checkpoint;
    if (page.atHead) break;
  }
  expect(ids(replay)).toEqual(seenIds);
}

async function randomizedWritersAndReader(pool: Pool, store: PostgresEventStore, seed: number): Promise<void> {
  const run: RandomRun = {
    pool,
    store,
    random: prng(seed),
    shared: [newStream(), newStream(), newStream()],
    head: await store.headCheckpoint(),
    committed: new Set(),
    rolledBack: new Set(),
    seen: [],
    writing: true,
  };
  let stall: NodeJS.Timeout | undefined;
  try {
    const readerDone = loopingReader(run);
    await Promise.all(Array.from({ length: 6 }, () => randomWriter(run))).finally(() => {
      run.writing = false;
    });
    const stalled = new Promise<never>((_, reject) => {
      stall = setTimeout(() => reject(new Error('the reader stalled')), 30_000);
    });
    await Promise.race([readerDone, stalled]);
    await expectEveryCommitOnce(run);
  } catch (error) {
    throw new Error(`randomized gap test failed with EVENT_STORE_SEED=${seed}: ${(error as Error).message}`);
  } finally {
    clearTimeout(stall);
  }
}
