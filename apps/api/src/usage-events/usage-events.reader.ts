import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { normalizeInstant } from '#domain';
import type { Checkpoint, EventStore } from '#ledger';
import { CatalogDirectory } from '../common/catalog-directory';
import { decodeCursor, encodeCursor, invalidCursor, listScope } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { validationErrors } from '../common/problems/to-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import '../usage/usage.problems';
import { DEFAULT_EVENTS_PAGE, type ListUsageEventsQuery } from './dto/list-usage-events.query';

export interface UsageEventView {
  id: string;
  idempotency_key: string;
  customer_id: string;
  metric_key: string;
  value: string;
  timestamp: string;
  properties: Record<string, unknown>;
  recorded_at: string;
  source: string;
  voided_at: string | null;
  void_reason: string | null;
}

export interface UsageEventsMeta {
  /** Always `eventual`: rows come from the `usage` projection, which follows the log. */
  consistency: 'eventual';
  /** Log position the projection has applied (null: nothing yet). */
  as_of: Checkpoint | null;
  /** 0 when the projection is at the head, else the age of the oldest event not applied yet. */
  lag_seconds: number;
}

export interface UsageEventPage {
  data: UsageEventView[];
  next_cursor: string | null;
  meta: UsageEventsMeta;
}

/** A usage event located through the `usage_events` read model. */
export interface LocatedUsage {
  customerId: string;
  metricKey: string;
  idempotencyKey: string;
  timestamp: string;
}

interface Row {
  usage_id: string;
  idempotency_key: string;
  customer_id: string;
  metric_key: string;
  ts_text: string;
  value: string;
  properties: Record<string, unknown>;
  recorded_at: Date;
  source: string;
  voided_at: Date | null;
  void_reason: string | null;
}

const UNDEFINED_TABLE = '42P01';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Microseconds, as stored; normalised to the ingestion's canonical form in JS. */
const TS_TEXT = `to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const COLUMNS = `usage_id::text AS usage_id, idempotency_key, customer_id, metric_key, ${TS_TEXT} AS ts_text,
  trim_scale(value)::text AS value, properties, recorded_at, source, voided_at, void_reason`;

/**
 * A page of one customer's events of every metric, in (ts, usage_id) order: the customer's metrics by
 * a skip scan of the series index (one probe per metric), then per metric the next `limit` keys in its
 * series (index-only), the first `limit` of those, and their rows. Each page costs one range scan per
 * metric the customer has usage of, at any depth, as the one-metric page costs one.
 */
function everyMetricPage(series: readonly string[], limit: string): string {
  return `
    WITH RECURSIVE metrics AS (
      (SELECT metric_key FROM usage_events WHERE tenant_id = $1 AND customer_id = $2 ORDER BY metric_key LIMIT 1)
      UNION ALL
      SELECT (SELECT n.metric_key FROM usage_events n
               WHERE n.tenant_id = $1 AND n.customer_id = $2 AND n.metric_key > m.metric_key
               ORDER BY n.metric_key LIMIT 1)
        FROM metrics m WHERE m.metric_key IS NOT NULL
    ), page AS (
      SELECT k.metric_key, k.ts, k.usage_id
        FROM metrics m CROSS JOIN LATERAL (
          SELECT metric_key, ts, usage_id FROM usage_events
           WHERE ${series.join(' AND ')}
           ORDER BY ts, usage_id LIMIT ${limit}) k
       WHERE m.metric_key IS NOT NULL
       ORDER BY k.ts, k.usage_id LIMIT ${limit}
    )
    SELECT ${COLUMNS} FROM usage_events
     WHERE tenant_id = $1 AND customer_id = $2 AND (metric_key, ts, usage_id) IN (SELECT * FROM page)
     ORDER BY ts, usage_id`;
}

function instant(raw: string): string {
  const normalized = normalizeInstant(raw, 'timestamp');
  return normalized.ok ? normalized.value : raw;
}

function toView(row: Row): UsageEventView {
  return {
    id: row.usage_id,
    idempotency_key: row.idempotency_key,
    customer_id: row.customer_id,
    metric_key: row.metric_key,
    value: row.value,
    timestamp: instant(row.ts_text),
    properties: row.properties,
    recorded_at: row.recorded_at.toISOString(),
    source: row.source,
    voided_at: row.voided_at?.toISOString() ?? null,
    void_reason: row.void_reason,
  };
}

/**
 * Reads of recorded usage from the `usage_events` view (the `usage` projection, owned by metering):
 * eventually consistent, and the answer says so. Pages by keyset on (ts, usage_id), the order of the
 * view's index (tenant_id, customer_id, metric_key, ts, usage_id): each page is one index range
 * scan, at any depth and any table size; no OFFSET, no count(*).
 */
@Injectable()
export class UsageEventsReader {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
  ) {}

  async list(tenantId: string, query: ListUsageEventsQuery): Promise<UsageEventPage> {
    if ((await this.catalog.customer(tenantId, query.customer_id)) === null) {
      throw new ApiProblem('CUSTOMER.NOT_FOUND', `no customer ${query.customer_id}`);
    }
    if (query.metric_key !== undefined && (await this.catalog.metric(tenantId, query.metric_key)) === null) {
      throw new ApiProblem('METRIC.NOT_FOUND', `no metric ${query.metric_key}`);
    }
    const limit = query.limit ?? DEFAULT_EVENTS_PAGE;
    const values: unknown[] = [tenantId, query.customer_id];
    if (query.metric_key !== undefined) values.push(query.metric_key);
    // One metric's series: the one asked for, or (without metric_key) each metric `m` of the customer.
    const conditions = [
      'tenant_id = $1',
      'customer_id = $2',
      query.metric_key === undefined ? 'metric_key = m.metric_key' : 'metric_key = $3',
    ];
    // Each bound as the canonical instant (so `Z` and `+00:00`, or `+02:00`, name the same window and
    // continue the same cursors).
    const bound = (raw: string | undefined, field: 'from' | 'to', operator: string) => {
      if (raw === undefined) return undefined;
      const parsed = normalizeInstant(raw, field);
      if (!parsed.ok) throw validationErrors([parsed.error]);
      values.push(parsed.value);
      conditions.push(`ts ${operator} $${values.length}::timestamptz`);
      return parsed.value;
    };
    const from = bound(query.from, 'from', '>=');
    const to = bound(query.to, 'to', '<');
    // As summary, compute and histogram answer it: an empty or inverted window is the caller's mistake.
    if (from !== undefined && to !== undefined && Date.parse(to) <= Date.parse(from)) {
      throw new ApiProblem('USAGE.INVALID_PERIOD', 'to must be later than from', {
        errors: [{ field: 'to', message: 'must be later than from' }],
      });
    }
    const scope = listScope('usage_events', tenantId, {
      customer_id: query.customer_id,
      metric_key: query.metric_key,
      from,
      to,
    });
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor, ['ts', 'id'], scope);
      if (!normalizeInstant(after.ts, 'cursor').ok || !UUID.test(after.id)) throw invalidCursor();
      values.push(after.ts, after.id);
      conditions.push(`(ts, usage_id) > ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(limit + 1);
    const limitParam = `$${values.length}`;
    const rows = await this.query<Row>(
      query.metric_key === undefined
        ? everyMetricPage(conditions, limitParam)
        : `SELECT ${COLUMNS} FROM usage_events WHERE ${conditions.join(' AND ')} ORDER BY ts, usage_id LIMIT ${limitParam}`,
      values,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(toView),
      next_cursor: rows.length > limit && last ? encodeCursor({ ts: last.ts_text, id: last.usage_id }, scope) : null,
      meta: await this.meta(),
    };
  }

  /** For voids when no key row exists (KurrentDB mode): the event as the projection holds it. */
  async locate(tenantId: string, usageId: string): Promise<LocatedUsage | null> {
    let rows: Row[];
    try {
      rows = await this.query<Row>(`SELECT ${COLUMNS} FROM usage_events WHERE tenant_id = $1 AND usage_id = $2`, [
        tenantId,
        usageId,
      ]);
    } catch (error) {
      if (error instanceof ApiProblem) return null;
      throw error;
    }
    const row = rows[0];
    if (row === undefined) return null;
    return {
      customerId: row.customer_id,
      metricKey: row.metric_key,
      idempotencyKey: row.idempotency_key,
      timestamp: instant(row.ts_text),
    };
  }

  private async meta(): Promise<UsageEventsMeta> {
    const live = await this.pool.query<{ checkpoint: string | null }>(
      `SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live'`,
    );
    const asOf = live.rows[0]?.checkpoint ?? null;
    const next = await this.store.readAll(asOf, { maxCount: 1 });
    const oldest = next.events[0];
    const lagSeconds = oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest.recorded_at.getTime()) / 1000);
    return { consistency: 'eventual', as_of: asOf, lag_seconds: Number(lagSeconds.toFixed(3)) };
  }

  private async query<T extends object>(text: string, values: unknown[]): Promise<T[]> {
    try {
      return (await this.pool.query<T>(text, values)).rows;
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) {
        throw new ApiProblem('SERVICE.UNAVAILABLE', 'usage events are not projected yet; is the projector running?');
      }
      throw error;
    }
  }
}
