import type { Pool, PoolClient } from 'pg';
import { DEFAULT_NOTIFY_CHANNEL } from '../postgres/postgres-event-store';
import {
  appendUsage,
  distinctKeys,
  judge,
  outcomesOf,
  readUsageKeys,
  usageKeyOf,
  type AppendedUsage,
  type StoredUsageKey,
  type UsageKeyResult,
} from './usage-append';
import {
  UsageWriterClosedError,
  UsageWriterOverloadedError,
  type UsageAppendItem,
  type UsageAppendOutcome,
  type UsageWriter,
} from './usage-writer';

export interface UsageGroupCommitOptions {
  /** The event store's LISTEN/NOTIFY channel (subscribers wake at commit). Default `abaxus_events`. */
  notifyChannel?: string;
  /**
   * Independent flushers. Each stream belongs to one of them (by a hash of its name), so two flushes
   * running at once never wait for each other's stream locks. Default 2.
   */
  partitions?: number;
  /** A flush takes whole requests until it holds at least this many events. Default 2000. */
  maxBatchEvents?: number;
  /**
   * How long an idle flusher waits for more events before it starts (ms). Default 0: a request to an
   * idle writer is written at once; under load, events gather while the previous flush runs.
   */
  lingerMs?: number;
  /** Above this many queued events, append() refuses new work (UsageWriterOverloadedError). Default 50 000. */
  maxQueuedEvents?: number;
}

export interface UsageGroupCommitStats {
  flushes: number;
  events: number;
  requests: number;
  /** Flushes retried after a deadlock or serialization failure. */
  retries: number;
  largestFlushEvents: number;
  queuedEvents: number;
  inFlight: number;
}

interface Pending {
  items: readonly UsageAppendItem[];
  resolve(results: UsageKeyResult[]): void;
  reject(error: unknown): void;
}

interface Partition {
  queue: Pending[];
  queuedEvents: number;
  busy: boolean;
  timer?: NodeJS.Timeout;
}

/** SQLSTATE deadlock_detected, serialization_failure: nothing was committed, run the flush again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 4;
/** Data exceptions, integrity violations, program limits: the content of some request is at fault. */
const CONTENT_ERROR = /^(22|23|54)/;

const sqlState = (error: unknown) => (error as { code?: unknown } | null)?.code;
/** No SQLSTATE: the connection itself failed (reset, timeout, closed). */
const isConnectionError = (error: unknown) => typeof sqlState(error) !== 'string';

/** FNV-1a: a stable, cheap spread of stream names over the partitions. */
function partitionOf(stream: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) hash = Math.imul(hash ^ stream.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % partitions;
}

/**
 * Group commit for usage ingestion in Postgres mode. Concurrent requests queue their events; each
 * partition's flusher takes whole requests up to a size cap and writes them in one transaction (one
 * statement for keys and events, one fsync at COMMIT for all of them), then answers them. A request
 * is answered only after every transaction holding its events committed. Within a request, the
 * first item with a key is the one written; later ones are judged against it.
 */
export class UsageGroupCommitWriter implements UsageWriter {
  readonly mode = 'group_commit' as const;
  private readonly channel: string;
  private readonly partitions: Partition[];
  private readonly maxBatchEvents: number;
  private readonly lingerMs: number;
  private readonly maxQueuedEvents: number;
  private closed = false;
  private drained: Array<() => void> = [];
  private readonly counters = { flushes: 0, events: 0, requests: 0, retries: 0, largestFlushEvents: 0 };

  constructor(
    private readonly pool: Pool,
    options: UsageGroupCommitOptions = {},
  ) {
    this.channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
    const partitions = positive('partitions', options.partitions ?? 2);
    this.partitions = Array.from({ length: partitions }, () => ({ queue: [], queuedEvents: 0, busy: false }));
    this.maxBatchEvents = positive('maxBatchEvents', options.maxBatchEvents ?? 2000);
    this.lingerMs = options.lingerMs ?? 0;
    this.maxQueuedEvents = positive('maxQueuedEvents', options.maxQueuedEvents ?? 50_000);
    if (!(this.lingerMs >= 0)) throw new RangeError('lingerMs must be >= 0');
  }

  async append(items: readonly UsageAppendItem[]): Promise<UsageAppendOutcome[]> {
    if (this.closed) throw new UsageWriterClosedError();
    if (items.length === 0) return [];
    const queued = this.queuedEvents();
    // A request larger than the whole queue is still taken when the queue is empty.
    if (queued > 0 && queued + items.length > this.maxQueuedEvents) throw new UsageWriterOverloadedError(queued);
    const leaders = distinctKeys(items);
    const parts = new Map<number, UsageAppendItem[]>();
    for (const item of leaders) {
      const index = partitionOf(item.stream, this.partitions.length);
      const part = parts.get(index);
      if (part) part.push(item);
      else parts.set(index, [item]);
    }
    const results = new Map<string, UsageKeyResult>();
    await Promise.all(
      [...parts].map(async ([index, part]) => {
        const partResults = await this.enqueue(this.partitions[index], part);
        part.forEach((item, i) => results.set(usageKeyOf(item.tenantId, item.idempotencyKey), partResults[i]));
      }),
    );
    const leading = new Set(leaders);
    return items.map((item) => {
      const result = results.get(usageKeyOf(item.tenantId, item.idempotencyKey))!;
      return leading.has(item) ? result.outcome : judge(item.payloadHash, result.winnerHash, result.outcome.usageId);
    });
  }

  stats(): UsageGroupCommitStats {
    const inFlight = this.partitions.filter((p) => p.busy).length;
    return { ...this.counters, queuedEvents: this.queuedEvents(), inFlight };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const partition of this.partitions) if (!partition.busy) this.startFlush(partition);
    if (this.idle()) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  private queuedEvents(): number {
    return this.partitions.reduce((sum, p) => sum + p.queuedEvents, 0);
  }

  private idle(): boolean {
    return this.partitions.every((p) => !p.busy && p.queue.length === 0);
  }

  private enqueue(partition: Partition, items: UsageAppendItem[]): Promise<UsageKeyResult[]> {
    return new Promise((resolve, reject) => {
      partition.queue.push({ items, resolve, reject });
      partition.queuedEvents += items.length;
      if (partition.busy) return; // taken by the next flush, as soon as this one ends
      const linger = this.lingerMs > 0 && partition.queuedEvents < this.maxBatchEvents && !this.closed;
      if (!linger) this.startFlush(partition);
      else partition.timer ??= setTimeout(() => this.startFlush(partition), this.lingerMs);
    });
  }

  private startFlush(partition: Partition): void {
    clearTimeout(partition.timer);
    partition.timer = undefined;
    if (partition.busy || partition.queue.length === 0) return;
    const taken: Pending[] = [];
    let events = 0;
    while (
      partition.queue.length > 0 &&
      (taken.length === 0 || events + partition.queue[0].items.length <= this.maxBatchEvents)
    ) {
      const next = partition.queue.shift()!;
      taken.push(next);
      events += next.items.length;
    }
    partition.queuedEvents -= events;
    partition.busy = true;
    void this.flush(taken).finally(() => {
      partition.busy = false;
      // What queued meanwhile has waited long enough: no linger.
      if (partition.queue.length > 0) this.startFlush(partition);
      else if (this.idle()) for (const resolve of this.drained.splice(0)) resolve();
    });
  }

  /** Answers every request of the flush; a request whose content breaks the statement fails alone. */
  private async flush(requests: Pending[]): Promise<void> {
    const items = requests.flatMap((request) => request.items);
    try {
      const results = await this.write(items);
      this.counters.requests += requests.length;
      let offset = 0;
      for (const request of requests) {
        request.resolve(results.slice(offset, offset + request.items.length));
        offset += request.items.length;
      }
    } catch (error) {
      const code = sqlState(error);
      if (requests.length > 1 && typeof code === 'string' && CONTENT_ERROR.test(code)) {
        // Validation should make this unreachable; if not, one bad request must not fail the others.
        for (const request of requests) await this.flush([request]);
        return;
      }
      for (const request of requests) request.reject(error);
    }
  }

  private async write(items: readonly UsageAppendItem[]): Promise<UsageKeyResult[]> {
    const leaders = distinctKeys(items);
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        const appended = await this.commit(client, leaders);
        this.count(items.length);
        const taken = leaders.filter((_, index) => !appended.claimed.has(index));
        const stored: Map<string, StoredUsageKey> = taken.length > 0 ? await readUsageKeys(client, taken) : new Map();
        return outcomesOf(items, leaders, appended, stored);
      } catch (error) {
        if (!(error instanceof CommitFailure)) {
          // After the commit (reading the stored keys): a connection that failed or is still busy
          // with a timed-out query is not reused.
          if (isConnectionError(error)) broken = error as Error;
          throw error;
        }
        broken = error.rollbackError;
        if (RETRYABLE.has(String(sqlState(error.cause))) && attempt < MAX_ATTEMPTS) {
          this.counters.retries += 1;
          continue;
        }
        throw error.cause;
      } finally {
        client.release(broken);
      }
    }
  }

  /** One transaction in one round trip; a failure is wrapped so write() knows nothing was committed. */
  private async commit(client: PoolClient, leaders: readonly UsageAppendItem[]): Promise<AppendedUsage> {
    try {
      return await appendUsage(client, leaders, this.channel);
    } catch (error) {
      // The implicit transaction rolled itself back; a connection that failed is not reused.
      throw new CommitFailure(error, isConnectionError(error) ? (error as Error) : undefined);
    }
  }

  private count(events: number): void {
    this.counters.flushes += 1;
    this.counters.events += events;
    this.counters.largestFlushEvents = Math.max(this.counters.largestFlushEvents, events);
  }
}

class CommitFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly rollbackError: Error | undefined,
  ) {
    super('usage flush transaction failed');
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
