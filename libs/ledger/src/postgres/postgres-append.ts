import { isDeepStrictEqual } from 'node:util';
import type { ClientBase } from 'pg';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  type AppendResult,
  type ExpectedRevision,
  type NewEvent,
} from '../event-store';
import { START_CHECKPOINT, encodeCheckpoint } from './postgres-checkpoint';

/** An event the store refuses before touching the database (no tenant, bad id, not JSON). */
export class InvalidEventError extends Error {
  readonly code = 'EVENT_STORE.INVALID_EVENT';
  constructor(
    readonly stream: string,
    readonly eventId: string | undefined,
    reason: string,
  ) {
    super(`stream ${stream}${eventId === undefined ? '' : `, event ${eventId}`}: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

interface PreparedEvent {
  id: string;
  type: string;
  tenantId: string;
  /** JSON text, sent as jsonb. */
  data: string;
  metadata: string;
  occurredAt: Date | null;
}

interface ExistingEvent {
  id: string;
  revision: string;
  tx_id: string;
  position: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function prepareEvent(stream: string, event: NewEvent): PreparedEvent {
  if (typeof event !== 'object' || event === null)
    throw new InvalidEventError(stream, undefined, 'an event must be an object');
  const rawId: unknown = event.id;
  const id = typeof rawId === 'string' ? rawId.toLowerCase() : '';
  if (!UUID.test(id)) throw new InvalidEventError(stream, String(rawId), 'id must be a uuid');
  if (typeof event.type !== 'string' || event.type === '') throw new InvalidEventError(stream, id, 'type is required');
  const metadata: unknown = event.metadata;
  const tenantId =
    typeof metadata === 'object' && metadata !== null ? (metadata as { tenant_id?: unknown }).tenant_id : undefined;
  if (typeof tenantId !== 'string' || tenantId === '') {
    throw new InvalidEventError(stream, id, 'metadata.tenant_id is required');
  }
  const data = JSON.stringify(event.data);
  if (data === undefined) throw new InvalidEventError(stream, id, 'data must be JSON-serialisable');
  const occurredAt = event.occurred_at ?? null;
  if (occurredAt !== null && !(occurredAt instanceof Date && !Number.isNaN(occurredAt.getTime()))) {
    throw new InvalidEventError(stream, id, 'occurred_at must be a valid Date');
  }
  return { id, type: event.type, tenantId, data, metadata: JSON.stringify(metadata), occurredAt };
}

/**
 * Validates a batch and collapses repeated ids inside it: the same id twice with the same content
 * is one event (a retry merged into a batch), with different content a conflict.
 */
export function prepareBatch(stream: string, events: readonly NewEvent[]): PreparedEvent[] {
  if (typeof stream !== 'string' || stream === '')
    throw new InvalidEventError(String(stream), undefined, 'stream name is required');
  if (!Array.isArray(events)) throw new InvalidEventError(stream, undefined, 'events must be an array');
  const byId = new Map<string, PreparedEvent>();
  for (const event of events) {
    const prepared = prepareEvent(stream, event);
    const previous = byId.get(prepared.id);
    if (previous === undefined) {
      byId.set(prepared.id, prepared);
    } else if (
      previous.type !== prepared.type ||
      !isDeepStrictEqual(JSON.parse(previous.data), JSON.parse(prepared.data))
    ) {
      throw new EventIdConflictError(stream, prepared.id);
    }
  }
  return [...byId.values()];
}

export function assertExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= -1) return;
  throw new TypeError(
    `expectedRevision must be 'any', 'no_stream', 'exists' or an integer >= -1, got ${String(expected)}`,
  );
}

/** `current` is the revision of the stream's last event, -1 when it has none. */
function ensureExpected(stream: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' ? current === -1 : expected === 'exists' ? current >= 0 : current === expected);
  if (!ok) throw new WrongExpectedRevisionError(stream, expected, current >= 0 ? current : 'no_stream');
}

/**
 * The transaction appending here already had an id older than the one that wrote the stream's last
 * event: its events would sort before that event in the global log. Only `appendWithin` can hit it
 * (a transaction that wrote before appending); roll back and retry the whole transaction.
 */
export class AppendOrderConflictError extends Error {
  readonly code = 'EVENT_STORE.APPEND_ORDER_CONFLICT';
  constructor(readonly stream: string) {
    super(`stream ${stream}: this transaction is older than the one that wrote the stream's last event; retry it`);
    this.name = 'AppendOrderConflictError';
  }
}

/** Namespace of the two-key advisory locks on streams (key 2 = hashtext(stream)). */
export const STREAM_LOCK_NAMESPACE = 4_242_100;

/**
 * Serialises the writers of one stream until commit. An advisory lock, not a row lock: taking it
 * does not assign a transaction id, so a transaction that starts with it gets its id only after
 * the previous writer of the stream committed, and the global order (tx_id, position) keeps every
 * stream in revision order. (A row lock assigns the id first; the waiter that wins the race after a
 * commit may then hold an older id than the one that committed before it.)
 */
async function lockStream(client: ClientBase, stream: string): Promise<void> {
  await client.query({
    name: 'abaxus_stream_lock',
    text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))',
    values: [STREAM_LOCK_NAMESPACE, stream],
  });
}

/**
 * Locks several streams up front, in one statement and in name order, before anything is written:
 * the transaction then gets its id only after every previous writer of those streams committed, so
 * the appends that follow cannot hit AppendOrderConflictError, and two such transactions cannot
 * deadlock on each other. The locks are re-entrant: appendWithin takes them again at no cost.
 */
export async function lockStreams(client: ClientBase, streams: readonly string[]): Promise<void> {
  await client.query(
    `SELECT count(pg_advisory_xact_lock($1, hashtext(s)))
       FROM (SELECT s FROM (SELECT DISTINCT s FROM unnest($2::text[]) AS s) d ORDER BY s COLLATE "C") sorted`,
    [STREAM_LOCK_NAMESPACE, [...streams]],
  );
}

interface StreamState {
  /** Revision of the last event, -1 for none. */
  current: number;
  existing: ExistingEvent[];
  /** The transaction id is older than the last writer's: appending would break the stream's order. */
  olderThanLastWriter: boolean;
}

/**
 * The stream's last revision and which ids of the batch ($2) it holds already. The ids are found by
 * id alone, through the hash index on `events.id` (migration 0011), which holds every event: usage
 * events are left out of the unique (stream, id) index, and a re-appended UsageRecorded must still be
 * found. `OFFSET 0` keeps the stream's condition out of the lookup, so no plan walks the stream's
 * events (a usage stream holds a customer's month, millions of events) to find a void's id.
 */
export const STREAM_STATE_SQL = `
SELECT last.revision::text AS revision, last.tx_id::text AS tx_id,
       pg_current_xact_id_if_assigned()::text AS own_tx_id,
       (SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'revision', e.revision::text,
                                 'tx_id', e.tx_id::text, 'position', e.position::text)), '[]')
          FROM (SELECT id, stream, revision, tx_id, position FROM events WHERE id = ANY($2::uuid[]) OFFSET 0) e
         WHERE e.stream = $1) AS existing
  FROM (SELECT 1) one
  LEFT JOIN (SELECT e.revision, e.tx_id FROM events e WHERE e.stream = $1 ORDER BY e.revision DESC LIMIT 1) last ON true`;

/**
 * Runs after the lock, as its own statement: in READ COMMITTED a statement's snapshot is taken at
 * its start, so this one sees everything the writer we may have waited for committed.
 */
async function readState(client: ClientBase, stream: string, batch: PreparedEvent[]): Promise<StreamState> {
  const state = await client.query<{
    revision: string | null;
    tx_id: string | null;
    own_tx_id: string | null;
    existing: ExistingEvent[];
  }>({
    name: 'abaxus_stream_state',
    text: STREAM_STATE_SQL,
    values: [stream, batch.map((event) => event.id)],
  });
  const row = state.rows[0];
  return {
    current: row.revision === null ? -1 : Number(row.revision),
    existing: row.existing,
    olderThanLastWriter: row.own_tx_id !== null && row.tx_id !== null && BigInt(row.own_tx_id) < BigInt(row.tx_id),
  };
}

/**
 * Which present event ($2, with its type $3 and data $4) differs from the stream's ($1): looked up by
 * id alone, as STREAM_STATE_SQL does. jsonb equality: key order and whitespace do not matter;
 * metadata (request ids) may differ on a retry.
 */
export const CHANGED_CONTENT_SQL = `
SELECT b.id::text AS id FROM unnest($2::uuid[], $3::text[], $4::jsonb[]) AS b(id, type, data)
  CROSS JOIN LATERAL (SELECT x.stream, x.type, x.data FROM events x WHERE x.id = b.id OFFSET 0) e
 WHERE e.stream = $1 AND (e.type <> b.type OR e.data <> b.data) LIMIT 1`;

async function ensureSameContent(client: ClientBase, stream: string, present: PreparedEvent[]): Promise<void> {
  const conflict = await client.query<{ id: string }>(CHANGED_CONTENT_SQL, [
    stream,
    present.map((e) => e.id),
    present.map((e) => e.type),
    present.map((e) => e.data),
  ]);
  if (conflict.rowCount !== 0) throw new EventIdConflictError(stream, conflict.rows[0].id);
}

/**
 * One statement: inserts the batch in order (positions follow revisions), records the stream's
 * revision, and queues the wake-up that live subscribers receive when the transaction commits.
 */
const INSERT_EVENTS = `
WITH batch AS (
  SELECT * FROM unnest($2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::timestamptz[])
    WITH ORDINALITY AS b(id, type, data, metadata, occurred_at, ord)
), inserted AS (
  INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
  SELECT id, $1, $7::bigint + ord, type, metadata->>'tenant_id', data, metadata, coalesce(occurred_at, now())
    FROM batch ORDER BY ord
  RETURNING revision, tx_id, position
), recorded AS (
  INSERT INTO streams (stream, tenant_id, revision) VALUES ($1, $10, $8::bigint)
  ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision
), notified AS (
  SELECT pg_notify($9, '')
)
SELECT i.tx_id::text AS tx_id, i.position::text AS position
  FROM inserted i CROSS JOIN notified ORDER BY i.revision DESC LIMIT 1`;

async function insertEvents(
  client: ClientBase,
  stream: string,
  fresh: PreparedEvent[],
  current: number,
  channel: string,
): Promise<AppendResult> {
  const nextRevision = current + fresh.length;
  // Named: the hot statements are parsed and planned once per connection.
  const inserted = await client.query<{ tx_id: string; position: string }>({
    name: 'abaxus_append_events',
    text: INSERT_EVENTS,
    values: [
      stream,
      fresh.map((e) => e.id),
      fresh.map((e) => e.type),
      fresh.map((e) => e.data),
      fresh.map((e) => e.metadata),
      fresh.map((e) => e.occurredAt),
      current,
      nextRevision,
      channel,
      fresh[0].tenantId,
    ],
  });
  const last = inserted.rows[0];
  return { nextRevision, position: encodeCheckpoint(last.tx_id, last.position) };
}

function resultOf(event: ExistingEvent | undefined): AppendResult {
  return event === undefined
    ? { nextRevision: -1, position: START_CHECKPOINT }
    : { nextRevision: Number(event.revision), position: encodeCheckpoint(event.tx_id, event.position) };
}

/** An empty batch only checks the expectation; nothing is written or notified. */
async function checkOnly(client: ClientBase, stream: string, expected: ExpectedRevision): Promise<AppendResult> {
  const last = await client.query<ExistingEvent>(
    `SELECT e.id::text AS id, e.revision::text AS revision, e.tx_id::text AS tx_id, e.position::text AS position
       FROM events e WHERE e.stream = $1 ORDER BY e.revision DESC LIMIT 1`,
    [stream],
  );
  const row = last.rows[0];
  ensureExpected(stream, expected, row === undefined ? -1 : Number(row.revision));
  return resultOf(row);
}

/**
 * Appends inside the caller's open READ COMMITTED transaction (see PostgresEventStore.appendWithin).
 * Events whose id is already in the stream are skipped; when all of them are, nothing is checked or
 * written and the original result (the last of those events) is returned.
 */
export async function appendToStream(
  client: ClientBase,
  stream: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  channel: string,
): Promise<AppendResult> {
  const batch = prepareBatch(stream, events);
  assertExpectedRevision(expected);
  if (batch.length === 0) return checkOnly(client, stream, expected);
  await lockStream(client, stream);
  const { current, existing, olderThanLastWriter } = await readState(client, stream, batch);
  const present = new Set(existing.map((row) => row.id));
  if (present.size > 0) {
    await ensureSameContent(
      client,
      stream,
      batch.filter((e) => present.has(e.id)),
    );
    if (present.size === batch.length) {
      return resultOf(existing.reduce((a, b) => (BigInt(a.revision) > BigInt(b.revision) ? a : b)));
    }
  }
  ensureExpected(stream, expected, current);
  if (olderThanLastWriter) throw new AppendOrderConflictError(stream);
  const fresh = present.size === 0 ? batch : batch.filter((e) => !present.has(e.id));
  return insertEvents(client, stream, fresh, current, channel);
}
