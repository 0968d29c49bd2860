/**
 * The event store port. Two adapters implement it (Postgres, KurrentDB) and both must pass
 * the contract suite in `testing/event-store.contract.ts`.
 */

/** Who issued the command that produced an event, and why (DESIGN.md section 4). */
export interface EventMetadata {
  tenant_id: string;
  /** API key id (`key_…`), `cli:<user>`, or `system:<component>`. */
  actor: string;
  request_id?: string;
  causation_id?: string;
  correlation_id?: string;
  [extra: string]: unknown;
}

export interface NewEvent<T = unknown> {
  /** uuid chosen by the writer; re-appending an id already in the stream is a no-op. */
  id: string;
  /** PascalCase, past tense: `UsageRecorded`. */
  type: string;
  /** JSON-serialisable. Decimals travel as strings. */
  data: T;
  metadata: EventMetadata;
  /** Business time; defaults to the append time. */
  occurred_at?: Date;
}

/** Opaque, totally ordered, comparable only through the store that produced it. */
export type Checkpoint = string;

export interface RecordedEvent<T = unknown> {
  id: string;
  type: string;
  stream: string;
  /** 0-based position inside its stream. */
  revision: number;
  /** Global position in the log (opaque). Reading all from it resumes after this event. */
  position: Checkpoint;
  data: T;
  metadata: EventMetadata;
  occurred_at: Date;
  recorded_at: Date;
}

export type ExpectedRevision = 'any' | 'no_stream' | 'exists' | number;

export interface AppendOptions {
  /** Default `any`. A number is the revision of the stream's last event. */
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append. */
  nextRevision: number;
  /** Position of the last appended event (or of the existing one, for an idempotent re-append). */
  position: Checkpoint;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Forwards default 0; backwards default the end. */
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Default 1000. */
  maxCount?: number;
  /** Only these event types (the checkpoint still advances past the others). */
  types?: readonly string[];
  /**
   * Every type but these (the checkpoint still advances past them); with `types`, the types listed
   * there minus these. For a reader that wants all but the bulk of the log (usage): the skipped
   * events' rows are not sent, and a page may be empty while the checkpoint moves.
   */
  excludeTypes?: readonly string[];
}

export interface ReadAllResult {
  events: RecordedEvent[];
  /**
   * Resume from here; compares equal to `from` when nothing new was visible (from null, the
   * adapter's start checkpoint, which compares equal to null).
   */
  checkpoint: Checkpoint;
  /** True when the reader reached the current head (nothing more visible right now). */
  atHead: boolean;
  /**
   * Committed events exist that are not visible yet (an older transaction is still open; Postgres
   * adapter). A reader that must include everything committed before it started reads again.
   */
  pending?: boolean;
}

export interface SubscribeOptions extends ReadAllOptions {
  /**
   * Called with each batch, in log order; the next batch waits for the promise. With `types` or
   * `excludeTypes`, a batch may be empty: the filter skipped events, and the checkpoint moved past
   * them (persist it).
   */
  onBatch(events: RecordedEvent[], checkpoint: Checkpoint): Promise<void>;
  onError?(error: Error): void;
  /**
   * Live, at the head: read again at most this often (ms), so appends that come faster are taken
   * together in one batch instead of one read each. Catching up never waits. Default 0. The
   * Postgres store honours it; KurrentDB pushes its events and ignores it.
   */
  minIntervalMs?: number;
}

export interface Subscription {
  /** Stops after the batch in flight; resolves when stopped. */
  stop(): Promise<void>;
}

export interface EventStore {
  readonly kind: 'postgres' | 'kurrentdb';
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Throws StreamNotFoundError for a stream with no events. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events after `from` (null: from the beginning), in log order. */
  readAll(from: Checkpoint | null, options?: ReadAllOptions): Promise<ReadAllResult>;
  /** Catch up from `from`, then follow live appends, until stopped. */
  subscribeToAll(from: Checkpoint | null, options: SubscribeOptions): Subscription;
  /** Events visible after `from`, counting at most `limit` (projector lag; cheap when the lag is small). */
  countAfter(from: Checkpoint | null, limit: number): Promise<number>;
  /** Checkpoint of the last event every reader can see now (null: empty log). */
  headCheckpoint(): Promise<Checkpoint | null>;
  /** Negative, zero or positive, as `a` is before, equal to or after `b`. Null is before all. */
  compareCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number;
  /** Reachability, for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'EVENT_STORE.WRONG_EXPECTED_REVISION';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

export class StreamNotFoundError extends Error {
  readonly code = 'EVENT_STORE.STREAM_NOT_FOUND';
  constructor(readonly stream: string) {
    super(`stream ${stream} not found`);
    this.name = 'StreamNotFoundError';
  }
}

/** The same event id was appended to a stream with a different type or data. */
export class EventIdConflictError extends Error {
  readonly code = 'EVENT_STORE.EVENT_ID_CONFLICT';
  constructor(
    readonly stream: string,
    readonly eventId: string,
  ) {
    super(`stream ${stream}: event ${eventId} already exists with different content`);
    this.name = 'EventIdConflictError';
  }
}
