import { randomUUID } from 'node:crypto';
import { createPool } from '#platform';
import type { Pool, PoolClient } from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { Checkpoint, NewEvent, RecordedEvent } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { appendUsage } from './usage-append';
import { UsageGroupCommitWriter } from './usage-group-commit';
import { StoreUsageWriter } from './usage-store-writer';
import { findUsageKey, voidUsageInPostgres } from './usage-void';
import { UsageWriterOverloadedError, type UsageAppendItem } from './usage-writer';

const TENANT = 'usage_spec';

let db: TestDatabase;
let store: PostgresEventStore;
const writers: UsageGroupCommitWriter[] = [];
const pools: Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresEventStore(db.pool);
});
afterAll(async () => {
  for (const writer of writers) await writer.close();
  for (const pool of pools) await pool.end();
  await store.close();
  await db.close();
});

/** A writer on its own pool: two of them behave like two API replicas. */
function newWriter(options: ConstructorParameters<typeof UsageGroupCommitWriter>[1] = {}): UsageGroupCommitWriter {
  const pool = createPool(db.url, { max: 6, applicationName: 'usage-writer-spec' });
  pools.push(pool);
  const writer = new UsageGroupCommitWriter(pool, options);
  writers.push(writer);
  return writer;
}

function item(
  key: string,
  options: { customer?: string; hash?: string; value?: string; id?: string } = {},
): UsageAppendItem {
  const customer = options.customer ?? 'cus_1';
  const timestamp = '2026-03-17T14:00:00.000Z';
  const id = options.id ?? randomUUID();
  return {
    tenantId: TENANT,
    idempotencyKey: key,
    payloadHash: options.hash ?? 'h1',
    stream: `${TENANT}:usage-${customer}-2026-03`,
    customerId: customer,
    metricKey: 'api_calls',
    timestamp,
    event: {
      id,
      type: 'UsageRecorded',
      data: { usage_id: id, customer_id: customer, value: options.value ?? '1', idempotency_key: key },
      metadata: { tenant_id: TENANT, actor: 'system:usage-spec' },
    },
  };
}

async function streamEvents(stream: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(stream);
  } catch {
    return [];
  }
}

/** Every event of `streams` in global log order, read the way projections read (readAll to the head). */
async function logOf(streams: readonly string[]): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let checkpoint: Checkpoint | null = null;
  for (;;) {
    const page = await store.readAll(checkpoint, { maxCount: 1000 });
    events.push(...page.events.filter((event) => streams.includes(event.stream)));
    checkpoint = page.checkpoint;
    // Committed but behind another test file's open transaction (the horizon is cluster-wide): read on.
    if (page.atHead && !page.pending) return events;
  }
}

describe('UsageGroupCommitWriter', () => {
  it('records events of several streams in one flush, with contiguous revisions and the key rows', async () => {
    const writer = newWriter({ partitions: 1 });
    const items = [item('k-a1', { customer: 'a' }), item('k-b1', { customer: 'b' }), item('k-a2', { customer: 'a' })];
    const outcomes = await writer.append(items);
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const a = await streamEvents(`${TENANT}:usage-a-2026-03`);
    expect(a.map((e) => [e.id, e.revision])).toEqual([
      [items[0].event.id, 0],
      [items[2].event.id, 1],
    ]);
    expect(a[0].occurred_at.toISOString()).toBe('2026-03-17T14:00:00.000Z');
    expect(a[0].metadata).toEqual({ tenant_id: TENANT, actor: 'system:usage-spec' });
    const streams = await db.pool.query(
      'SELECT stream, revision::int FROM streams WHERE stream LIKE $1 ORDER BY stream',
      [`${TENANT}:usage-%`],
    );
    expect(streams.rows).toEqual([
      { stream: `${TENANT}:usage-a-2026-03`, revision: 1 },
      { stream: `${TENANT}:usage-b-2026-03`, revision: 0 },
    ]);
    expect(await findUsageKey(db.pool, TENANT, items[1].event.id)).toEqual({
      tenantId: TENANT,
      usageId: items[1].event.id,
      idempotencyKey: 'k-b1',
      customerId: 'b',
      metricKey: 'api_calls',
      timestamp: '2026-03-17T14:00:00.000Z',
    });
    // The position answered is the flush's last event's: a barrier at or after each event.
    for (const outcome of outcomes) expect(outcome.status === 'accepted' && outcome.position).toBe(a[1].position);
  });

  it('dedupes by key: in one call and across calls, duplicate with the same hash, conflict with another', async () => {
    const writer = newWriter();
    const original = item('k-dup');
    const outcomes = await writer.append([original, item('k-dup'), item('k-dup', { hash: 'other' })]);
    expect(outcomes).toEqual([
      { status: 'accepted', usageId: original.event.id, position: expect.any(String) },
      { status: 'duplicate', usageId: original.event.id },
      { status: 'conflict', usageId: original.event.id },
    ]);
    const later = await writer.append([item('k-dup', { hash: 'other' }), item('k-dup')]);
    expect(later).toEqual([
      { status: 'conflict', usageId: original.event.id },
      { status: 'duplicate', usageId: original.event.id },
    ]);
    const events = (await streamEvents(`${TENANT}:usage-cus_1-2026-03`)).filter(
      (e) => (e.data as { idempotency_key: string }).idempotency_key === 'k-dup',
    );
    expect(events.map((e) => e.id)).toEqual([original.event.id]);
  });

  it('1,000 concurrent submissions of one key on two replicas record one event', async () => {
    const [one, two] = [newWriter(), newWriter()];
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        (i % 2 === 0 ? one : two).append([item('k-storm', { customer: 'storm' })]),
      ),
    );
    const statuses = results.map(([outcome]) => outcome.status);
    expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(999);
    expect(new Set(results.map(([outcome]) => outcome.usageId)).size).toBe(1);
    expect(await streamEvents(`${TENANT}:usage-storm-2026-03`)).toHaveLength(1);
    expect(one.stats().flushes + two.stats().flushes).toBeLessThan(1000);
  });

  it('keeps each stream in revision order in the global log under concurrent writers and plain appends', async () => {
    const [one, two] = [newWriter({ partitions: 3 }), newWriter({ partitions: 2, lingerMs: 1 })];
    const customers = ['o1', 'o2', 'o3'];
    const streams = customers.map((c) => `${TENANT}:usage-${c}-2026-03`);
    const plain = (stream: string, i: number): NewEvent => ({
      id: randomUUID(),
      type: 'PlainAppended',
      data: { i },
      metadata: { tenant_id: TENANT, actor: 'system:usage-spec' },
    });
    await Promise.all([
      ...Array.from({ length: 300 }, (_, i) =>
        (i % 2 === 0 ? one : two).append([item(`k-ord-${i}`, { customer: customers[i % 3] })]),
      ),
      ...Array.from({ length: 30 }, (_, i) => store.append(streams[i % 3], [plain(streams[i % 3], i)])),
    ]);
    const log = await logOf(streams);
    expect(log).toHaveLength(330);
    for (const stream of streams) {
      const revisions = log.filter((e) => e.stream === stream).map((e) => e.revision);
      // Contiguous from 0 and in revision order when read as the projector reads.
      expect(revisions).toEqual(revisions.map((_, i) => i));
    }
  });

  it('never leaves a key without its event: a failing statement rolls the key back, other requests still commit', async () => {
    const writer = newWriter({ partitions: 1 });
    const stream = `${TENANT}:usage-atomic-2026-03`;
    await store.append(stream, [
      { id: randomUUID(), type: 'Other', data: {}, metadata: { tenant_id: TENANT, actor: 'x' } },
    ]);
    // Occupy the single flusher so that the next two requests share one flush.
    const blocker = writer.append([item('k-atomic-0', { customer: 'atomic' })]);
    // A timestamp the statement cannot read as one (the API never sends it): the flush's statement fails.
    const bad = writer.append([{ ...item('k-atomic-bad', { customer: 'atomic' }), timestamp: 'not a time' }]);
    const good = writer.append([item('k-atomic-good', { customer: 'atomic' })]);
    await blocker;
    await expect(bad).rejects.toMatchObject({ code: '22007' });
    expect((await good)[0].status).toBe('accepted');
    const keys = await db.pool.query(
      'SELECT idempotency_key FROM usage_idempotency WHERE tenant_id = $1 AND idempotency_key LIKE $2 ORDER BY 1',
      [TENANT, 'k-atomic-%'],
    );
    expect(keys.rows.map((r) => r.idempotency_key)).toEqual(['k-atomic-0', 'k-atomic-good']);
    expect((await streamEvents(stream)).map((e) => e.type)).toEqual(['Other', 'UsageRecorded', 'UsageRecorded']);
  });

  it('a key read that times out after the commit fails that flush, its connection is not reused, nothing is lost or doubled', async () => {
    // ONE connection: a busy one handed back to the pool would serve every later flush.
    const pool = createPool(db.url, { max: 1, applicationName: 'usage-writer-spec' });
    pools.push(pool);
    const wrapped = new WeakSet<PoolClient>();
    let timedOut: PoolClient | undefined;
    let reused = false;
    const connect = pool.connect.bind(pool) as () => Promise<PoolClient>;
    Object.assign(pool, {
      connect: async () => {
        const client = await connect();
        if (client === timedOut) reused = true;
        if (wrapped.has(client)) return client;
        wrapped.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        Object.assign(client, {
          query: (...args: unknown[]) => {
            const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
            if (timedOut === undefined && text?.includes('JOIN usage_idempotency k')) {
              // After the flush committed, the read of the stored keys outlasts the client-side
              // timeout: the query still runs on the server when the promise rejects.
              timedOut = client;
              return query({ text: 'SELECT pg_sleep(1)', query_timeout: 50 });
            }
            return query(...args);
          },
        });
        return client;
      },
    });
    const writer = new UsageGroupCommitWriter(pool, { partitions: 1 });
    writers.push(writer);
    const stream = `${TENANT}:usage-cut-2026-03`;
    expect((await writer.append([item('k-cut-0', { customer: 'cut' })]))[0].status).toBe('accepted');

    // k-cut-0 is taken, so this flush reads its stored row after committing k-cut-1.
    const both = () => [item('k-cut-0', { customer: 'cut' }), item('k-cut-1', { customer: 'cut' })];
    await expect(writer.append(both())).rejects.toThrow(/timeout/i);
    expect(timedOut).toBeDefined();
    // The client's retry: both keys stored once, their events written once, on another connection.
    expect((await writer.append(both())).map((o) => o.status)).toEqual(['duplicate', 'duplicate']);
    expect((await writer.append([item('k-cut-2', { customer: 'cut' })]))[0].status).toBe('accepted');
    expect(reused).toBe(false);
    expect((await streamEvents(stream)).map((e) => (e.data as { idempotency_key: string }).idempotency_key)).toEqual([
      'k-cut-0',
      'k-cut-1',
      'k-cut-2',
    ]);
  });

  it('refuses work beyond its queue limit and drains what it accepted on close', async () => {
    const writer = newWriter({ maxQueuedEvents: 10, partitions: 1 });
    const first = writer.append([item('k-q-0', { customer: 'q' })]);
    const queued = writer.append(Array.from({ length: 10 }, (_, i) => item(`k-q-${i + 1}`, { customer: 'q' })));
    await expect(writer.append([item('k-q-x', { customer: 'q' })])).rejects.toBeInstanceOf(UsageWriterOverloadedError);
    await writer.close();
    expect((await first).map((o) => o.status)).toEqual(['accepted']);
    expect((await queued).every((o) => o.status === 'accepted')).toBe(true);
    await expect(writer.append([item('k-q-y')])).rejects.toMatchObject({ code: 'EVENT.INGESTION_CLOSED' });
  });
});

describe('appendUsage (inside a caller transaction)', () => {
  it('writes keys and events with the rest of the transaction, or nothing when it rolls back', async () => {
    const client = await db.pool.connect();
    try {
      const kept = item('k-within-1', { customer: 'within' });
      await client.query('BEGIN');
      const appended = await appendUsage(
        client,
        [kept, item('k-within-taken', { customer: 'within' })],
        'abaxus_events',
      );
      expect([...appended.claimed]).toEqual([0, 1]);
      await client.query('COMMIT');
      await client.query('BEGIN');
      const again = await appendUsage(
        client,
        [item('k-within-2', { customer: 'within' }), item('k-within-1', { customer: 'within' })],
        'abaxus_events',
      );
      expect([...again.claimed]).toEqual([0]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const keys = await db.pool.query(
      `SELECT idempotency_key FROM usage_idempotency WHERE idempotency_key LIKE 'k-within-%' ORDER BY 1`,
    );
    expect(keys.rows.map((r) => r.idempotency_key)).toEqual(['k-within-1', 'k-within-taken']);
    expect(await streamEvents(`${TENANT}:usage-within-2026-03`)).toHaveLength(2);
  });
});

describe('abaxus_append_usage (the flush, server-side)', () => {
  it("waits for the event store's lock on a stream it writes, then sees what the holder committed", async () => {
    const stream = `${TENANT}:usage-locked-2026-03`;
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      // A plain append takes the stream's lock (lockStreams) and writes revision 0 with it.
      await store.appendWithin(holder, stream, [
        {
          id: randomUUID(),
          type: 'PlainAppended',
          data: {},
          metadata: { tenant_id: TENANT, actor: 'system:usage-spec' },
        },
      ]);
      let settled = false;
      const flush = newWriter()
        .append([item('k-locked-1', { customer: 'locked' })])
        .finally(() => (settled = true));
      // Still waiting while the lock is held: with other locks it would have committed by now, and
      // (its snapshot older than the holder's commit) taken revision 0 and failed on it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await holder.query('COMMIT');
      expect((await flush).map((o) => o.status)).toEqual(['accepted']);
    } finally {
      holder.release();
    }
    const events = await streamEvents(stream);
    expect(events.map((e) => [e.type, e.revision])).toEqual([
      ['PlainAppended', 0],
      ['UsageRecorded', 1],
    ]);
  });
});

describe('StoreUsageWriter (any event store)', () => {
  it('accepts new keys, a same-id retry is a no-op, a same-id different payload is a conflict', async () => {
    const writer = new StoreUsageWriter(store);
    const original = item('k-store', { customer: 'st' });
    expect((await writer.append([original, item('k-store', { customer: 'st' })])).map((o) => o.status)).toEqual([
      'accepted',
      'duplicate',
    ]);
    // The caller derives the id from the key, so a retry carries the same id: the store dedupes it.
    expect((await writer.append([original]))[0].status).toBe('accepted');
    const changed = { ...original, event: { ...original.event, data: { changed: true } } };
    expect(await writer.append([changed])).toEqual([{ status: 'conflict', usageId: original.event.id }]);
    expect(await streamEvents(`${TENANT}:usage-st-2026-03`)).toHaveLength(1);
  });
});

describe('voidUsageInPostgres', () => {
  it('writes one UsageVoided with its row; voiding again, even concurrently, answers the first void', async () => {
    const writer = newWriter();
    const recorded = item('k-void', { customer: 'v' });
    await writer.append([recorded]);
    const stream = recorded.stream;
    const voidEventId = randomUUID();
    const voidOf = (reason: string) =>
      voidUsageInPostgres(db.pool, {
        tenantId: TENANT,
        usageId: recorded.event.id,
        stream,
        reason,
        actor: 'key_x',
        event: {
          id: voidEventId,
          type: 'UsageVoided',
          data: { usage_id: recorded.event.id, reason },
          metadata: { tenant_id: TENANT, actor: 'key_x' },
        },
      });
    const results = await Promise.all(['first', 'second', 'third', 'fourth'].map(voidOf));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)!.void;
    for (const result of results) expect(result.void).toEqual(winner);
    expect((await voidOf('again')).void).toEqual(winner);
    const log = await streamEvents(stream);
    expect(log.map((e) => e.type)).toEqual(['UsageRecorded', 'UsageVoided']);
    // The row carries the void event's log time: the usage projection's voided_at.
    expect(winner.voidedAt).toEqual(log[1].recorded_at);
    expect(log[1].data).toEqual({ usage_id: recorded.event.id, reason: winner.reason });
  });
});
