import type { Checkpoint, EventMetadata } from '../event-store';

/**
 * One usage event to record under an idempotency key. The writer knows nothing of usage semantics
 * beyond the key: the caller validated the event, chose its stream and computed `payloadHash`.
 */
export interface UsageAppendItem {
  tenantId: string;
  /** Unique per tenant, forever: the first event with a key is recorded, later ones are not. */
  idempotencyKey: string;
  /** Tells a retry (same hash) from another event reusing the key (different hash). */
  payloadHash: string;
  /** `<tenant>:usage-<customer>-<yyyy-mm>`. */
  stream: string;
  customerId: string;
  metricKey: string;
  /** The event's business time, canonical RFC 3339 UTC (also the event's occurred_at). */
  timestamp: string;
  event: {
    /** uuid; the usage id. */
    id: string;
    type: string;
    data: unknown;
    metadata: EventMetadata;
  };
}

export type UsageAppendOutcome =
  /** Recorded now. `position` is the event's log position (a barrier for exact reads). */
  | { status: 'accepted'; usageId: string; position: Checkpoint | null }
  /** The key was recorded before with the same payload: nothing written; the original id. */
  | { status: 'duplicate'; usageId: string }
  /** The key was recorded before with another payload: nothing written; the existing id. */
  | { status: 'conflict'; usageId: string };

/**
 * Records usage events, deduplicated by key. Outcomes come back in the order of the items, and only
 * once what they say is durable (committed). Two implementations: `UsageGroupCommitWriter` (Postgres:
 * the key is checked and stored in the event's own transaction) and `StoreUsageWriter` (any event
 * store, e.g. KurrentDB: no synchronous check, every item is `accepted`, the projection dedupes).
 */
export interface UsageWriter {
  readonly mode: 'group_commit' | 'event_store';
  append(items: readonly UsageAppendItem[]): Promise<UsageAppendOutcome[]>;
  /** Writes what is queued, then refuses new items. */
  close(): Promise<void>;
}

/** The writer's queue is full: the caller should answer 503 with Retry-After. */
export class UsageWriterOverloadedError extends Error {
  readonly code = 'EVENT.INGESTION_OVERLOADED';
  constructor(readonly queuedEvents: number) {
    super(`${queuedEvents} usage events are waiting to be written; retry shortly`);
    this.name = 'UsageWriterOverloadedError';
  }
}

export class UsageWriterClosedError extends Error {
  readonly code = 'EVENT.INGESTION_CLOSED';
  constructor() {
    super('the usage writer is closed');
    this.name = 'UsageWriterClosedError';
  }
}
