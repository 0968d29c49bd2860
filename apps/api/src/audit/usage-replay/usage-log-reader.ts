import {
  StreamNotFoundError,
  type Checkpoint,
  type EventStore,
  type RecordedEvent,
  type StreamFieldsEvent,
  type StreamFieldsOptions,
} from '#ledger';

/**
 * Usage streams read for a replay, lean and in pages: only the members of each event's data that
 * counting and metering need, one page ahead of the consumer, cut at `asOf`, and the customer's
 * monthly streams merged into log order as they are read (never all held, never sorted).
 */

/** A usage event as a replay needs it (UsageRecorded or UsageVoided; other types carry nulls). */
export interface UsageLogEvent {
  id: string;
  type: string;
  position: Checkpoint;
  /** The data member when it is a JSON string; null otherwise (absent, a number, an object). */
  usage_id: string | null;
  customer_id: string | null;
  metric_key: string | null;
  idempotency_key: string | null;
  value: string | null;
  timestamp: string | null;
  /** data.properties as JSON text (fast path); null when absent or not read. */
  properties_json: string | null;
  /** data.properties itself (generic path); undefined when absent or not read. */
  properties?: unknown;
}

/** One page of one stream: where it starts, so that it can be read again exactly (voids, see StreamingUsage). */
export interface UsagePage {
  /** 0-based, in the order pages are consumed. */
  index: number;
  stream: string;
  fromRevision: number;
  events: UsageLogEvent[];
}

const STRING_FIELDS = ['usage_id', 'customer_id', 'metric_key', 'idempotency_key', 'value', 'timestamp'] as const;

/** The Postgres adapter's fast path (readStreamFields), when the store (or the audit wrapper) has it. */
interface FieldsReader {
  readStreamFields(stream: string, options: StreamFieldsOptions): Promise<StreamFieldsEvent[]>;
}

function hasFieldsReader(store: EventStore): store is EventStore & FieldsReader {
  return typeof (store as Partial<FieldsReader>).readStreamFields === 'function';
}

export type PageSource = (stream: string, fromRevision: number, maxCount: number) => Promise<UsageLogEvent[]>;

/** How pages are read: the lean fast path when the store offers it, readStream (any adapter) otherwise. */
export function usagePageSource(store: EventStore, withProperties: boolean): PageSource {
  if (hasFieldsReader(store)) {
    const json = withProperties ? ['properties'] : [];
    return async (stream, fromRevision, maxCount) =>
      (await store.readStreamFields(stream, { fromRevision, maxCount, strings: STRING_FIELDS, json })).map((event) =>
        fromFields(event, withProperties),
      );
  }
  return async (stream, fromRevision, maxCount) => {
    try {
      return (await store.readStream(stream, { fromRevision, maxCount })).map(usageLogEventOf);
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  };
}

function fromFields(event: StreamFieldsEvent, withProperties: boolean): UsageLogEvent {
  const [usage_id, customer_id, metric_key, idempotency_key, value, timestamp] = event.strings;
  return {
    id: event.id,
    type: event.type,
    position: event.position,
    usage_id,
    customer_id,
    metric_key,
    idempotency_key,
    value,
    timestamp,
    properties_json: withProperties ? event.json[0] : null,
  };
}

/** A recorded event as a replay reads it through the generic port (readStream). */
export function usageLogEventOf(event: Pick<RecordedEvent, 'id' | 'type' | 'position' | 'data'>): UsageLogEvent {
  const data = typeof event.data === 'object' && event.data !== null && !Array.isArray(event.data) ? event.data : {};
  const text = (name: string) => {
    const value = (data as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : null;
  };
  return {
    id: event.id,
    type: event.type,
    position: event.position,
    usage_id: text('usage_id'),
    customer_id: text('customer_id'),
    metric_key: text('metric_key'),
    idempotency_key: text('idempotency_key'),
    value: text('value'),
    timestamp: text('timestamp'),
    properties_json: null,
    properties: (data as Record<string, unknown>).properties,
  };
}

/** data.properties of an event, parsed (JSON text) or as read; undefined when absent. */
export function propertiesOf(event: UsageLogEvent): unknown {
  if (event.properties !== undefined) return event.properties;
  return event.properties_json === null ? undefined : JSON.parse(event.properties_json);
}

interface StreamPage {
  fromRevision: number;
  events: UsageLogEvent[];
  /** The stream has nothing more that counts (short page, or the page crossed asOf). */
  last: boolean;
}

/** Pages requested ahead of the one being consumed: the server reads while the replay counts. */
const READ_AHEAD_PAGES = 2;

/**
 * One stream read forwards in pages of fixed revision ranges, READ_AHEAD_PAGES requested ahead of
 * the page being consumed (revisions never change, so a page read early is the page read late).
 */
class StreamCursor {
  private readonly ahead: Array<Promise<StreamPage>> = [];
  private nextRevision = 0;
  private ended = false;

  constructor(
    readonly stream: string,
    private readonly source: PageSource,
    private readonly compare: (a: Checkpoint, b: Checkpoint | null) => number,
    private readonly asOf: Checkpoint | null | undefined,
    private readonly pageSize: number,
  ) {
    this.topUp();
  }

  /** The next page, or null at the end. */
  async take(): Promise<StreamPage | null> {
    const next = this.ahead.shift();
    if (next === undefined || this.ended) return null;
    const page = await next;
    if (page.last) {
      // Pages requested beyond the end are dropped (their failures are handled in fetch).
      this.ended = true;
      this.ahead.length = 0;
    } else this.topUp();
    return page;
  }

  private topUp(): void {
    while (this.ahead.length < 1 + READ_AHEAD_PAGES) {
      this.ahead.push(this.fetch(this.nextRevision));
      this.nextRevision += this.pageSize;
    }
  }

  private fetch(fromRevision: number): Promise<StreamPage> {
    const pending = this.source(this.stream, fromRevision, this.pageSize).then((events) =>
      this.cut(fromRevision, events),
    );
    // Read ahead: if the replay fails before it asks for this page, its failure must not go unhandled.
    pending.catch(() => undefined);
    return pending;
  }

  /**
   * Stream order is log order: only the last page can cross asOf, and only its tail lies past it.
   * asOf null is the empty log (every event lies past it), as readStreamAsOf reads it.
   */
  private cut(fromRevision: number, events: UsageLogEvent[]): StreamPage {
    const short = events.length < this.pageSize;
    const asOf = this.asOf;
    if (asOf === undefined || events.length === 0) return { fromRevision, events, last: short };
    if (this.compare(events[events.length - 1].position, asOf) <= 0) return { fromRevision, events, last: short };
    let low = 0;
    let high = events.length - 1; // events[high] is past asOf
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.compare(events[middle].position, asOf) > 0) high = middle;
      else low = middle + 1;
    }
    return { fromRevision, events: events.slice(0, low), last: true };
  }
}

/** Where a page was read from, kept after its events are gone: enough to read it again. */
export interface PageSpan {
  stream: string;
  fromRevision: number;
  count: number;
}

export interface MergedReadOptions {
  store: EventStore;
  streams: readonly string[];
  source: PageSource;
  asOf: Checkpoint | null | undefined;
  pageSize: number;
  /** Each event, in log order, with its page and its offset in the page. */
  onEvent(event: UsageLogEvent, page: UsagePage, offset: number): void;
  /** A page whose events have all been passed to onEvent. */
  onPageDone(page: UsagePage): void;
}

interface Head {
  cursor: StreamCursor;
  page: UsagePage;
  offset: number;
}

/**
 * The streams' events merged into log order (each stream's own order is log order), page by page.
 * Positions are compared only where two streams interleave. Returns where each page was read, by index.
 */
export async function readMergedInLogOrder(options: MergedReadOptions): Promise<PageSpan[]> {
  const { store, source, asOf, pageSize, onEvent, onPageDone } = options;
  const compare = (a: Checkpoint, b: Checkpoint | null) => store.compareCheckpoints(a, b);
  const pages: PageSpan[] = [];
  const advance = async (cursor: StreamCursor): Promise<Head | null> => {
    for (;;) {
      const read = await cursor.take();
      if (read === null) return null;
      const page: UsagePage = { index: pages.length, stream: cursor.stream, ...read };
      pages.push({ stream: page.stream, fromRevision: page.fromRevision, count: page.events.length });
      if (page.events.length > 0) return { cursor, page, offset: 0 };
      onPageDone(page);
    }
  };
  const cursors = options.streams.map((stream) => new StreamCursor(stream, source, compare, asOf, pageSize));
  let heads = (await Promise.all(cursors.map(advance))).filter((head): head is Head => head !== null);
  while (heads.length > 0) {
    heads.sort((a, b) => compare(a.page.events[a.offset].position, b.page.events[b.offset].position));
    const [head] = heads;
    // Everything of the earliest stream before the next stream's head comes first, without comparing
    // each event when the whole rest of the page does.
    const bound = heads.length > 1 ? heads[1].page.events[heads[1].offset].position : null;
    const { events } = head.page;
    const end =
      bound === null || compare(events[events.length - 1].position, bound) < 0
        ? events.length
        : events.findIndex((event, i) => i >= head.offset && compare(event.position, bound) > 0);
    if (end <= head.offset) throw new Error(`${head.page.stream}: events out of log order`);
    for (let i = head.offset; i < end; i++) onEvent(events[i], head.page, i);
    head.offset = end;
    if (head.offset < events.length) continue;
    onPageDone(head.page);
    const next = await advance(head.cursor);
    heads = next === null ? heads.slice(1) : [next, ...heads.slice(1)];
  }
  return pages;
}
