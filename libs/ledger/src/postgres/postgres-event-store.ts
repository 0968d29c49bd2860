import { inTransaction } from '#platform';
import type { ClientBase, Pool } from 'pg';
import {
  StreamNotFoundError,
  type AppendOptions,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type NewEvent,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type Subscription,
} from '../event-store';
import { appendToStream, lockStreams } from './postgres-append';
import { comparePostgresCheckpoints, decodeCheckpoint } from './postgres-checkpoint';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './postgres-event-row';
import { NotificationListener } from './postgres-notification-listener';
import { assertCount, countVisibleAfter, readLogPage, visibleHead } from './postgres-read-all';
import { PostgresSubscription } from './postgres-subscription';

export interface PostgresEventStoreOptions {
  /** LISTEN/NOTIFY channel that wakes live subscriptions at commit. Default `abaxus_events`. */
  notifyChannel?: string;
  /** Longest a subscription at the head waits without a notification. Default 250 ms. */
  pollIntervalMs?: number;
}

export const DEFAULT_NOTIFY_CHANNEL = 'abaxus_events';
const DEFAULT_POLL_INTERVAL_MS = 250;
const LAST_REVISION = '9223372036854775807';

export interface StreamFieldsOptions {
  /** Inclusive, default 0 (forwards only). */
  fromRevision?: number;
  maxCount?: number;
  /** Top-level members of `data` read as text when they are JSON strings; null otherwise (absent, number, object). */
  strings: readonly string[];
  /** Top-level members of `data` as JSON text (parse it yourself); null when absent. */
  json?: readonly string[];
}

/** An event of readStreamFields: its identity and only the members of `data` that were asked for. */
export interface StreamFieldsEvent {
  id: string;
  type: string;
  revision: number;
  position: Checkpoint;
  /** In the order of `strings`. */
  strings: Array<string | null>;
  /** In the order of `json`. */
  json: Array<string | null>;
}

/**
 * The default event store: the `events` and `streams` tables of infra/migrations/0001. See
 * libs/ledger/README.md for the ordering and visibility rule. The pool belongs to the caller:
 * close() stops this store's subscriptions and its LISTEN connection, never the pool.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  private readonly channel: string;
  private readonly pollIntervalMs: number;
  private readonly listener: NotificationListener;
  private readonly subscriptions = new Set<PostgresSubscription>();
  private closed = false;

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.channel = options.notifyChannel ?? DEFAULT_NOTIFY_CHANNEL;
    if (this.channel === '' || Buffer.byteLength(this.channel) > 63) {
      throw new RangeError('notifyChannel must be 1 to 63 bytes (a Postgres identifier)');
    }
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    assertCount('pollIntervalMs', this.pollIntervalMs);
    this.listener = new NotificationListener(pool.options, this.channel);
  }

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    return inTransaction(this.pool, (client) => this.appendWithin(client, stream, events, options));
  }

  /**
   * The append, inside a transaction the caller opened on `client` (group commit: several streams,
   * or events plus other rows, in one transaction). The caller commits or rolls back; subscribers
   * are notified at commit. Keep such transactions short: until it ends, no reader of the global
   * log can see events committed after it started (see the README). Appending to several streams:
   * call lockStreams with all of them first. A transaction that wrote before its first append may
   * get AppendOrderConflictError (roll back and retry it). READ COMMITTED only.
   */
  async appendWithin(
    client: ClientBase,
    stream: string,
    events: readonly NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    return appendToStream(client, stream, events, options.expectedRevision ?? 'any', this.channel);
  }

  /**
   * For a transaction that appends to several streams: lock them all first (see lockStreams in
   * postgres-append.ts), then call appendWithin for each.
   */
  async lockStreams(client: ClientBase, streams: readonly string[]): Promise<void> {
    this.assertOpen();
    await lockStreams(client, streams);
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    const backwards = options.direction === 'backwards';
    if (options.maxCount !== undefined) assertCount('maxCount', options.maxCount);
    const from = options.fromRevision;
    if (from !== undefined && (!Number.isSafeInteger(from) || from < 0)) {
      throw new RangeError(`fromRevision must be an integer >= 0, got ${String(from)}`);
    }
    const result = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events e
        WHERE e.stream = $1 AND ${backwards ? 'e.revision <= $2' : 'e.revision >= $2'}
        ORDER BY e.revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [stream, from ?? (backwards ? LAST_REVISION : 0), options.maxCount ?? null],
    );
    if (result.rowCount === 0) {
      const exists = await this.pool.query('SELECT 1 FROM events WHERE stream = $1 LIMIT 1', [stream]);
      if (exists.rowCount === 0) throw new StreamNotFoundError(stream);
    }
    return result.rows.map(toRecordedEvent);
  }

  /**
   * A Postgres-only fast path for long replays (audits): a stream page, forwards, with only some
   * members of each event's `data`, extracted by the server as text. The client then parses neither
   * the whole jsonb nor the metadata and timestamps: on a million-event usage stream that parsing is
   * most of the read's cost. A stream with no events (or none from `fromRevision`) reads as [].
   * Other adapters have no such method: callers fall back to readStream.
   */
  async readStreamFields(stream: string, options: StreamFieldsOptions): Promise<StreamFieldsEvent[]> {
    this.assertOpen();
    if (options.maxCount !== undefined) assertCount('maxCount', options.maxCount);
    const from = options.fromRevision ?? 0;
    if (!Number.isSafeInteger(from) || from < 0) {
      throw new RangeError(`fromRevision must be an integer >= 0, got ${String(from)}`);
    }
    const json = options.json ?? [];
    const values: unknown[] = [stream, from, options.maxCount ?? null];
    const bind = (name: string) => `$${values.push(name)}::text`;
    const columns = [
      ...options.strings.map((name) => {
        const at = bind(name);
        return `CASE WHEN jsonb_typeof(e.data -> ${at}) = 'string' THEN e.data ->> ${at} END`;
      }),
      ...json.map((name) => `(e.data -> ${bind(name)})::text`),
    ];
    // Fewer columns, less client parsing: the checkpoint is built by the server (encodeCheckpoint's
    // form), and revisions are not sent (a stream's revisions are 0, 1, 2…: row i is from + i).
    const result = await this.pool.query<Array<string | null>>({
      text: `SELECT e.id::text, e.type, e.tx_id::text || '/' || e.position::text${columns.map((c) => `, ${c}`).join('')}
               FROM events e WHERE e.stream = $1 AND e.revision >= $2 ORDER BY e.revision ASC LIMIT $3`,
      values,
      rowMode: 'array',
    });
    const split = 3 + options.strings.length;
    return result.rows.map((row, i) => ({
      id: row[0] as string,
      type: row[1] as string,
      revision: from + i,
      position: row[2] as string,
      strings: row.slice(3, split),
      json: row.slice(split),
    }));
  }

  async readAll(from: Checkpoint | null, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    this.assertOpen();
    const { events, checkpoint, atHead, pending } = await readLogPage(this.pool, from, options);
    return { events, checkpoint, atHead, pending };
  }

  subscribeToAll(from: Checkpoint | null, options: SubscribeOptions): Subscription {
    this.assertOpen();
    decodeCheckpoint(from);
    if (typeof options?.onBatch !== 'function') throw new TypeError('subscribeToAll needs an onBatch function');
    if (options.maxCount !== undefined) assertCount('maxCount', options.maxCount);
    const subscription = new PostgresSubscription(
      from,
      options,
      { readPage: (cp, o) => readLogPage(this.pool, cp, o), compare: (a, b) => this.compareCheckpoints(a, b) },
      this.listener,
      { pollIntervalMs: this.pollIntervalMs },
      (stopped) => this.subscriptions.delete(stopped),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async countAfter(from: Checkpoint | null, limit: number): Promise<number> {
    this.assertOpen();
    return countVisibleAfter(this.pool, from, limit);
  }

  async headCheckpoint(): Promise<Checkpoint | null> {
    this.assertOpen();
    return visibleHead(this.pool);
  }

  compareCheckpoints(a: Checkpoint | null, b: Checkpoint | null): number {
    return comparePostgresCheckpoints(a, b);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
    await this.listener.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the event store is closed');
  }
}
