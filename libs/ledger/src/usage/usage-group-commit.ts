import type { Pool, PoolClient } from 'pg';
import type { Checkpoint } from '../event-store';
import { DEFAULT_NOTIFY_CHANNEL } from '../postgres/postgres-event-store';
import { appendUsageWithin, distinctKeys, outcomesOf, readUsageKeys, type StoredUsageKey } from './usage-append';
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
  /** A flush takes whole requests until it holds at least this many events. Default 2000. */
  maxBatchEvents?: number;
  /** Flushes (transactions) running at once. Default 2. */
  maxInFlight?: number;
  /**
   * While a flush is already running, how long a further flush waits to gather more events before
   * it starts (ms). The first flush never waits: an idle writer adds no latency. Default 1.
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
  resolve(outcomes: UsageAppendOutcome[]): void;
  reject(error: unknown): void;
}

/** SQLSTATE deadlock_detected, serialization_failure: nothing was committed, run the flush again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 4;
/** Data exceptions, integrity violations, program limits: the content of some request is at fault. */
const CONTENT_ERROR = /^(22|23|54)/;

const sqlState = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * Group commit for usage ingestion in Postgres mode. Concurrent requests queue their events; a
 * small number of flushers each take whole requests up to a size cap and write them in one
 * transaction (one statement for keys and events, one fsync at COMMIT for all of them), then answer
 * every request of the flush. A request is answered only after its transaction committed.
 */
export class UsageGroupCommitWriter implements UsageWriter {
  readonly mode = 'group_commit' as const;
  private readonly channel: string;
  private readonly maxBatchEvents: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private readonly maxQueuedEvents: number;
  private queue: Pending[] = [];
  private queuedEvents = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private drained: Array<() => void> = [];
  private readonly counters = { flushes: 0, events: 0, requests: 0, retries: 0, largestFlushEvents: 0 };

  constructor(
    private readonly pool: Pool,
    options: UsageGroupCommitOptions = {},
  ) {
    this.channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
    this.maxBatchEvents = positive('maxBatchEvents', options.maxBatchEvents ?? 2000);
    this.maxInFlight = positive('maxInFlight', options.maxInFlight ?? 2);
    this.lingerMs = options.lingerMs ?? 1;
    this.maxQueuedEvents = positive('maxQueuedEvents', options.maxQueuedEvents ?? 50_000);
    if (!(this.lingerMs >= 0)) throw new RangeError('lingerMs must be >= 0');
  }

  append(items: readonly UsageAppendItem[]): Promise<UsageAppendOutcome[]> {
    if (this.closed) return Promise.reject(new UsageWriterClosedError());
    if (items.length === 0) return Promise.resolve([]);
    // A request larger than the whole queue is still taken when the queue is empty.
    if (this.queuedEvents > 0 && this.queuedEvents + items.length > this.maxQueuedEvents) {
      return Promise.reject(new UsageWriterOverloadedError(this.queuedEvents));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queuedEvents += items.length;
      this.schedule();
    });
  }

  stats(): UsageGroupCommitStats {
    return { ...this.counters, queuedEvents: this.queuedEvents, inFlight: this.inFlight };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.schedule();
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  private schedule(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const lingering =
        this.inFlight > 0 && this.lingerMs > 0 && this.queuedEvents < this.maxBatchEvents && !this.closed;
      if (lingering) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          if (this.queue.length > 0 && this.inFlight < this.maxInFlight) this.startFlush();
          this.schedule();
        }, this.lingerMs);
        return;
      }
      this.startFlush();
    }
    if (this.queue.length === 0 && this.inFlight === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  private startFlush(): void {
    const taken: Pending[] = [];
    let events = 0;
    while (
      this.queue.length > 0 &&
      (taken.length === 0 || events + this.queue[0].items.length <= this.maxBatchEvents)
    ) {
      const next = this.queue.shift()!;
      taken.push(next);
      events += next.items.length;
    }
    this.queuedEvents -= events;
    this.inFlight += 1;
    void this.flush(taken).finally(() => {
      this.inFlight -= 1;
      this.schedule();
    });
  }

  /** Answers every request of the flush; a request whose content breaks the statement fails alone. */
  private async flush(requests: Pending[]): Promise<void> {
    const items = requests.flatMap((request) => request.items);
    try {
      const outcomes = await this.write(items);
      this.counters.requests += requests.length;
      let offset = 0;
      for (const request of requests) {
        request.resolve(outcomes.slice(offset, offset + request.items.length));
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

  private async write(items: readonly UsageAppendItem[]): Promise<UsageAppendOutcome[]> {
    const leaders = distinctKeys(items);
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        const appended = await this.commit(client, leaders);
        this.count(items.length);
        const taken = leaders.filter((item) => !appended.has(item.event.id));
        const stored: Map<string, StoredUsageKey> = taken.length > 0 ? await readUsageKeys(client, taken) : new Map();
        return outcomesOf(items, appended, stored);
      } catch (error) {
        if (error instanceof CommitFailure) {
          broken = error.rollbackError;
          if (RETRYABLE.has(String(sqlState(error.cause))) && attempt < MAX_ATTEMPTS) {
            this.counters.retries += 1;
            continue;
          }
          throw error.cause;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  /** One transaction; a failure inside it is wrapped so write() knows nothing was committed. */
  private async commit(client: PoolClient, leaders: readonly UsageAppendItem[]): Promise<Map<string, Checkpoint>> {
    try {
      await client.query('BEGIN');
      const appended = await appendUsageWithin(client, leaders, this.channel);
      await client.query('COMMIT');
      return appended;
    } catch (error) {
      let rollbackError: Error | undefined;
      await client.query('ROLLBACK').catch((failure: Error) => {
        rollbackError = failure;
      });
      throw new CommitFailure(error, rollbackError);
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
