import { randomBytes, randomUUID } from 'node:crypto';
import {
  EventIdConflictError,
  StreamNotFoundError,
  WrongExpectedRevisionError,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '../event-store';
import { settledHead } from './settled-head';

/**
 * The behaviour every EventStore adapter must have, written against the port only. Adapters run it
 * from their own spec: `describeEventStoreContract('postgres', async () => ({ store, cleanup }))`.
 *
 * The store may hold other data (a shared KurrentDB server): every test writes to streams of its
 * own, reads the global log from the head checkpoint taken at its start, and looks only at its own
 * events. Visibility in the global log may lag an append (Postgres reads below the transaction
 * horizon), so tests wait for their events with a deadline instead of expecting them at once.
 */
export function describeEventStoreContract(
  name: string,
  factory: () => Promise<{ store: EventStore; cleanup(): Promise<void> }>,
): void {
  describe(`${name} event store contract`, () => {
    let subject: { store: EventStore; cleanup(): Promise<void> } | undefined;
    const store = (): EventStore => {
      if (subject === undefined) throw new Error('the contract factory did not run');
      return subject.store;
    };
    beforeAll(async () => {
      subject = await factory();
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    describeAppendAndRead(store);
    describeExpectedRevisions(store);
    describeIdempotency(store);
    describeGlobalLog(store);
    describeSubscriptions(store);
  });
}

/** Every run writes under its own tenant, so streams never collide with other runs or other data. */
const TENANT = `contract_${randomBytes(5).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
let streamCounter = 0;
const WAIT_MS = 20_000;

function newStream(category = 'contract'): string {
  streamCounter += 1;
  return `${TENANT}:${category}-${RUN}${streamCounter}`;
}

function ownType(name: string): string {
  return `Contract${name}${RUN.toUpperCase()}`;
}

function newEvent(type = 'ContractThingHappened', data: unknown = { value: '1.5' }, occurredAt?: Date): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { tenant_id: TENANT, actor: 'system:contract-test', request_id: `req_${randomUUID()}` },
    ...(occurredAt === undefined ? {} : { occurred_at: occurredAt }),
  };
}

function isOurs(event: RecordedEvent): boolean {
  return event.stream.startsWith(`${TENANT}:`);
}

const ids = (events: readonly { id: string }[]): string[] => events.map((event) => event.id);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface ReadResult {
  /** Our events, in the order the pages returned them. */
  events: RecordedEvent[];
  /** Every event returned, ours or not. */
  all: RecordedEvent[];
  checkpoint: Checkpoint | null;
}

/** Reads the global log page by page from `from` until `done(ourEvents)` holds at the head. */
async function readAllUntil(
  store: EventStore,
  from: Checkpoint | null,
  done: (events: RecordedEvent[], checkpoint: Checkpoint | null) => boolean,
  options: { maxCount?: number; types?: readonly string[]; excludeTypes?: readonly string[] } = {},
): Promise<ReadResult> {
  const result: ReadResult = { events: [], all: [], checkpoint: from };
  await waitFor('events in readAll', async () => {
    for (;;) {
      const page = await store.readAll(result.checkpoint, options);
      result.all.push(...page.events);
      result.events.push(...page.events.filter(isOurs));
      result.checkpoint = page.checkpoint;
      if (page.atHead) return done(result.events, result.checkpoint);
    }
  });
  return result;
}

function describeAppendAndRead(store: () => EventStore): void {
  it('appends and reads back the whole envelope, in the stream and in the global log', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const occurredAt = new Date('2025-03-01T12:34:56.789Z');
    const first = newEvent(
      'ContractMeterRead',
      { value: '12.3400000001', nested: { tags: ['a', 'b'], n: 3 } },
      occurredAt,
    );
    first.metadata.correlation_id = 'corr_1';
    const second = newEvent('ContractMeterReset', { reason: 'manual' });
    const appendedAt = Date.now();
    const result = await store().append(stream, [first, second]);
    expect(result.nextRevision).toBe(1);

    const read = await store().readStream(stream);
    expect(read.map((e) => [e.id, e.type, e.stream, e.revision])).toEqual([
      [first.id, 'ContractMeterRead', stream, 0],
      [second.id, 'ContractMeterReset', stream, 1],
    ]);
    expect(read[0].data).toEqual(first.data);
    expect(read[1].data).toEqual({ reason: 'manual' });
    expect(read[0].metadata).toMatchObject({
      tenant_id: TENANT,
      actor: 'system:contract-test',
      request_id: first.metadata.request_id,
      correlation_id: 'corr_1',
    });
    expect(read[1].metadata).toMatchObject({ tenant_id: TENANT, actor: 'system:contract-test' });
    expect(read[0].occurred_at).toBeInstanceOf(Date);
    expect(read[0].occurred_at.getTime()).toBe(occurredAt.getTime());
    // Defaults to the append time (a loose bound: the server's clock is not ours).
    expect(Math.abs(read[1].occurred_at.getTime() - appendedAt)).toBeLessThan(3_600_000);
    for (const event of read) {
      expect(event.recorded_at).toBeInstanceOf(Date);
      expect(Number.isNaN(event.recorded_at.getTime())).toBe(false);
    }
    expect(store().compareCheckpoints(read[0].position, read[1].position)).toBeLessThan(0);
    expect(store().compareCheckpoints(result.position, read[1].position)).toBe(0);

    const log = await readAllUntil(store(), from, (events) => events.length >= 2);
    expect(log.events).toEqual(read);
  });

  it('reads a stream forwards, backwards, from a revision and with maxCount', async () => {
    const stream = newStream();
    const events = [0, 1, 2, 3, 4].map((n) => newEvent('ContractCounted', { n }));
    await store().append(stream, events.slice(0, 2));
    await store().append(stream, events.slice(2));
    const revisions = (read: RecordedEvent[]): number[] => read.map((e) => e.revision);
    expect(ids(await store().readStream(stream))).toEqual(ids(events));
    expect(revisions(await store().readStream(stream, { maxCount: 2 }))).toEqual([0, 1]);
    expect(revisions(await store().readStream(stream, { fromRevision: 3 }))).toEqual([3, 4]);
    expect(revisions(await store().readStream(stream, { direction: 'backwards' }))).toEqual([4, 3, 2, 1, 0]);
    expect(revisions(await store().readStream(stream, { direction: 'backwards', maxCount: 2 }))).toEqual([4, 3]);
    expect(
      revisions(await store().readStream(stream, { direction: 'backwards', fromRevision: 2, maxCount: 2 })),
    ).toEqual([2, 1]);
    expect((await store().readStream(stream, { direction: 'backwards', fromRevision: 1 })).map((e) => e.data)).toEqual([
      { n: 1 },
      { n: 0 },
    ]);
  });

  it('throws StreamNotFoundError for a stream without events', async () => {
    const stream = newStream();
    const error = await rejection(store().readStream(stream));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ stream, code: 'EVENT_STORE.STREAM_NOT_FOUND' });
    await expect(store().readStream(stream, { direction: 'backwards' })).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('answers ping and orders checkpoints with null before everything', async () => {
    await expect(store().ping()).resolves.toBeUndefined();
    const result = await store().append(newStream(), [newEvent()]);
    expect(store().compareCheckpoints(null, null)).toBe(0);
    expect(store().compareCheckpoints(null, result.position)).toBeLessThan(0);
    expect(store().compareCheckpoints(result.position, null)).toBeGreaterThan(0);
    expect(store().compareCheckpoints(result.position, result.position)).toBe(0);
  });
}

async function expectWrongRevision(
  attempt: Promise<AppendResult>,
  expected: { stream: string; expected: unknown; actual: number | 'no_stream' },
): Promise<void> {
  const error = await rejection(attempt);
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  expect(error).toMatchObject({ ...expected, code: 'EVENT_STORE.WRONG_EXPECTED_REVISION' });
}

function describeExpectedRevisions(store: () => EventStore): void {
  it('expectedRevision no_stream: creates a new stream, rejects an existing one', async () => {
    const stream = newStream();
    await expect(store().append(stream, [newEvent()], { expectedRevision: 'no_stream' })).resolves.toMatchObject({
      nextRevision: 0,
    });
    await expectWrongRevision(store().append(stream, [newEvent()], { expectedRevision: 'no_stream' }), {
      stream,
      expected: 'no_stream',
      actual: 0,
    });
  });

  it('expectedRevision exists: rejects a missing stream, appends to an existing one', async () => {
    const stream = newStream();
    await expectWrongRevision(store().append(stream, [newEvent()], { expectedRevision: 'exists' }), {
      stream,
      expected: 'exists',
      actual: 'no_stream',
    });
    await expect(store().readStream(stream)).rejects.toBeInstanceOf(StreamNotFoundError);
    await store().append(stream, [newEvent()]);
    await expect(store().append(stream, [newEvent()], { expectedRevision: 'exists' })).resolves.toMatchObject({
      nextRevision: 1,
    });
  });

  it('expectedRevision number: accepts the last revision, rejects a stale, future or missing one', async () => {
    const stream = newStream();
    await expectWrongRevision(store().append(stream, [newEvent()], { expectedRevision: 0 }), {
      stream,
      expected: 0,
      actual: 'no_stream',
    });
    await store().append(stream, [newEvent(), newEvent()], { expectedRevision: 'no_stream' });
    await expect(store().append(stream, [newEvent()], { expectedRevision: 1 })).resolves.toMatchObject({
      nextRevision: 2,
    });
    await expectWrongRevision(store().append(stream, [newEvent()], { expectedRevision: 1 }), {
      stream,
      expected: 1,
      actual: 2,
    });
    await expectWrongRevision(store().append(stream, [newEvent()], { expectedRevision: 7 }), {
      stream,
      expected: 7,
      actual: 2,
    });
    expect((await store().readStream(stream)).length).toBe(3);
  });

  it('expectedRevision any (the default): appends whatever the stream holds', async () => {
    const stream = newStream();
    await expect(store().append(stream, [newEvent()], { expectedRevision: 'any' })).resolves.toMatchObject({
      nextRevision: 0,
    });
    await expect(store().append(stream, [newEvent(), newEvent()])).resolves.toMatchObject({ nextRevision: 2 });
  });

  it('a rejected append writes nothing', async () => {
    const stream = newStream();
    const kept = newEvent();
    await store().append(stream, [kept]);
    const rejected = [newEvent(), newEvent()];
    await expect(store().append(stream, rejected, { expectedRevision: 5 })).rejects.toBeInstanceOf(
      WrongExpectedRevisionError,
    );
    expect(ids(await store().readStream(stream))).toEqual([kept.id]);
    // The rejected ids are not "already appended": appending them for real works.
    await expect(store().append(stream, rejected, { expectedRevision: 0 })).resolves.toMatchObject({ nextRevision: 2 });
  });

  it('concurrent writers with the same expected revision: exactly one wins', async () => {
    const stream = newStream();
    await store().append(stream, [newEvent()], { expectedRevision: 'no_stream' });
    const batches = Array.from({ length: 8 }, () => [newEvent(), newEvent()]);
    const outcomes = await Promise.allSettled(
      batches.map((batch) => store().append(stream, batch, { expectedRevision: 0 })),
    );
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(WrongExpectedRevisionError);
    }
    const read = await store().readStream(stream);
    expect(ids(read.slice(1))).toEqual(ids(batches[winners[0]]));
    expect(read.map((e) => e.revision)).toEqual([0, 1, 2]);
  });

  it('concurrent creators of one stream with no_stream: exactly one wins', async () => {
    const stream = newStream();
    const batches = Array.from({ length: 8 }, () => [newEvent()]);
    const outcomes = await Promise.allSettled(
      batches.map((batch) => store().append(stream, batch, { expectedRevision: 'no_stream' })),
    );
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(
      outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof WrongExpectedRevisionError),
    ).toHaveLength(7);
    expect(ids(await store().readStream(stream))).toEqual(ids(batches[winners[0]]));
  });
}

function describeIdempotency(store: () => EventStore): void {
  it('re-appending the same events is a no-op returning the original result, even with a stale expectation', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const batch = [newEvent('ContractPaid', { amount: '10.00' }), newEvent('ContractPaid', { amount: '2.50' })];
    const original = await store().append(stream, batch, { expectedRevision: 'no_stream' });
    // A client retry: same ids, same content, a new request id.
    const retry = batch.map((event) => ({ ...event, metadata: { ...event.metadata, request_id: 'req_retry' } }));
    const again = await store().append(stream, retry, { expectedRevision: 'no_stream' });
    expect(again.nextRevision).toBe(original.nextRevision);
    expect(store().compareCheckpoints(again.position, original.position)).toBe(0);

    const later = newEvent();
    await store().append(stream, [later], { expectedRevision: 1 });
    const third = await store().append(stream, batch, { expectedRevision: 'no_stream' });
    expect(third.nextRevision).toBe(1);
    expect(store().compareCheckpoints(third.position, original.position)).toBe(0);

    expect(ids(await store().readStream(stream))).toEqual([...ids(batch), later.id]);
    const log = await readAllUntil(store(), from, (events) => events.some((e) => e.id === later.id));
    // Only this stream: events of earlier tests may still become visible after `from` was taken.
    expect(ids(log.events.filter((e) => e.stream === stream))).toEqual([...ids(batch), later.id]);
  });

  it('the same id with a different type or data is an EventIdConflictError, and writes nothing', async () => {
    const stream = newStream();
    const original = newEvent('ContractPaid', { amount: '10.00' });
    await store().append(stream, [original]);
    const otherData = { ...original, data: { amount: '11.00' } };
    const error = await rejection(store().append(stream, [otherData]));
    expect(error).toBeInstanceOf(EventIdConflictError);
    expect(error).toMatchObject({ stream, eventId: original.id, code: 'EVENT_STORE.EVENT_ID_CONFLICT' });
    await expect(store().append(stream, [{ ...original, type: 'ContractRefunded' }])).rejects.toBeInstanceOf(
      EventIdConflictError,
    );
    const read = await store().readStream(stream);
    expect(read.map((e) => [e.id, e.type, e.data])).toEqual([[original.id, 'ContractPaid', { amount: '10.00' }]]);
  });
}

function describeGlobalLog(store: () => EventStore): void {
  it('orders the global log by append order across streams, with increasing positions', async () => {
    const from = await settledHead(store());
    const streams = [newStream(), newStream(), newStream()];
    const appended: { id: string; position: Checkpoint }[] = [];
    for (let i = 0; i < 9; i += 1) {
      const event = newEvent('ContractOrdered', { i });
      const result = await store().append(streams[i % 3], [event]);
      appended.push({ id: event.id, position: result.position });
    }
    const log = await readAllUntil(store(), from, (events) => events.length >= 9);
    expect(ids(log.events)).toEqual(ids(appended));
    log.events.forEach((event, i) => {
      expect(store().compareCheckpoints(event.position, appended[i].position)).toBe(0);
    });
    for (let i = 1; i < log.all.length; i += 1) {
      expect(store().compareCheckpoints(log.all[i - 1].position, log.all[i].position)).toBeLessThan(0);
    }
    if (from !== null) expect(store().compareCheckpoints(from, log.all[0].position)).toBeLessThan(0);
  });

  it('resumes from a checkpoint: nothing skipped, nothing repeated', async () => {
    const from = await settledHead(store());
    const streams = [newStream(), newStream()];
    const expected: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const batch = [newEvent('ContractResumed', { i, part: 0 }), newEvent('ContractResumed', { i, part: 1 })];
      await store().append(streams[i % 2], batch);
      expected.push(...ids(batch));
    }
    // Pages of 3: every page resumes from the checkpoint the previous one returned.
    const paged = await readAllUntil(store(), from, (events) => events.length >= expected.length, { maxCount: 3 });
    expect(ids(paged.events)).toEqual(expected);
    for (let i = 1; i < paged.all.length; i += 1) {
      expect(store().compareCheckpoints(paged.all[i - 1].position, paged.all[i].position)).toBeLessThan(0);
    }
    // An event's position is a checkpoint: reading from the 5th resumes with the 6th.
    const fifth = paged.events[4];
    const resumed = await readAllUntil(store(), fifth.position, (events) => events.length >= expected.length - 5, {
      maxCount: 4,
    });
    expect(ids(resumed.events)).toEqual(expected.slice(5));
    // At the head, the checkpoint stays where it is and nothing of ours comes back.
    const atHead = await store().readAll(paged.checkpoint);
    expect(atHead.events.filter(isOurs)).toEqual([]);
    expect(store().compareCheckpoints(atHead.checkpoint, paged.checkpoint)).toBeGreaterThanOrEqual(0);
  });

  it('filters by type, and the checkpoint still moves past the events it skipped', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const [wanted, other] = [ownType('Wanted'), ownType('Other')];
    const batch = [
      newEvent(wanted, { n: 0 }),
      newEvent(other, { n: 1 }),
      newEvent(wanted, { n: 2 }),
      newEvent(other, { n: 3 }),
    ];
    const last = await store().append(stream, batch);
    const filtered = await readAllUntil(
      store(),
      from,
      (events, checkpoint) => events.length >= 2 && store().compareCheckpoints(checkpoint, last.position) >= 0,
      { types: [wanted], maxCount: 1 },
    );
    expect(filtered.all.every((event) => event.type === wanted)).toBe(true);
    expect(ids(filtered.events)).toEqual([batch[0].id, batch[2].id]);
    expect(store().compareCheckpoints(filtered.checkpoint, last.position)).toBeGreaterThanOrEqual(0);
  });

  it('excludes types: every other event comes back, and the checkpoint moves past the skipped ones', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const [bulk, kept, alsoKept] = [ownType('Bulk'), ownType('Kept'), ownType('AlsoKept')];
    // A run of skipped events longer than any page an adapter would scan for maxCount 1.
    const run = Array.from({ length: 25 }, (_, n) => newEvent(bulk, { n: 3 + n }));
    const batch = [
      newEvent(bulk, { n: 0 }),
      newEvent(kept, { n: 1 }),
      newEvent(bulk, { n: 2 }),
      ...run,
      newEvent(alsoKept, { n: 28 }),
      newEvent(bulk, { n: 29 }),
    ];
    const last = await store().append(stream, batch);
    const reachedLast = (events: RecordedEvent[], checkpoint: Checkpoint | null) =>
      store().compareCheckpoints(checkpoint, last.position) >= 0;
    const excluded = await readAllUntil(store(), from, reachedLast, { excludeTypes: [bulk], maxCount: 1 });
    expect(excluded.all.some((event) => event.type === bulk)).toBe(false);
    expect(ids(excluded.events)).toEqual([batch[1].id, batch[28].id]);
    // With `types` too: those types minus the excluded ones.
    const both = await readAllUntil(store(), from, reachedLast, { types: [kept, bulk], excludeTypes: [bulk] });
    expect(ids(both.events)).toEqual([batch[1].id]);
    expect(both.all.some((event) => event.type === bulk)).toBe(false);
  });

  it('headCheckpoint and countAfter see appended events', async () => {
    const before = await store().headCheckpoint();
    const result = await store().append(newStream(), [newEvent(), newEvent(), newEvent()]);
    await waitFor('the head to pass the append', async () => {
      const head = await store().headCheckpoint();
      return store().compareCheckpoints(head, result.position) >= 0;
    });
    expect(await store().countAfter(before, 1000)).toBeGreaterThanOrEqual(3);
    expect(await store().countAfter(before, 2)).toBe(2);
  });
}

function describeSubscriptions(store: () => EventStore): void {
  it('a subscription catches up, then follows live appends, in order, exactly once', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const before = [newEvent(), newEvent(), newEvent()];
    for (const event of before) await store().append(stream, [event]);
    const received: RecordedEvent[] = [];
    const checkpoints: Checkpoint[] = [];
    const errors: Error[] = [];
    const live = [newEvent(), newEvent(), newEvent(), newEvent()];
    const subscription = store().subscribeToAll(from, {
      maxCount: 2,
      onBatch: async (events, checkpoint) => {
        received.push(...events.filter((e) => e.stream === stream));
        checkpoints.push(checkpoint);
      },
      onError: (error) => errors.push(error),
    });
    try {
      await waitFor('catch-up', () => received.length >= 3);
      await store().append(stream, [live[0]]);
      await store().append(stream, live.slice(1, 3));
      await store().append(stream, [live[3]]);
      await waitFor('live events', () => received.length >= 7);
    } finally {
      await subscription.stop();
    }
    expect(ids(received)).toEqual([...ids(before), ...ids(live)]);
    expect(received.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 1; i < checkpoints.length; i += 1) {
      expect(store().compareCheckpoints(checkpoints[i - 1], checkpoints[i])).toBeLessThan(0);
    }
    expect(errors).toEqual([]);
  });

  it('a subscription with excludeTypes delivers every other event, and its checkpoint passes the skipped ones', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    const [bulk, kept] = [ownType('SubBulk'), ownType('SubKept')];
    const batch = [newEvent(bulk), newEvent(kept), newEvent(bulk), newEvent(kept), newEvent(bulk)];
    const last = await store().append(stream, batch);
    const received: RecordedEvent[] = [];
    let checkpoint: Checkpoint | null = from;
    const subscription = store().subscribeToAll(from, {
      excludeTypes: [bulk],
      maxCount: 1,
      onBatch: async (events, at) => {
        received.push(...events);
        checkpoint = at;
      },
    });
    try {
      await waitFor('the checkpoint to pass the last skipped event', () => {
        return store().compareCheckpoints(checkpoint, last.position) >= 0;
      });
    } finally {
      await subscription.stop();
    }
    expect(received.some((event) => event.type === bulk)).toBe(false);
    expect(ids(received.filter(isOurs))).toEqual([batch[1].id, batch[3].id]);
  });

  it('stop() waits for the batch in flight, and nothing is delivered after it resolves', async () => {
    const from = await settledHead(store());
    const stream = newStream();
    await store().append(stream, [newEvent()]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    let finished = false;
    let deliveredAfterStop = 0;
    let stopped = false;
    const subscription = store().subscribeToAll(from, {
      onBatch: async (events) => {
        if (stopped) deliveredAfterStop += events.length;
        if (!events.some((e) => e.stream === stream)) return;
        entered = true;
        await gate;
        finished = true;
      },
    });
    await waitFor('the first batch', () => entered);
    const stopping = subscription.stop().then(() => {
      stopped = true;
    });
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);

    // Prove a later event was deliverable (a second subscription gets it), and the first got nothing.
    const later = newEvent();
    await store().append(stream, [later]);
    const probe: string[] = [];
    const second = store().subscribeToAll(from, {
      onBatch: async (events) => {
        probe.push(...ids(events.filter((e) => e.stream === stream)));
      },
    });
    try {
      await waitFor('the probe subscription', () => probe.includes(later.id));
    } finally {
      await second.stop();
    }
    expect(deliveredAfterStop).toBe(0);
  });
}
