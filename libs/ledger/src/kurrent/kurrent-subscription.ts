import { AsyncLocalStorage } from 'node:async_hooks';
import type { Checkpoint, RecordedEvent, Subscription } from '../event-store';
import { comparePositions, decodeCheckpoint, encodeCheckpoint, type KurrentPosition } from './kurrent-checkpoint';

/** One log record as the batcher sees it: filtered-out records (`event: null`) still move the checkpoint. */
export interface SubscriptionItem {
  position: KurrentPosition;
  event: RecordedEvent | null;
}

/** The part of the client's `AllStreamSubscription` (a Node Readable) the batcher relies on. */
export interface SubscriptionStream<Raw> {
  on(event: 'data', listener: (raw: Raw) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  removeAllListeners(): unknown;
  unsubscribe(): Promise<void>;
}

export interface BatchingSubscriptionOptions<Raw> {
  /** Exclusive start; null: the beginning of the log. */
  from: KurrentPosition | null;
  /** Opens a catch-up-then-live subscription strictly after `from`. */
  open(from: KurrentPosition | null): SubscriptionStream<Raw>;
  /** Null: a record that cannot be placed in the log (ignored). */
  classify(raw: Raw): SubscriptionItem | null;
  maxCount: number;
  /** Deliver once no record arrived for this long… */
  idleMs: number;
  /** …but never hold a record longer than this. */
  maxWaitMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  onBatch(events: RecordedEvent[], checkpoint: Checkpoint): Promise<void>;
  onError?(error: Error): void;
}

/** Which subscription's onBatch the current async context runs in: stop() from there must not wait for itself. */
const insideBatch = new AsyncLocalStorage<BatchingSubscription<unknown>>();

/**
 * Turns a record-at-a-time Kurrent subscription into the port's batches: accumulate until
 * `maxCount` or a short idle, pause the stream while `onBatch` runs (backpressure reaches the
 * server through gRPC flow control), and on any failure (stream error, unexpected end, `onBatch`
 * throwing) resubscribe from the last delivered checkpoint with exponential backoff. A batch may be
 * empty when only filtered-out records arrived, so the caller's checkpoint still advances.
 */
export class BatchingSubscription<Raw> implements Subscription {
  private delivered: KurrentPosition | null;
  /** Position of the last record taken into the buffer (delivered or not). */
  private seen: KurrentPosition | null;
  private buffer: RecordedEvent[] = [];
  private stream: SubscriptionStream<Raw> | null = null;
  private flushing: Promise<void> | null = null;
  private restarting = false;
  private stopped = false;
  private attempt = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private waitTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: BatchingSubscriptionOptions<Raw>) {
    this.delivered = options.from;
    this.seen = options.from;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.detach();
    // Called from inside onBatch: nothing more is delivered once that batch returns.
    if (insideBatch.getStore() === this) return;
    await this.flushing;
  }

  private connect(): void {
    if (this.stopped) return;
    try {
      const stream = this.options.open(this.delivered);
      this.stream = stream;
      stream.on('data', (raw) => this.onRecord(raw));
      stream.on('error', (error) => void this.restart(error));
      stream.on('end', () => void this.restart(new Error('KurrentDB subscription ended unexpectedly')));
    } catch (error) {
      void this.restart(error as Error);
    }
  }

  private onRecord(raw: Raw): void {
    if (this.stopped || this.restarting) return;
    const item = this.options.classify(raw);
    // After a resubscribe the server may repeat the boundary record: never deliver anything twice.
    if (item === null || (this.seen !== null && comparePositions(item.position, this.seen) <= 0)) return;
    this.attempt = 0;
    this.seen = item.position;
    if (item.event !== null) this.buffer.push(item.event);
    if (this.buffer.length >= this.options.maxCount) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.flush(), this.options.idleMs);
    this.waitTimer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private clearTimers(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.idleTimer = this.waitTimer = null;
  }

  private hasUndelivered(): boolean {
    if (this.seen === null) return false;
    return this.delivered === null || comparePositions(this.seen, this.delivered) > 0;
  }

  private flush(): void {
    if (this.flushing || this.stopped || this.restarting) return;
    this.clearTimers();
    if (!this.hasUndelivered() || this.seen === null) return;
    const events = this.buffer.splice(0, this.options.maxCount);
    // A batch cut at maxCount ends at its last event; otherwise at the last record seen.
    const checkpoint = this.buffer.length > 0 ? decodeCheckpoint(events[events.length - 1].position) : this.seen;
    const stream = this.stream;
    stream?.pause();
    this.flushing = (async () => {
      try {
        await insideBatch.run(this, () => this.options.onBatch(events, encodeCheckpoint(checkpoint)));
        this.delivered = checkpoint;
      } catch (error) {
        this.flushing = null;
        await this.restart(error as Error);
        return;
      }
      this.flushing = null;
      if (this.stopped || this.restarting) return;
      // A full buffer goes out at once, the stream staying paused; otherwise reading resumes.
      if (this.buffer.length >= this.options.maxCount) return this.flush();
      if (this.hasUndelivered()) this.schedule();
      stream?.resume();
    })();
  }

  private report(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A failing error handler must not kill the subscription.
    }
  }

  private async detach(): Promise<void> {
    const stream = this.stream;
    this.stream = null;
    if (!stream) return;
    stream.removeAllListeners();
    // A cancelled gRPC call may still report its cancellation: swallow it.
    stream.on('error', () => undefined);
    await stream.unsubscribe().catch(() => undefined);
  }

  private async restart(error: Error): Promise<void> {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.clearTimers();
    this.report(error);
    await this.detach();
    await this.flushing;
    // Undelivered records are dropped and read again from the last delivered checkpoint.
    this.buffer = [];
    this.seen = this.delivered;
    const delay = Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** this.attempt);
    this.attempt += 1;
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.restarting = false;
      this.connect();
    }, delay);
  }
}
