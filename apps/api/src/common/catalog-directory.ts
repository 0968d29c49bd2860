import { CheckpointWaiters } from './checkpoint-waiters';
import {
  CUSTOMER_STREAM_CATEGORY,
  METRIC_STREAM_CATEGORY,
  evolveMetric,
  isValidCustomerId,
  isValidMetricKey,
  type CustomerArchived,
  type CustomerCreated,
  type Metric,
  type MetricEvent,
} from '#domain';
import {
  StreamNotFoundError,
  streamName,
  type Checkpoint,
  type EventStore,
  type RecordedEvent,
  type Subscription,
} from '#ledger';

/** What ingestion needs to know of a customer. Mutable contact details are deliberately left out. */
export interface CatalogCustomer {
  id: string;
  currency: string;
  timezone: string;
  archived_at: string | null;
}

export interface CatalogDirectoryStatus {
  started: boolean;
  live: boolean;
  checkpoint: Checkpoint | null;
  metrics: number;
  customers: number;
  error?: string;
}

export interface CatalogDirectoryOptions {
  /** How long "no such customer/metric" is remembered (a create anywhere replaces it at once). Default 5 s. */
  absentTtlMs?: number;
  /** Clock, for tests of the absent cache. */
  now?: () => number;
}

interface CatalogLogger {
  warn(details: object, message: string): void;
}

/** The events the directory follows (CustomerUpdated changes nothing it holds). */
export const CATALOG_DIRECTORY_EVENT_TYPES = [
  'MetricCreated',
  'MetricVersionPublished',
  'MetricArchived',
  'CustomerCreated',
  'CustomerArchived',
] as const;

type Kind = 'metric' | 'customer';
interface Entry<T> {
  value: T;
  /** Revision of the last event of the stream folded into `value`. */
  revision: number;
}

const ERROR_MEMORY_MS = 15_000;

/**
 * Metrics and customers in memory, so that usage ingestion validates an event without a database
 * round trip. Lazy: an entry is loaded by reading its one stream the first time it is asked for
 * (so start-up reads nothing of the log, however long it is), then kept current by one live
 * subscription from the head at start. Every entry carries its stream revision, so a stream read
 * and the subscription can deliver the same events in any interleaving and the newest state wins;
 * events for a stream being read meanwhile are buffered and applied after the read.
 *
 * Read-your-writes: a catalog command handler on this replica waits for `waitFor(position)` of what
 * it appended; a create on another replica is found by the stream read on the first miss.
 */
export class CatalogDirectory {
  private readonly metrics = new Map<string, Entry<Metric>>();
  private readonly customers = new Map<string, Entry<CatalogCustomer>>();
  /** Stream -> when the "absent" answer expires. */
  private readonly absent = new Map<string, number>();
  private readonly loading = new Map<string, { buffer: RecordedEvent[]; done: Promise<void> }>();
  private checkpoint: Checkpoint | null = null;
  private readonly waiters = new CheckpointWaiters((a, b) => this.store.compareCheckpoints(a, b));
  private subscription?: Subscription;
  private started = false;
  private stopped = false;
  private lastError?: string;
  private lastErrorAt?: number;
  private readonly absentTtlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly logger?: CatalogLogger,
    options: CatalogDirectoryOptions = {},
  ) {
    this.absentTtlMs = options.absentTtlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Follows the log from its current head (everything before it is read per stream, on demand). */
  async start(): Promise<void> {
    if (this.started) return;
    this.checkpoint = await this.store.headCheckpoint();
    this.started = true;
    this.subscription = this.store.subscribeToAll(this.checkpoint, {
      types: CATALOG_DIRECTORY_EVENT_TYPES,
      onBatch: async (events, checkpoint) => {
        for (const event of events) this.applyLive(event);
        if (this.store.compareCheckpoints(checkpoint, this.checkpoint) > 0) this.checkpoint = checkpoint;
        this.lastErrorAt = undefined;
        this.releaseWaiters();
      },
      onError: (error) => {
        this.lastErrorAt = this.now();
        this.lastError = error.message;
        this.logger?.warn({ err: error }, 'catalog directory subscription error; the store retries');
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

  /** The metric with every version (null: no such metric). Archived metrics are returned, marked. */
  async metric(tenantId: string, key: string): Promise<Metric | null> {
    const known = this.peekMetric(tenantId, key);
    if (known !== undefined) return known;
    const stream = streamName(tenantId, METRIC_STREAM_CATEGORY, key);
    await this.lookup(stream, 'metric');
    return this.metrics.get(stream)?.value ?? null;
  }

  /** The customer (null: no such customer). Archived customers are returned, marked. */
  async customer(tenantId: string, id: string): Promise<CatalogCustomer | null> {
    const known = this.peekCustomer(tenantId, id);
    if (known !== undefined) return known;
    const stream = streamName(tenantId, CUSTOMER_STREAM_CATEGORY, id);
    await this.lookup(stream, 'customer');
    return this.customers.get(stream)?.value ?? null;
  }

  /**
   * From memory only, for the hot path (no promise): the metric, null when known to be absent, or
   * undefined when not loaded yet (then call metric()).
   */
  peekMetric(tenantId: string, key: string): Metric | null | undefined {
    // The stream name as streamName() writes it; the tenant id comes from an authenticated key.
    const stream = `${tenantId}:${METRIC_STREAM_CATEGORY}-${key}`;
    const entry = this.metrics.get(stream);
    if (entry !== undefined) return entry.value;
    return this.knownAbsent(stream, isValidMetricKey(key));
  }

  /** As peekMetric, for customers. */
  peekCustomer(tenantId: string, id: string): CatalogCustomer | null | undefined {
    const stream = `${tenantId}:${CUSTOMER_STREAM_CATEGORY}-${id}`;
    const entry = this.customers.get(stream);
    if (entry !== undefined) return entry.value;
    return this.knownAbsent(stream, isValidCustomerId(id));
  }

  private knownAbsent(stream: string, validName: boolean): null | undefined {
    if (!validName) return null;
    const expires = this.absent.get(stream);
    return expires !== undefined && expires > this.now() ? null : undefined;
  }

  /** Resolves once the directory has applied `position` (true), or after `timeoutMs` (false). */
  waitFor(position: Checkpoint | null, timeoutMs = 5_000): Promise<boolean> {
    if (this.stopped || !this.started) return Promise.resolve(true);
    return this.waiters.wait(this.checkpoint, position, timeoutMs);
  }

  status(): CatalogDirectoryStatus {
    const failing = this.lastErrorAt !== undefined && this.now() - this.lastErrorAt < ERROR_MEMORY_MS;
    return {
      started: this.started,
      live: this.started && !this.stopped && !failing,
      checkpoint: this.checkpoint,
      metrics: this.metrics.size,
      customers: this.customers.size,
      error: failing ? this.lastError : undefined,
    };
  }

  private async lookup(stream: string, kind: Kind): Promise<void> {
    const expires = this.absent.get(stream);
    if (expires !== undefined && expires > this.now()) return;
    const inFlight = this.loading.get(stream);
    if (inFlight) return inFlight.done;
    const load = { buffer: [] as RecordedEvent[], done: Promise.resolve() };
    load.done = this.load(stream, kind, load.buffer).finally(() => this.loading.delete(stream));
    this.loading.set(stream, load);
    return load.done;
  }

  /** Folds the whole stream, then the events the subscription delivered meanwhile. */
  private async load(stream: string, kind: Kind, buffer: RecordedEvent[]): Promise<void> {
    let events: RecordedEvent[];
    try {
      events = await this.store.readStream(stream);
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
      events = [];
    }
    for (const event of events) this.applyToEntry(event, kind, true);
    for (const event of buffer.splice(0)) this.applyToEntry(event, kind, false);
    const known = kind === 'metric' ? this.metrics.has(stream) : this.customers.has(stream);
    if (known) this.absent.delete(stream);
    else this.absent.set(stream, this.now() + this.absentTtlMs);
  }

  /** A live event: applied to a known entry, buffered while its stream is read, or starts an entry. */
  private applyLive(event: RecordedEvent): void {
    const kind: Kind = event.type.startsWith('Metric') ? 'metric' : 'customer';
    const loading = this.loading.get(event.stream);
    if (loading) {
      loading.buffer.push(event);
      return;
    }
    const known = kind === 'metric' ? this.metrics.has(event.stream) : this.customers.has(event.stream);
    // A stream's first event is its whole history: safe to start from. Anything else of a stream
    // never asked for is skipped; its first lookup reads the stream.
    if (known || event.revision === 0) this.applyToEntry(event, kind, false);
  }

  /** Folds one event into its stream's entry unless the entry already holds it (by revision). */
  private applyToEntry(event: RecordedEvent, kind: Kind, fromRead: boolean): void {
    if (kind === 'metric') {
      const entry = this.metrics.get(event.stream);
      if (entry && entry.revision >= event.revision) return;
      if (!entry && !fromRead && event.revision !== 0) return;
      const value = evolveMetric(entry?.value, { type: event.type, data: event.data } as MetricEvent);
      if (value !== undefined) this.metrics.set(event.stream, { value, revision: event.revision });
    } else {
      const entry = this.customers.get(event.stream);
      if (entry && entry.revision >= event.revision) return;
      if (!entry && !fromRead && event.revision !== 0) return;
      const value = evolveCatalogCustomer(entry?.value, event);
      if (value !== undefined) this.customers.set(event.stream, { value, revision: event.revision });
    }
    this.absent.delete(event.stream);
  }

  private releaseWaiters(): void {
    this.waiters.release(this.checkpoint);
  }
}

function evolveCatalogCustomer(
  customer: CatalogCustomer | undefined,
  event: RecordedEvent,
): CatalogCustomer | undefined {
  switch (event.type) {
    case 'CustomerCreated': {
      if (customer) return customer;
      const data = (event as RecordedEvent<CustomerCreated['data']>).data;
      return { id: data.customer_id, currency: data.currency, timezone: data.timezone, archived_at: null };
    }
    case 'CustomerArchived': {
      if (customer === undefined || customer.archived_at !== null) return customer;
      return { ...customer, archived_at: (event as RecordedEvent<CustomerArchived['data']>).data.archived_at };
    }
    default:
      // CustomerUpdated (from a stream read) changes nothing held here; it still advances the revision.
      return customer;
  }
}
