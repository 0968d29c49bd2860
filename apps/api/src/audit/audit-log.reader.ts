import type { Pool } from 'pg';
import { USAGE_RECORDED, normalizeInstant, type FieldError } from '#domain';
import type { Checkpoint } from '#ledger';
import { NOT_A_CURSOR, cursorScopeError, listScope } from '../common/cursor-scope';

/**
 * "Who did what, when": the `audit_log` projection (apps/projector/src/audit), one row per event of
 * the log with its actor and request id from the event's metadata. Plain functions over a pool (no
 * Nest): `GET /v1/audit-log` and `abaxus audit log` both call readAuditLog.
 *
 * Usage events are NOT in it: the projection skips UsageRecorded (the ingestion hot path; one audit
 * row per event would double its writes). Their actor and request id are kept per event in the usage
 * projection's `usage_origins`, and in each event's metadata in the log. Voids of usage events
 * (UsageVoided) are corrections someone made, and they are in the audit log.
 *
 * Order: newest first by the time the log recorded the event (`recorded_at`), ties by stream and
 * event id. Keyset pagination on exactly that order, so a page never repeats or skips a row, at any
 * depth, and rows recorded after the first page never shift the later ones.
 */
export const AUDIT_LOG_EXCLUDED_TYPES = [USAGE_RECORDED] as const;
export const AUDIT_LOG_MAX_PAGE = 500;

export interface AuditLogQuery {
  /** The caller's tenant. Omitted: every tenant (the operator's CLI only; the API always passes one). */
  tenantId?: string;
  /** Recorded at or after (RFC 3339). */
  since?: string;
  /** Recorded before (RFC 3339). */
  until?: string;
  /** `key_…`, `cli:<user>`, `system:<component>`. */
  actor?: string;
  /** Event types (any of them). */
  types?: readonly string[];
  /** A stream, with or without its `<tenant>:` prefix. */
  stream?: string;
  limit: number;
  /** next_cursor of the previous page. */
  cursor?: string;
}

export interface AuditLogEntry {
  event_id: string;
  tenant_id: string;
  /** The event's log position (opaque, as the event store gives it). */
  position: string;
  type: string;
  stream: string;
  actor: string;
  request_id: string | null;
  /** Business time of the event. */
  occurred_at: string;
  /** When the log recorded it (the order of this list). */
  recorded_at: string;
}

export interface AuditLogPage {
  data: AuditLogEntry[];
  next_cursor: string | null;
  meta: {
    consistency: 'eventual';
    /** The audit_log projection's checkpoint: events after it are not listed yet. */
    as_of: Checkpoint | null;
    order: 'newest_first';
    excluded_types: readonly string[];
  };
}

/** A query the audit log cannot answer (bad instant, cursor, type): each field at fault. */
export class AuditLogQueryError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid fields: ${errors.map((e) => e.field).join(', ')}`);
    this.name = 'AuditLogQueryError';
  }
}

/** The audit_log read model does not exist yet (the projector never ran on this database). */
export class AuditLogUnavailableError extends Error {
  constructor() {
    super('the audit log is not projected yet; is the projector running?');
    this.name = 'AuditLogUnavailableError';
  }
}

const UNDEFINED_TABLE = '42P01';
const TYPE = /^[A-Z][A-Za-z0-9]{0,99}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Microseconds, as stored: the cursor must name the exact instant, which a JS Date cannot hold. */
const instantText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface Row {
  event_id: string;
  tenant_id: string;
  position: string;
  type: string;
  stream: string;
  actor: string;
  request_id: string | null;
  occurred_text: string;
  recorded_text: string;
}

interface Cursor {
  recorded: string;
  stream: string;
  event: string;
}

export async function readAuditLog(pool: Pool, query: AuditLogQuery): Promise<AuditLogPage> {
  const { conditions, values } = whereOf(query);
  const pageSize = Math.min(Math.max(1, Math.floor(query.limit)), AUDIT_LOG_MAX_PAGE);
  values.push(pageSize + 1);
  let rows: Row[];
  try {
    rows = (
      await pool.query<Row>(
        `SELECT event_id::text AS event_id, tenant_id, position, type, stream, actor, request_id,
                ${instantText('occurred_at')} AS occurred_text, ${instantText('recorded_at')} AS recorded_text
           FROM audit_log WHERE ${conditions.join(' AND ')}
          ORDER BY recorded_at DESC, stream DESC, event_id DESC LIMIT $${values.length}`,
        values,
      )
    ).rows;
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) throw new AuditLogUnavailableError();
    throw error;
  }
  const page = rows.slice(0, pageSize);
  const last = page.at(-1);
  return {
    data: page.map(entryOf),
    next_cursor:
      rows.length > pageSize && last
        ? encodeCursor({ recorded: last.recorded_text, stream: last.stream, event: last.event_id }, scopeOf(query))
        : null,
    meta: {
      consistency: 'eventual',
      as_of: await projectedUpTo(pool),
      order: 'newest_first',
      excluded_types: AUDIT_LOG_EXCLUDED_TYPES,
    },
  };
}

/** The WHERE clause of a query, every value bound; AuditLogQueryError names each bad field. */
function whereOf(query: AuditLogQuery): { conditions: string[]; values: unknown[] } {
  const errors: FieldError[] = [];
  const values: unknown[] = [];
  const conditions: string[] = ['true'];
  const bind = (value: unknown) => `$${values.push(value)}`;
  if (query.tenantId !== undefined) conditions.push(`tenant_id = ${bind(query.tenantId)}`);
  for (const [field, operator] of [
    ['since', '>='],
    ['until', '<'],
  ] as const) {
    const raw = query[field];
    if (raw === undefined) continue;
    const instant = normalizeInstant(raw, field);
    if (instant.ok) conditions.push(`recorded_at ${operator} ${bind(instant.value)}::timestamptz`);
    else errors.push(instant.error);
  }
  if (query.actor !== undefined) conditions.push(`actor = ${bind(query.actor)}`);
  if (query.types !== undefined && query.types.length > 0) {
    errors.push(...typeProblems(query.types));
    conditions.push(`type = ANY(${bind([...query.types])}::text[])`);
  }
  if (query.stream !== undefined) conditions.push(streamCondition(query, bind));
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    const other = after === null ? null : cursorScopeError(after.scope, scopeOf(query));
    if (after === null) errors.push({ field: 'cursor', message: NOT_A_CURSOR });
    else if (other !== null) errors.push({ field: 'cursor', message: other });
    else {
      conditions.push(
        `(recorded_at, stream, event_id) < (${bind(after.recorded)}::timestamptz, ${bind(after.stream)}, ${bind(after.event)}::uuid)`,
      );
    }
  }
  if (errors.length > 0) throw new AuditLogQueryError(errors);
  return { conditions, values };
}

function typeProblems(types: readonly string[]): FieldError[] {
  const problems: FieldError[] = [];
  for (const type of types) {
    if ((AUDIT_LOG_EXCLUDED_TYPES as readonly string[]).includes(type)) {
      problems.push({
        field: 'type',
        message: `${type} events are not in the audit log (the ingestion hot path); each one's actor and request id is in its event metadata`,
      });
    } else if (!TYPE.test(type)) {
      problems.push({ field: 'type', message: `"${type}" is not an event type (PascalCase, such as InvoiceClosed)` });
    }
  }
  return problems;
}

/** A stream named in full (`acme:invoice-inv_1`) or without its tenant prefix (`invoice-inv_1`). */
function streamCondition(query: AuditLogQuery, bind: (value: unknown) => string): string {
  const stream = query.stream!;
  if (stream.includes(':')) return `stream = ${bind(stream)}`;
  if (query.tenantId !== undefined) return `stream = ${bind(`${query.tenantId}:${stream}`)}`;
  // Every tenant: the part after the tenant prefix (tenant ids never contain a colon).
  return `substr(stream, strpos(stream, ':') + 1) = ${bind(stream)}`;
}

async function projectedUpTo(pool: Pool): Promise<Checkpoint | null> {
  const { rows } = await pool.query<{ checkpoint: string | null }>(
    `SELECT checkpoint FROM projections WHERE name = 'audit_log' AND status = 'live'`,
  );
  return rows[0]?.checkpoint ?? null;
}

function entryOf(row: Row): AuditLogEntry {
  return {
    event_id: row.event_id,
    tenant_id: row.tenant_id,
    position: row.position,
    type: row.type,
    stream: row.stream,
    actor: row.actor,
    request_id: row.request_id,
    occurred_at: canonicalInstant(row.occurred_text),
    recorded_at: canonicalInstant(row.recorded_text),
  };
}

/** RFC 3339 UTC as ABAXUS writes instants: milliseconds, or microseconds when the instant has them. */
function canonicalInstant(text: string): string {
  const normalized = normalizeInstant(text, 'instant');
  return normalized.ok ? normalized.value : text;
}

/** The filters a cursor continues (listScope): not limit. */
function scopeOf(query: AuditLogQuery): string {
  const { tenantId, since, until, actor, types, stream } = query;
  const typeSet = types === undefined ? undefined : [...new Set(types)].sort();
  // Instants as canonical text: the same window written with another offset is the same query.
  const instant = (raw: string | undefined) => (raw === undefined ? undefined : canonicalInstant(raw));
  return listScope('audit_log', tenantId, {
    since: instant(since),
    until: instant(until),
    actor,
    types: typeSet,
    stream,
  });
}

/** Opaque to clients: base64url JSON of the last row's sort key and the query's scope. */
function encodeCursor(cursor: Cursor, scope: string): string {
  return Buffer.from(JSON.stringify([cursor.recorded, cursor.stream, cursor.event, scope]), 'utf8').toString(
    'base64url',
  );
}

/** `scope` undefined: a cursor issued before cursors carried one (3 elements). */
function decodeCursor(raw: string): (Cursor & { scope?: string }) | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || (parsed.length !== 3 && parsed.length !== 4)) return null;
    if (!parsed.every((p) => typeof p === 'string')) return null;
    const [recorded, stream, event, scope] = parsed as string[];
    return normalizeInstant(recorded, 'cursor').ok && UUID.test(event) ? { recorded, stream, event, scope } : null;
  } catch {
    return null;
  }
}
