import { rollbackOrDrop } from '#platform';
import type { ClientBase, Pool } from 'pg';
import type { EventStore, NewEvent } from '../event-store';
import { appendToStream, lockStreams } from '../postgres/postgres-append';
import { DEFAULT_NOTIFY_CHANNEL } from '../postgres/postgres-event-store';

/** Where a recorded usage event lives, from its key row (Postgres mode: written with the event). */
export interface UsageKeyRecord {
  tenantId: string;
  usageId: string;
  idempotencyKey: string;
  customerId: string;
  metricKey: string;
  /** Canonical RFC 3339 UTC, exactly as in the event. */
  timestamp: string;
}

export interface UsageVoidRecord {
  usageId: string;
  reason: string;
  voidEventId: string;
  actor: string;
  voidedAt: Date;
}

export interface VoidUsageInput {
  tenantId: string;
  usageId: string;
  /** The usage event's stream: the UsageVoided event goes next to it. */
  stream: string;
  /** The UsageVoided event (its id should be derived from the usage id: a retried append is a no-op). */
  event: NewEvent;
  reason: string;
  actor: string;
}

export interface VoidUsageResult {
  /** False when the event was voided before: nothing was written, `void` is the first void. */
  created: boolean;
  void: UsageVoidRecord;
}

export async function findUsageKey(
  db: Pool | ClientBase,
  tenantId: string,
  usageId: string,
): Promise<UsageKeyRecord | null> {
  const result = await db.query<{ idempotency_key: string; customer_id: string; metric_key: string; ts: string }>(
    `SELECT idempotency_key, customer_id, metric_key, ts FROM usage_idempotency WHERE tenant_id = $1 AND usage_id = $2`,
    [tenantId, usageId],
  );
  const row = result.rows[0];
  if (row === undefined) return null;
  return {
    tenantId,
    usageId,
    idempotencyKey: row.idempotency_key,
    customerId: row.customer_id,
    metricKey: row.metric_key,
    timestamp: row.ts,
  };
}

export async function readUsageVoid(
  db: Pool | ClientBase,
  tenantId: string,
  usageId: string,
): Promise<UsageVoidRecord | null> {
  const result = await db.query<VoidRow>(
    `SELECT reason, void_event_id::text AS void_event_id, actor, voided_at FROM usage_voids
      WHERE tenant_id = $1 AND usage_id = $2`,
    [tenantId, usageId],
  );
  const row = result.rows[0];
  return row === undefined ? null : toRecord(usageId, row);
}

const INSERT_VOID = `INSERT INTO usage_voids (tenant_id, usage_id, reason, void_event_id, actor)
  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, usage_id) DO NOTHING
  RETURNING reason, void_event_id::text AS void_event_id, actor, voided_at`;

/**
 * voided_at is the void event's log time: what the usage projection shows as voided_at too. The event
 * is found by id (the hash index on events.id), never by walking its stream's usage events.
 */
const INSERT_VOID_OF_EVENT = `INSERT INTO usage_voids (tenant_id, usage_id, reason, void_event_id, actor, voided_at)
  SELECT $1, $2, $3, e.id, $5, e.recorded_at FROM (SELECT id, stream, recorded_at FROM events WHERE id = $4 OFFSET 0) e
   WHERE e.stream = $6
  RETURNING reason, void_event_id::text AS void_event_id, actor, voided_at`;

/**
 * Postgres mode: the UsageVoided event and its row in one transaction, the stream locked first (as
 * libs/ledger/README.md requires before other writes). Every void of an event targets the event's
 * own stream, so the lock also serialises voids of the same event: the second one, even a
 * concurrent one, finds the first's row, writes nothing and answers with the first void.
 */
export async function voidUsageInPostgres(
  pool: Pool,
  input: VoidUsageInput,
  notifyChannel = DEFAULT_NOTIFY_CHANNEL,
): Promise<VoidUsageResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await lockStreams(client, [input.stream]);
    const existing = await readUsageVoid(client, input.tenantId, input.usageId);
    if (existing !== null) {
      await client.query('COMMIT');
      return { created: false, void: existing };
    }
    await appendToStream(client, input.stream, [input.event], 'any', notifyChannel);
    const inserted = await client.query<VoidRow>(INSERT_VOID_OF_EVENT, [
      input.tenantId,
      input.usageId,
      input.reason,
      input.event.id,
      input.actor,
      input.stream,
    ]);
    await client.query('COMMIT');
    return { created: true, void: toRecord(input.usageId, inserted.rows[0]) };
  } catch (error) {
    broken = await rollbackOrDrop(client, error);
    throw error;
  } finally {
    client.release(broken);
  }
}

interface VoidRow {
  reason: string;
  void_event_id: string;
  actor: string;
  voided_at: Date;
}

function toRecord(usageId: string, row: VoidRow): UsageVoidRecord {
  return { usageId, reason: row.reason, voidEventId: row.void_event_id, actor: row.actor, voidedAt: row.voided_at };
}

/**
 * Any event store (KurrentDB mode): no transaction spans the store and Postgres, so the event is
 * appended first (idempotent by its derived id), then the row recorded; a crash in between is
 * repaired by the next void of the same event, which appends the same event id again (a no-op).
 */
export async function voidUsageThroughStore(
  store: EventStore,
  pool: Pool,
  input: VoidUsageInput,
): Promise<VoidUsageResult> {
  const existing = await readUsageVoid(pool, input.tenantId, input.usageId);
  if (existing !== null) return { created: false, void: existing };
  await store.append(input.stream, [input.event]);
  const inserted = await pool.query<{ reason: string; void_event_id: string; actor: string; voided_at: Date }>(
    INSERT_VOID,
    [input.tenantId, input.usageId, input.reason, input.event.id, input.actor],
  );
  const row = inserted.rows[0];
  if (row !== undefined) {
    return {
      created: true,
      void: {
        usageId: input.usageId,
        reason: row.reason,
        voidEventId: row.void_event_id,
        actor: row.actor,
        voidedAt: row.voided_at,
      },
    };
  }
  const first = await readUsageVoid(pool, input.tenantId, input.usageId);
  return { created: false, void: first! };
}
