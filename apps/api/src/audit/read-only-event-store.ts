import type {
  AppendOptions,
  AppendResult,
  Checkpoint,
  EventStore,
  ReadAllOptions,
  ReadAllResult,
  NewEvent,
  ReadStreamOptions,
  RecordedEvent,
  StreamFieldsEvent,
  StreamFieldsOptions,
  SubscribeOptions,
  Subscription,
} from '#ledger';

type FieldsReader = (stream: string, options: StreamFieldsOptions) => Promise<StreamFieldsEvent[]>;

/**
 * The event store as an audit sees it: reads only, each one counted. Appends and subscriptions throw,
 * so a reproduction can never change the log it checks, and `eventsRead` is exactly what it replayed
 * (what `events_read` reports). Closing it leaves the underlying store open: the caller owns that.
 */
export class ReadOnlyEventStore implements EventStore {
  private read = 0;
  /**
   * The Postgres adapter's lean stream read (PostgresEventStore.readStreamFields), counted like the
   * others; undefined when the underlying store has none (readers fall back to readStream).
   */
  readonly readStreamFields?: FieldsReader;

  constructor(
    private readonly inner: EventStore,
    private readonly onRead?: (eventsRead: number) => void,
  ) {
    const fields = (inner as { readStreamFields?: FieldsReader }).readStreamFields;
    if (typeof fields === 'function') {
      this.readStreamFields = async (stream, options) => this.counted(await fields.call(inner, stream, options));
    }
  }

  get kind(): EventStore['kind'] {
    return this.inner.kind;
  }

  get eventsRead(): number {
    return this.read;
  }

  append(stream: string, _events: readonly NewEvent[], _options?: AppendOptions): Promise<AppendResult> {
    return Promise.reject(new Error(`the audit store is read-only: refused an append to ${stream}`));
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.counted(await this.inner.readStream(stream, options));
  }

  async readAll(from: Checkpoint | null, options?: ReadAllOptions): Promise<ReadAllResult> {
    const result = await this.inner.readAll(from, options);
    this.counted(result.events);
    return result;
  }

  subscribeToAll(_from: Checkpoint | null, _options: SubscribeOptions): Subscription {
    throw new Error('the audit store is read-only: it does not follow the log');
  }

  countAfter(from: Checkpoint | null, limit: number): Promise<number> {
    return this.inner.countAfter(from, limit);
  }

  headCheckpoint(): Promise<Checkpoint | null> {
    return this.inner.headCheckpoint();
  }

  compareCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
    return this.inner.compareCheckpoints(a, b);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  async close(): Promise<void> {
    // The underlying store belongs to the caller.
  }

  private counted<T>(events: T[]): T[] {
    this.read += events.length;
    this.onRead?.(this.read);
    return events;
  }
}
