import { CheckpointWaiters } from '../common/checkpoint-waiters';
import {
  BILLING_INTERVALS,
  SUBSCRIPTION_EVENT_TYPES,
  periodContaining,
  type BillingCycle,
  type BillingInterval,
  type Entitlements,
  type SubscriptionStarted,
} from '#domain';
import { readToHead } from '../common/read-to-head';
import type { Checkpoint, EventStore, RecordedEvent, Subscription } from '#ledger';

/** What an entitlement check needs of a subscription: who, when, the billing cycle, the entitlements. */
export interface EntitledSubscription {
  tenantId: string;
  subscriptionId: string;
  customerId: string;
  planKey: string;
  planVersion: number;
  startMs: number;
  /** Exclusive; null: open-ended. */
  endsMs: number | null;
  cycle: BillingCycle;
  /** The SubscriptionStarted snapshot: the plan version's, `overrides.entitlements` laid over them. */
  entitlements: Entitlements;
}

/** [start, end) of a billing period, RFC 3339 UTC and as milliseconds. */
export interface CachedPeriod {
  start: string;
  end: string;
  startMs: number;
  endMs: number;
}

/** Why a customer has no subscription in force at an instant. */
export type NoSubscriptionReason = 'no_live_subscription' | 'subscription_ended' | 'subscription_not_started';

export type SubscriptionInForce =
  | { subscription: EntitledSubscription; reason?: undefined }
  | { subscription?: undefined; reason: NoSubscriptionReason };

export interface SubscriptionDirectoryStatus {
  loaded: boolean;
  live: boolean;
  checkpoint: Checkpoint | null;
  subscriptions: number;
  error?: string;
}

interface DirectoryLogger {
  warn(details: object, message: string): void;
}

interface Entry extends EntitledSubscription {
  period?: CachedPeriod;
}

const CATCH_UP_BATCH = 1_000;
const ERROR_MEMORY_MS = 15_000;

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const customerKey = (tenantId: string, customerId: string) => `${tenantId}:${customerId}`;

/**
 * Every subscription's entitlements, billing cycle and end, in memory, following the log
 * (SubscriptionStarted / Cancelled / PlanChanged): an entitlement check resolves customer ->
 * subscription in force -> entitlements with no database round trip. Like the KeyDirectory, it
 * reads the log to the head (type-filtered, so it walks only these events) before the API listens,
 * then follows it with one subscription; events arrive in log order, once each, so no per-stream
 * reads can race with it. `waitFor(position)` lets a reader wait for a write it knows of.
 */
export class SubscriptionDirectory {
  private readonly byCustomer = new Map<string, Entry[]>();
  private readonly bySubscription = new Map<string, Entry>();
  private checkpoint: Checkpoint | null = null;
  private readonly waiters = new CheckpointWaiters((a, b) => this.store.compareCheckpoints(a, b));
  private subscription?: Subscription;
  private loaded = false;
  private stopped = false;
  private lastError?: string;
  private lastErrorAt?: number;

  constructor(
    private readonly store: EventStore,
    private readonly logger?: DirectoryLogger,
  ) {}

  /** Reads to the head, then follows the log. Idempotent. */
  async start(): Promise<void> {
    if (this.loaded) return;
    await readToHead(
      this.store,
      this.checkpoint,
      { types: SUBSCRIPTION_EVENT_TYPES, maxCount: CATCH_UP_BATCH },
      (events, at) => this.apply(events, at),
    );
    this.loaded = true;
    this.subscription = this.store.subscribeToAll(this.checkpoint, {
      types: SUBSCRIPTION_EVENT_TYPES,
      onBatch: async (events, checkpoint) => {
        this.apply(events, checkpoint);
        this.lastErrorAt = undefined;
      },
      onError: (error) => {
        this.lastErrorAt = Date.now();
        this.lastError = error.message;
        this.logger?.warn({ err: error }, 'subscription directory error; the store retries');
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.stop();
    this.waiters.releaseAll();
  }

  // Nest lifecycle (the module provides this class through a factory).
  onModuleInit(): Promise<void> {
    return this.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * The customer's subscription in force at `atMs`: started and not ended. Among several (they may
   * overlap), the one that started last. Otherwise why not: none ever, all ended, or one scheduled.
   */
  inForce(tenantId: string, customerId: string, atMs: number): SubscriptionInForce {
    const entries = this.byCustomer.get(customerKey(tenantId, customerId));
    if (entries === undefined) return { reason: 'no_live_subscription' };
    let best: Entry | undefined;
    let scheduled = false;
    for (const entry of entries) {
      if (entry.endsMs !== null && entry.endsMs <= atMs) continue;
      if (entry.startMs > atMs) scheduled = true;
      else if (best === undefined || entry.startMs >= best.startMs) best = entry;
    }
    if (best !== undefined) return { subscription: best };
    return { reason: scheduled ? 'subscription_not_started' : 'subscription_ended' };
  }

  /** The billing period of `subscription` containing `atMs` (remembered until it ends). */
  periodAt(subscription: EntitledSubscription, atMs: number): CachedPeriod {
    const entry = subscription as Entry;
    const cached = entry.period;
    if (cached !== undefined && cached.startMs <= atMs && atMs < cached.endMs) return cached;
    const period = periodContaining(entry.cycle, new Date(Math.max(atMs, entry.startMs)).toISOString());
    entry.period = {
      start: period.start,
      end: period.end_exclusive,
      startMs: Date.parse(period.start),
      endMs: Date.parse(period.end_exclusive),
    };
    return entry.period;
  }

  /** Resolves once the directory has applied `position` (true), or after `timeoutMs` (false). */
  waitFor(position: Checkpoint | null, timeoutMs = 5_000): Promise<boolean> {
    if (this.stopped) return Promise.resolve(true);
    return this.waiters.wait(this.checkpoint, position, timeoutMs);
  }

  status(): SubscriptionDirectoryStatus {
    const failing = this.lastErrorAt !== undefined && Date.now() - this.lastErrorAt < ERROR_MEMORY_MS;
    return {
      loaded: this.loaded,
      live: this.loaded && !this.stopped && !failing,
      checkpoint: this.checkpoint,
      subscriptions: this.bySubscription.size,
      error: failing ? this.lastError : undefined,
    };
  }

  private apply(events: readonly RecordedEvent[], checkpoint: Checkpoint): void {
    for (const event of events) this.applyOne(event);
    if (this.store.compareCheckpoints(checkpoint, this.checkpoint) > 0) this.checkpoint = checkpoint;
    this.releaseWaiters();
  }

  /** Never throws: a malformed event is skipped (the deciders never write one). */
  private applyOne(event: RecordedEvent): void {
    const tenantId = event.metadata?.tenant_id;
    const data = event.data as { subscription_id?: unknown; ends_at?: unknown } | null;
    if (!isText(tenantId) || !isText(data?.subscription_id)) return;
    const id = `${tenantId}:${data.subscription_id}`;
    if (event.type === 'SubscriptionStarted') {
      if (this.bySubscription.has(id)) return; // delivered again: the first start is the subscription
      const entry = entryOf(tenantId, event.data as Partial<SubscriptionStarted['data']>);
      if (entry === undefined) return;
      this.bySubscription.set(id, entry);
      const key = customerKey(tenantId, entry.customerId);
      this.byCustomer.set(key, [...(this.byCustomer.get(key) ?? []), entry]);
      return;
    }
    // SubscriptionCancelled or SubscriptionPlanChanged: the end, recorded once.
    const entry = this.bySubscription.get(id);
    const endsMs = isText(data.ends_at) ? Date.parse(data.ends_at) : NaN;
    if (entry !== undefined && Number.isFinite(endsMs)) entry.endsMs = endsMs;
  }

  private releaseWaiters(): void {
    this.waiters.release(this.checkpoint);
  }
}

function entryOf(tenantId: string, data: Partial<SubscriptionStarted['data']>): Entry | undefined {
  const startMs = isText(data.start_date) ? Date.parse(data.start_date) : NaN;
  const interval = data.billing_interval as BillingInterval;
  if (!isText(data.subscription_id) || !isText(data.customer_id) || !Number.isFinite(startMs)) return undefined;
  if (!BILLING_INTERVALS.includes(interval) || !isText(data.billing_anchor?.at) || !isText(data.timezone))
    return undefined;
  const entitlements = data.entitlements;
  return {
    tenantId,
    subscriptionId: data.subscription_id,
    customerId: data.customer_id,
    planKey: String(data.plan_key),
    planVersion: Number(data.plan_version),
    startMs,
    endsMs: null,
    cycle: { interval, anchor: data.billing_anchor.at, timezone: data.timezone },
    entitlements: typeof entitlements === 'object' && entitlements !== null ? entitlements : {},
  };
}
