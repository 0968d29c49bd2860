import { AsyncLocalStorage } from 'node:async_hooks';
import type { Checkpoint, ReadAllOptions, SubscribeOptions, Subscription } from '../event-store';
import { asError, type NotificationListener } from './postgres-notification-listener';
import type { LogPage } from './postgres-read-all';

export interface SubscriptionSource {
  readPage(from: Checkpoint | null, options: ReadAllOptions): Promise<LogPage>;
  compare(a: Checkpoint | null, b: Checkpoint | null): number;
}

export interface SubscriptionTiming {
  /** Longest wait at the head without a notification. */
  pollIntervalMs: number;
}

/** First re-read delay while committed events wait behind an older open transaction; doubles. */
const PENDING_FIRST_MS = 5;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;

/** Which subscription's onBatch the current async context runs in: stop() from there must not wait for itself. */
const insideBatch = new AsyncLocalStorage<PostgresSubscription>();

/**
 * Catch-up then live, in one loop: read a page from the checkpoint, hand it to onBatch (awaited),
 * advance, and at the head wait for a notification, the poll interval, or stop(). An event can
 * become visible later than its notification (an older transaction was still open): when the read
 * says committed events are pending behind the horizon, it re-reads soon instead of waiting.
 * Errors (database down, onBatch throwing) go to onError and the same checkpoint is retried with
 * backoff, so a batch is delivered again until onBatch succeeds.
 */
export class PostgresSubscription implements Subscription {
  private checkpoint: Checkpoint | null;
  private stopping = false;
  private wakeRequested = false;
  private interrupt: (() => void) | null = null;
  private readonly done: Promise<void>;
  private readonly concerns: (committed: ReadonlySet<string>) => boolean;

  constructor(
    from: Checkpoint | null,
    private readonly options: SubscribeOptions,
    private readonly source: SubscriptionSource,
    private readonly listener: NotificationListener,
    private readonly timing: SubscriptionTiming,
    private readonly onStopped: (subscription: PostgresSubscription) => void,
  ) {
    this.checkpoint = from;
    this.concerns = concernsFilter(options);
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt?.();
    // Called from inside onBatch: the loop ends as soon as that batch returns.
    if (insideBatch.getStore() === this) return;
    await this.done;
  }

  private async run(): Promise<void> {
    const detach = this.listener.add({ wake: (types) => this.wake(types), error: (error) => this.report(error) });
    let failures = 0;
    let pendingDelayMs = PENDING_FIRST_MS;
    let readStarted = -Infinity;
    while (!this.stopping) {
      try {
        const rest = readStarted + (this.options.minIntervalMs ?? 0) - performance.now();
        // Live and woken sooner than minIntervalMs: notifications meanwhile join this read.
        if (rest > 0) await this.pause(rest, false);
        if (this.stopping) break;
        this.wakeRequested = false;
        readStarted = performance.now();
        const page = await this.source.readPage(this.checkpoint, this.options);
        if (this.stopping) break;
        // An empty batch still moves the checkpoint when a types filter skipped events.
        if (page.events.length > 0 || this.source.compare(page.checkpoint, this.checkpoint) > 0) {
          await insideBatch.run(this, () => this.options.onBatch(page.events, page.checkpoint));
          this.checkpoint = page.checkpoint;
        }
        failures = 0;
        if (!page.atHead) {
          readStarted = -Infinity; // catching up: the next page at once
          continue;
        }
        if (page.pending) {
          await this.pause(pendingDelayMs, true);
          pendingDelayMs = Math.min(pendingDelayMs * 2, this.timing.pollIntervalMs);
        } else {
          pendingDelayMs = PENDING_FIRST_MS;
          await this.pause(this.timing.pollIntervalMs, true);
        }
      } catch (error) {
        failures += 1;
        this.report(asError(error));
        await this.pause(Math.min(RETRY_BASE_MS * 2 ** (failures - 1), RETRY_MAX_MS), false);
      }
    }
    await detach().catch(() => undefined);
    this.onStopped(this);
  }

  /** A commit of only these types (when known) that this subscription filters out is not worth a read. */
  private wake(types?: ReadonlySet<string>): void {
    if (types !== undefined && !this.concerns(types)) return;
    this.wakeRequested = true;
    this.interrupt?.();
  }

  /** Waits `ms`, or less on stop(), and (when `wakeable`) on a notification. */
  private pause(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopping || (wakeable && this.wakeRequested)) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.interrupt = null;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.interrupt = wakeable ? finish : () => (this.stopping ? finish() : undefined);
    });
  }

  private report(error: Error): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A failing error handler must not kill the subscription.
    }
  }
}

/**
 * Whether a commit of these event types can give a subscription with these filters a batch (built
 * once per subscription: it runs on every notification). With `types: []` (no type: every page only
 * moves the checkpoint, as the projector's doorbell reads) any commit does.
 */
function concernsFilter(options: ReadAllOptions): (committed: ReadonlySet<string>) => boolean {
  if (options.types !== undefined && options.types.length === 0) return () => true;
  const wanted = options.types === undefined ? undefined : new Set(options.types);
  const excluded = new Set(options.excludeTypes ?? []);
  return (committed) => {
    for (const type of committed) if (!excluded.has(type) && (wanted === undefined || wanted.has(type))) return true;
    return false;
  };
}
