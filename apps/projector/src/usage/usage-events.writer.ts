import type { PoolClient } from 'pg';
import {
  USAGE_RECORDED,
  USAGE_VOIDED,
  isInstant,
  jsonbRowsDocument,
  jsonbRowsSql,
  type JsonbRowColumn,
  type SqlParams,
  type UsageRecordedData,
  type UsageVoidedData,
} from '#domain';
import type { RecordedEvent } from '#ledger';

/** The columns of a `usage_events` row the bucket derivation reads. */
export interface UsageRow {
  tenant_id: string;
  usage_id: string;
  customer_id: string;
  metric_key: string;
  ts: Date;
  value: string;
  properties: Record<string, unknown>;
}

/** A row of `usage_events` a void just marked (so its buckets can be corrected). */
export type VoidedRow = Pick<UsageRow, 'tenant_id' | 'usage_id' | 'customer_id' | 'metric_key'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** numeric(20,10): 10 integer digits, 10 decimals. A value outside it would fail the whole batch. */
const DECIMAL_20_10 = /^-?\d{1,10}(\.\d{1,10})?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
  if (!DECIMAL_20_10.test(data.value) || !isInstant(data.timestamp)) return null;
  return {
    ...(data as UsageRecordedData),
    usage_id: usageId.toLowerCase(),
    properties: isRecord(data.properties) ? data.properties : {},
    source: data.source ?? 'ingest',
  } as UsageRecordedData & { usage_id: string };
}

export interface PreparedUsage {
  /**
   * The batch's storable UsageRecorded events, in log order, later duplicates inside the batch
   * removed. `offset`: the event's place among the batch's UsageRecorded events (0-based), so its
   * log_position is the batch's first position plus `offset`.
   */
  rows: Array<{ event: RecordedEvent; data: UsageRecordedData & { usage_id: string }; offset: number }>;
  /** log_position numbers consumed (one per UsageRecorded of the batch, stored or not). */
  positionsUsed: number;
  /** The rows as the `input` CTE's jsonb document (usageInputSql), built once. */
  document: string;
}

/**
 * The batch's UsageRecorded events to insert, in log order, and their jsonb document: no database,
 * so the runner can do it while the previous batch still runs (Projection.prepare). Every
 * UsageRecorded of the batch takes the next log_position, valid or not, duplicate or not, so numbers
 * depend on the log alone, never on where batches split it (a rebuild gives every row the same
 * number; a duplicate leaves a gap); the first one is read in the batch's transaction.
 */
export function prepareUsageRows(events: readonly RecordedEvent[]): PreparedUsage {
  const seenKeys = new Set<string>();
  const seenIds = new Set<string>();
  const rows: PreparedUsage['rows'] = [];
  let offset = 0;
  for (const event of events) {
    if (event.type !== USAGE_RECORDED) continue;
    const eventOffset = offset;
    offset += 1;
    const data = recordedData(event);
    if (data === null) continue;
    const tenant = event.metadata.tenant_id;
    const key = JSON.stringify([tenant, data.idempotency_key]);
    const id = JSON.stringify([tenant, data.usage_id]);
    // Later duplicates inside one batch lose here already; across batches the primary key decides.
    if (seenKeys.has(key) || seenIds.has(id)) continue;
    seenKeys.add(key);
    seenIds.add(id);
    rows.push({ event, data, offset: eventOffset });
  }
  return { rows, positionsUsed: offset, document: jsonbRowsDocument(INPUT_COLUMNS, rows) };
}

/** Columns the bucket derivation reads from an inserted or voided row. */
export const USAGE_ROW_COLUMNS = 'tenant_id, usage_id, customer_id, metric_key, ts, value, properties';

type PreparedRow = PreparedUsage['rows'][number];

/** What json_to_recordset made of any JSON value in a text column: a string as it is, else its JSON text. */
function textOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The columns of the `input` CTE, in the order of each row's values. */
const INPUT_COLUMNS: ReadonlyArray<JsonbRowColumn<PreparedRow>> = [
  { name: 'tenant_id', type: 'text', value: (r) => r.event.metadata.tenant_id },
  { name: 'usage_id', type: 'uuid', value: (r) => r.data.usage_id },
  { name: 'idempotency_key', type: 'text', value: (r) => r.data.idempotency_key },
  { name: 'customer_id', type: 'text', value: (r) => r.data.customer_id },
  { name: 'metric_key', type: 'text', value: (r) => r.data.metric_key },
  { name: 'ts', type: 'timestamptz', value: (r) => r.data.timestamp },
  { name: 'value', type: 'numeric', value: (r) => r.data.value },
  { name: 'properties', type: 'jsonb', value: (r) => r.data.properties },
  { name: 'recorded_at', type: 'timestamptz', value: (r) => r.event.recorded_at.toISOString() },
  { name: 'log_offset', type: 'bigint', value: (r) => r.offset },
  { name: 'source', type: 'text', value: (r) => textOf(r.data.source) },
  { name: 'actor', type: 'text', value: (r) => String(r.event.metadata.actor ?? '') },
  { name: 'request_id', type: 'text', value: (r) => textOf(r.event.metadata.request_id) },
];

/**
 * The prepared rows as ONE jsonb parameter (jsonbRowsSql: the server parses it once; each event's
 * properties come out as jsonb), the body of a CTE named `input`, with each event's actor and request
 * id too, and its `log_position`: `firstPosition` (the batch's first, from `usage_log`) plus its offset.
 */
export function usageInputSql(params: SqlParams, prepared: PreparedUsage, firstPosition: bigint): string {
  const first = params.add(firstPosition.toString(), 'bigint');
  const rows = jsonbRowsSql(params.add(prepared.document, 'jsonb'), INPUT_COLUMNS);
  return `SELECT d.*, ${first} + d.log_offset AS log_position FROM (${rows}) d`;
}

/**
 * `INSERT … RETURNING` of the rows of the `input` CTE (usageInputSql). The dedupe is the primary key
 * (tenant_id, idempotency_key) with ON CONFLICT DO NOTHING: the first event with a key in log order
 * counts, every later one is ignored (a KurrentDB log may hold a duplicate; a replay re-reads events
 * already stored). It RETURNS only the rows actually inserted: those, and nothing else, are what the
 * pre-aggregated buckets must add.
 */
export function usageInsertSql(table: string): string {
  return `INSERT INTO ${table} (tenant_id, usage_id, idempotency_key, customer_id, metric_key, ts, value, properties,
                               recorded_at, log_position, source)
     SELECT tenant_id, usage_id, idempotency_key, customer_id, metric_key, ts, value, properties, recorded_at,
            log_position, source
       FROM input
     ON CONFLICT DO NOTHING
     RETURNING ${USAGE_ROW_COLUMNS}, log_position`;
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
     RETURNING u.tenant_id, u.usage_id, u.customer_id, u.metric_key`,
    [voids.map((v) => v.tenant), voids.map((v) => v.usageId), voids.map((v) => v.at), voids.map((v) => v.reason)],
  );
  return result.rows;
}
