import {
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START,
  eventTypeFilter,
  excludeSystemEvents,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type Filter,
} from '@kurrent/kurrentdb-client';
import {
  StreamNotFoundError,
  WrongExpectedRevisionError,
  type AppendOptions,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from '../event-store';
import {
  START_CHECKPOINT,
  compareKurrentCheckpoints,
  comparePositions,
  decodeCheckpoint,
  encodeCheckpoint,
  isStartPosition,
  maxPosition,
  type KurrentPosition,
} from './kurrent-checkpoint';
import {
  InvalidEventStoreUrlError,
  normalizeKurrentConnectionString,
  redactConnectionString,
} from './kurrent-connection';
import { prepareBatch } from '../postgres/postgres-append';
import { planAppend } from './kurrent-idempotency';
import {
  allTypesExceptRegex,
  eventTypesRegex,
  fromKurrentRecordedEvent,
  fromKurrentStreamName,
  isStreamNotFound,
  isSystemEventType,
  isSystemStream,
  mapAppendError,
  toKurrentEventData,
  toKurrentStreamName,
  toStreamState,
} from './kurrent-mapping';
import { BatchingSubscription, type SubscriptionItem } from './kurrent-subscription';

export interface KurrentEventStoreOptions {
  /**
   * How many of a stream's latest events an append reads to find ids already appended (the
   * port's idempotency promise). Older ids are not checked. 0: rely on KurrentDB's own best effort.
   */
  idempotencyWindow?: number;
  /** Subscriptions deliver a batch after this long without a new record (ms). */
  batchIdleMs?: number;
  /** …and never hold a record longer than this (ms). */
  batchMaxWaitMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  pingTimeoutMs?: number;
}

const DEFAULTS = {
  idempotencyWindow: 500,
  batchIdleMs: 10,
  batchMaxWaitMs: 100,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  pingTimeoutMs: 5_000,
} satisfies Required<KurrentEventStoreOptions>;

/** Pinned optimistic retries before an append falls back to the caller's own expectation. */
const MAX_PINNED_ATTEMPTS = 8;
const HEAD_PAGE = 64;

interface StreamTail {
  events: RecordedEvent[];
  revision: number | 'no_stream';
}

/**
 * The EventStore port on KurrentDB (EventStoreDB's successor) through `@kurrent/kurrentdb-client`.
 * Checkpoints are `<commit>/<prepare>` positions of $all; KurrentDB's own `$` streams and event
 * types are invisible. See ./README.md for the idempotency window and the other limits.
 */
export class KurrentEventStore implements EventStore {
  readonly kind = 'kurrentdb' as const;
  private readonly options: Required<KurrentEventStoreOptions>;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(
    private readonly client: KurrentDBClient,
    options: KurrentEventStoreOptions = {},
  ) {
    this.options = resolveOptions(options);
  }

  /** `kurrentdb://`, `kurrent://`, `kdb://`, `esdb://`, each also `+discover`. Does not connect. */
  static fromConnectionString(url: string, options: KurrentEventStoreOptions = {}): KurrentEventStore {
    resolveOptions(options);
    const normalized = normalizeKurrentConnectionString(url);
    let client: KurrentDBClient;
    try {
      client = KurrentDBClient.connectionString(normalized);
    } catch (error) {
      const message = (error as Error).message.split(normalized).join(redactConnectionString(normalized));
      throw new InvalidEventStoreUrlError(url, message);
    }
    return new KurrentEventStore(client, options);
  }

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    // The same validation as the Postgres adapter (uuid ids, tenant_id, JSON data), one rule set.
    prepareBatch(stream, events);
    const expected = options.expectedRevision ?? 'any';
    const state = toStreamState(expected);
    const name = toKurrentStreamName(stream);
    if (events.length === 0) return this.checkOnly(stream, name, expected);
    if (this.options.idempotencyWindow === 0) return this.appendFresh(stream, name, events, expected, state);
    for (let attempt = 1; ; attempt += 1) {
      const tail = await this.readTail(name);
      const plan = planAppend(stream, tail.events, events);
      if (plan.lastExisting !== undefined) {
        // A retry of an append that already happened: its original result, whatever came since.
        return { nextRevision: plan.lastExisting.revision, position: plan.lastExisting.position };
      }
      const pinned = pinStreamState(stream, expected, state, tail.revision, attempt);
      try {
        return await this.appendFresh(stream, name, plan.fresh, expected, pinned);
      } catch (error) {
        // Our pin (not the caller's expectation) lost a race with another writer: look again.
        const pinLost = pinned !== state && error instanceof WrongExpectedRevisionError;
        if (!pinLost) throw error;
      }
    }
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const direction = options.direction ?? 'forwards';
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    assertCount('maxCount', maxCount);
    if (
      options.fromRevision !== undefined &&
      (!Number.isSafeInteger(options.fromRevision) || options.fromRevision < 0)
    ) {
      throw new RangeError(`fromRevision must be a non-negative integer, got ${String(options.fromRevision)}`);
    }
    const fromRevision =
      options.fromRevision === undefined ? (direction === 'forwards' ? START : END) : BigInt(options.fromRevision);
    const events: RecordedEvent[] = [];
    try {
      const reads = this.client.readStream(toKurrentStreamName(stream), {
        direction: direction === 'forwards' ? FORWARDS : BACKWARDS,
        fromRevision,
        maxCount,
      });
      for await (const resolved of reads) {
        if (resolved.event !== undefined) events.push(fromKurrentRecordedEvent(resolved.event));
      }
    } catch (error) {
      if (isStreamNotFound(error)) throw new StreamNotFoundError(stream);
      throw error;
    }
    return events;
  }

  async readAll(from: Checkpoint | null, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    this.assertOpen();
    const maxCount = options.maxCount ?? 1000;
    assertCount('maxCount', maxCount);
    const start = decodeCheckpoint(from);
    const excluded = new Set(options.excludeTypes ?? []);
    const types = options.types?.filter((type) => !excluded.has(type));
    const filtered = types !== undefined || excluded.size > 0;
    // The server hides records a type filter rejects, so their positions never reach us. Reading
    // the head first makes "the filtered read reached the end" mean "everything up to that head
    // was considered", and the checkpoint can jump there instead of stalling on the last match.
    const headBefore = filtered ? await this.headPosition() : null;
    if (types !== undefined && types.length === 0) {
      const last = headBefore === null ? start : maxPosition(start, headBefore);
      return { events: [], checkpoint: encodeCheckpoint(last), atHead: true };
    }
    const filter =
      types !== undefined
        ? eventTypeFilter({ regex: eventTypesRegex(types) })
        : excluded.size > 0
          ? eventTypeFilter({ regex: allTypesExceptRegex([...excluded]) })
          : excludeSystemEvents();
    const page = await this.readAllPage(start, maxCount, filter);
    let last = page.last;
    if (page.atHead && headBefore !== null) last = maxPosition(last, headBefore);
    return { events: page.events, checkpoint: encodeCheckpoint(last), atHead: page.atHead };
  }

  subscribeToAll(from: Checkpoint | null, options: SubscribeOptions): Subscription {
    this.assertOpen();
    const start = decodeCheckpoint(from);
    if (typeof options?.onBatch !== 'function') throw new TypeError('subscribeToAll needs an onBatch function');
    if (options.maxCount !== undefined) assertCount('maxCount', options.maxCount);
    const excluded = new Set(options.excludeTypes ?? []);
    const types =
      options.types === undefined && excluded.size === 0
        ? null
        : ({ has: (type: string) => (options.types?.includes(type) ?? true) && !excluded.has(type) } as const);
    const batching = new BatchingSubscription<AllStreamResolvedEvent>({
      from: isStartPosition(start) ? null : start,
      // Server-side only the system filter: type filtering happens here, so every record's
      // position is seen and the checkpoint advances exactly past filtered-out events.
      open: (after) => this.client.subscribeToAll({ fromPosition: after ?? START, filter: excludeSystemEvents() }),
      classify: (raw) => classifyRecord(raw, types),
      maxCount: options.maxCount ?? 1000,
      idleMs: this.options.batchIdleMs,
      maxWaitMs: this.options.batchMaxWaitMs,
      retryInitialMs: this.options.retryInitialMs,
      retryMaxMs: this.options.retryMaxMs,
      onBatch: options.onBatch,
      onError: options.onError,
    });
    const subscription: Subscription = {
      stop: async () => {
        this.subscriptions.delete(subscription);
        await batching.stop();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async countAfter(from: Checkpoint | null, limit: number): Promise<number> {
    this.assertOpen();
    const start = decodeCheckpoint(from);
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`limit must be an integer >= 0, got ${String(limit)}`);
    let counted = 0;
    let after = start;
    while (counted < limit) {
      const page = await this.readAllPage(after, limit - counted, excludeSystemEvents());
      counted += page.events.length;
      if (page.atHead) break;
      after = page.last;
    }
    return counted;
  }

  async headCheckpoint(): Promise<Checkpoint | null> {
    this.assertOpen();
    const head = await this.headPosition();
    return head === null ? null : encodeCheckpoint(head);
  }

  compareCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
    return compareKurrentCheckpoints(a, b);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`KurrentDB did not answer within ${this.options.pingTimeoutMs} ms`)),
        this.options.pingTimeoutMs,
      );
    });
    const read = (async () => {
      for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) break;
    })();
    try {
      await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
      read.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.client.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the event store is closed');
  }

  /** An empty batch only checks the expectation, as in the Postgres adapter. */
  private async checkOnly(stream: string, name: string, expected: ExpectedRevision): Promise<AppendResult> {
    let last: RecordedEvent | undefined;
    try {
      [last] = await this.readTailEvents(name, 1);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    const current = last === undefined ? -1 : last.revision;
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' ? current === -1 : expected === 'exists' ? current >= 0 : current === expected);
    if (!ok) throw new WrongExpectedRevisionError(stream, expected, current >= 0 ? current : 'no_stream');
    return last === undefined
      ? { nextRevision: -1, position: START_CHECKPOINT }
      : { nextRevision: current, position: last.position };
  }

  private async appendFresh(
    stream: string,
    name: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    state: AppendStreamState,
  ): Promise<AppendResult> {
    let nextRevision: bigint;
    try {
      const result = await this.client.appendToStream(name, events.map(toKurrentEventData), { streamState: state });
      nextRevision = result.nextExpectedRevision;
    } catch (error) {
      throw mapAppendError(error, stream, expected);
    }
    return { nextRevision: Number(nextRevision), position: await this.positionOf(name, nextRevision) };
  }

  /**
   * The $all position of one stream event. The append reply is not used for this: the server
   * answers with its commit position in both halves ("not technically correct", says its source),
   * which is not the position readAll reports for the last event of a multi-event append.
   */
  private async positionOf(name: string, revision: bigint): Promise<Checkpoint> {
    for await (const resolved of this.client.readStream(name, { fromRevision: revision, maxCount: 1 })) {
      if (resolved.event !== undefined) return fromKurrentRecordedEvent(resolved.event).position;
    }
    throw new Error(`stream ${fromKurrentStreamName(name)}: revision ${revision} vanished right after its append`);
  }

  private async readTailEvents(name: string, count: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    for await (const resolved of this.client.readStream(name, {
      direction: BACKWARDS,
      fromRevision: END,
      maxCount: count,
    })) {
      if (resolved.event !== undefined) events.push(fromKurrentRecordedEvent(resolved.event));
    }
    return events;
  }

  /** The stream's latest `idempotencyWindow` events, newest first, and its current revision. */
  private async readTail(name: string): Promise<StreamTail> {
    try {
      const events = await this.readTailEvents(name, this.options.idempotencyWindow);
      return { events, revision: events.length > 0 ? events[0].revision : 'no_stream' };
    } catch (error) {
      if (isStreamNotFound(error)) return { events: [], revision: 'no_stream' };
      throw error;
    }
  }

  /**
   * Reads $all forwards strictly after `start` (Kurrent's read includes the record at its start),
   * returning at most `maxCount` events. `last` is the position of the last record considered,
   * returned or skipped (events of Kurrent's own streams, some of which have non-`$` types).
   */
  private async readAllPage(
    start: KurrentPosition,
    maxCount: number,
    filter: Filter,
  ): Promise<{ events: RecordedEvent[]; last: KurrentPosition; atHead: boolean }> {
    const fromStart = isStartPosition(start);
    const requested = fromStart ? maxCount : maxCount + 1;
    const events: RecordedEvent[] = [];
    let last = start;
    let received = 0;
    for await (const resolved of this.client.readAll({
      fromPosition: fromStart ? START : start,
      maxCount: requested,
      filter,
    })) {
      received += 1;
      const record = resolved.event;
      if (record?.position === undefined || comparePositions(record.position, start) <= 0) continue;
      last = record.position;
      if (isSystemStream(record.streamId)) continue;
      events.push(fromKurrentRecordedEvent(record));
      if (events.length >= maxCount) return { events, last, atHead: false };
    }
    return { events, last, atHead: received < requested };
  }

  /** Position of the last event outside Kurrent's own streams, or null for an empty log. */
  private async headPosition(): Promise<KurrentPosition | null> {
    let from: KurrentPosition | null = null;
    for (;;) {
      let received = 0;
      const reads = this.client.readAll({
        direction: BACKWARDS,
        fromPosition: from ?? END,
        maxCount: HEAD_PAGE,
        filter: excludeSystemEvents(),
      });
      for await (const resolved of reads) {
        received += 1;
        const record = resolved.event;
        if (record?.position === undefined) continue;
        if (from !== null && comparePositions(record.position, from) >= 0) continue;
        if (!isSystemStream(record.streamId)) return record.position;
        from = record.position;
      }
      if (received < HEAD_PAGE) return null;
    }
  }
}

function assertCount(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

function resolveOptions(options: KurrentEventStoreOptions): Required<KurrentEventStoreOptions> {
  const resolved = { ...DEFAULTS, ...options };
  if (!Number.isInteger(resolved.idempotencyWindow) || resolved.idempotencyWindow < 0) {
    throw new RangeError('idempotencyWindow must be a non-negative integer');
  }
  return resolved;
}

/**
 * The caller's expectation, tightened for the check-then-append race: `any` and `exists` are
 * pinned to the revision the idempotency check saw, so a concurrent duplicate cannot slip in
 * between. After repeated lost races the append stops pinning (Kurrent's best effort).
 */
function pinStreamState(
  stream: string,
  expected: ExpectedRevision,
  state: AppendStreamState,
  seen: number | 'no_stream',
  attempt: number,
): AppendStreamState {
  if (expected === 'exists' && seen === 'no_stream') throw new WrongExpectedRevisionError(stream, expected, seen);
  if (attempt > MAX_PINNED_ATTEMPTS) return state;
  if (expected === 'any' || expected === 'exists') return seen === 'no_stream' ? NO_STREAM : BigInt(seen);
  return state;
}

function classifyRecord(
  raw: AllStreamResolvedEvent,
  types: Pick<ReadonlySet<string>, 'has'> | null,
): SubscriptionItem | null {
  const record = raw.event;
  if (record?.position === undefined) return null;
  const hidden =
    isSystemStream(record.streamId) || isSystemEventType(record.type) || (types !== null && !types.has(record.type));
  return { position: record.position, event: hidden ? null : fromKurrentRecordedEvent(record) };
}
