import type { PoolClient } from 'pg';
import { USAGE_RECORDED, USAGE_VOIDED, type UsageRecordedData, type UsageVoidedData } from '#domain';
import type { RecordedEvent } from '#ledger';

/** One raw usage row as the `usage_events` table holds it (and as the bucket derivation reads it). */
export interface UsageRow {
  tenant_id: string;
  usage_id: string;
  customer_id: string;
  metric_key: string;
  ts: Date;
  value: string;
  properties: Record<string, unknown>;
  recorded_at: Date;
}

/** A row of `usage_events` a void just marked (so its buckets can be corrected). */
export type VoidedRow = UsageRow;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** numeric(20,10): 10 integer digits, 10 decimals. A value outside it would fail the whole batch. */
const DECIMAL_20_10 = /^-?\d{1,10}(\.\d{1,10})?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validInstant(raw: unknown): raw is string {
  return typeof raw === 'string' && !Number.isNaN(Date.parse(raw));
}

/**
 * The UsageRecorded data of an event, or null when it cannot be stored (a projection never throws
 * on an event: a malformed one is skipped rather than blocking every later batch).
 */
function recordedData(event: RecordedEvent): (UsageRecordedData & { usage_id: string }) | null {
  const data = event.data as Partial<UsageRecordedData> | null;
  if (!isRecord(data)) return null;
  const usageId = typeof data.usage_id === 'string' ? data.usage_id : event.id;
  if (!UUID.test(usageId)) return null;
  if (typeof data.customer_id !== 'string' || typeof data.metric_key !== 'string') return null;
  if (typeof data.idempotency_key !== 'string' || typeof data.value !== 'string') return null;
  if (!DECIMAL_20_10.test(data.value) || !validInstant(data.timestamp)) return null;
  return {
    ...(data as UsageRecordedData),
    usage_id: usageId.toLowerCase(),
    properties: isRecord(data.properties) ? data.properties : {},
    source: data.source ?? 'ingest',
  } as UsageRecordedData & { usage_id: string };
}

/**
 * Inserts the batch's UsageRecorded events into `usage_events`, in log order. The dedupe is the
 * primary key (tenant_id, idempotency_key) with ON CONFLICT DO NOTHING: the first event with a key
 * in log order counts, every later one is ignored (a KurrentDB log may hold a duplicate; a replay
 * re-reads events already stored). Returns only the rows actually inserted: those, and nothing
 * else, are what the pre-aggregated buckets must add.
 *
 * `nextLogPosition` is the first `log_position` to hand out; every UsageRecorded of the batch takes
 * the next one, in log order (so a duplicate leaves a gap).
 */
export async function insertUsageEvents(
  client: PoolClient,
  table: string,
  events: readonly RecordedEvent[],
  nextLogPosition: bigint,
): Promise<{ inserted: UsageRow[]; positionsUsed: number }> {
  const seenKeys = new Set<string>();
  const seenIds = new Set<string>();
  const rows: Array<{ event: RecordedEvent; data: UsageRecordedData & { usage_id: string }; position: bigint }> = [];
  let position = nextLogPosition;
  for (const event of events) {
    if (event.type !== USAGE_RECORDED) continue;
    // Every UsageRecorded takes a number, stored or not: positions then depend on the log alone,
    // never on where batches happen to split it (a rebuild gives every row the same number).
    const eventPosition = position;
    position += 1n;
    const data = recordedData(event);
    if (data === null) continue;
    const tenant = event.metadata.tenant_id;
    const key = JSON.stringify([tenant, data.idempotency_key]);
    const id = JSON.stringify([tenant, data.usage_id]);
    // Later duplicates inside one batch lose here already; across batches the primary key decides.
    if (seenKeys.has(key) || seenIds.has(id)) continue;
    seenKeys.add(key);
    seenIds.add(id);
    rows.push({ event, data, position: eventPosition });
  }
  const positionsUsed = Number(position - nextLogPosition);
  if (rows.length === 0) return { inserted: [], positionsUsed };
  const result = await client.query<UsageRow>(
    `INSERT INTO ${table} (tenant_id, usage_id, idempotency_key, customer_id, metric_key, ts, value, properties,
                           recorded_at, log_position, source)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                          $7::numeric[], $8::jsonb[], $9::timestamptz[], $10::bigint[], $11::text[])
     ON CONFLICT DO NOTHING
     RETURNING tenant_id, usage_id, customer_id, metric_key, ts, value, properties, recorded_at`,
    [
      rows.map((r) => r.event.metadata.tenant_id),
      rows.map((r) => r.data.usage_id),
      rows.map((r) => r.data.idempotency_key),
      rows.map((r) => r.data.customer_id),
      rows.map((r) => r.data.metric_key),
      rows.map((r) => r.data.timestamp),
      rows.map((r) => r.data.value),
      rows.map((r) => JSON.stringify(r.data.properties)),
      rows.map((r) => r.event.recorded_at),
      rows.map((r) => r.position.toString()),
      rows.map((r) => r.data.source),
    ],
  );
  return { inserted: result.rows, positionsUsed };
}

/**
 * Applies the batch's UsageVoided events: sets voided_at (the void's log time, so a rebuild writes
 * the same value) and void_reason on rows not voided yet. Read models may be updated; events never
 * are. A void of an id the table does not hold (a duplicate that never counted) changes nothing.
 * Returns the rows this call voided.
 */
export async function applyVoids(
  client: PoolClient,
  table: string,
  events: readonly RecordedEvent[],
): Promise<VoidedRow[]> {
  const seen = new Set<string>();
  const voids: Array<{ tenant: string; usageId: string; at: Date; reason: string }> = [];
  for (const event of events) {
    if (event.type !== USAGE_VOIDED) continue;
    const data = event.data as Partial<UsageVoidedData> | null;
    if (!isRecord(data) || typeof data.usage_id !== 'string' || !UUID.test(data.usage_id)) continue;
    const tenant = event.metadata.tenant_id;
    const key = JSON.stringify([tenant, data.usage_id.toLowerCase()]);
    if (seen.has(key)) continue;
    seen.add(key);
    voids.push({
      tenant,
      usageId: data.usage_id.toLowerCase(),
      at: event.recorded_at,
      reason: typeof data.reason === 'string' ? data.reason : '',
    });
  }
  if (voids.length === 0) return [];
  const result = await client.query<VoidedRow>(
    `UPDATE ${table} AS u SET voided_at = v.at, void_reason = v.reason
       FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[]) AS v(tenant_id, usage_id, at, reason)
      WHERE u.tenant_id = v.tenant_id AND u.usage_id = v.usage_id AND u.voided_at IS NULL
     RETURNING u.tenant_id, u.usage_id, u.customer_id, u.metric_key, u.ts, u.value, u.properties, u.recorded_at`,
    [voids.map((v) => v.tenant), voids.map((v) => v.usageId), voids.map((v) => v.at), voids.map((v) => v.reason)],
  );
  return result.rows;
}
