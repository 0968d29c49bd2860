import type { Pool, PoolClient } from 'pg';
import type { MetricVersion } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { preparedQuery } from './prepared-query';
import type { SubscriptionCycle } from './usage-period';
import type { MeteredMetric } from './usage-reader';

/*
 * Reads of the `usage` projection's own copies of metric versions and subscriptions (its views
 * usage_meters, usage_subscriptions): the buckets were derived with exactly these versions, so a
 * usage query never mixes read models that advance independently.
 */

/** SQLSTATE undefined_table: the projector has not created the read model's views yet. */
const UNDEFINED_TABLE = '42P01';

type Queryable = Pool | PoolClient;

async function read<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { code?: string }).code === UNDEFINED_TABLE) {
      throw new ApiProblem('SERVICE.UNAVAILABLE', 'the usage read model is not built yet; is the projector running?', {
        headers: { 'retry-after': '5' },
      });
    }
    throw error;
  }
}

export interface Meter extends MeteredMetric {
  archived_at: string | null;
}

interface MeterRow {
  metric_key: string;
  versions: MetricVersion[];
  archived_at: Date | null;
}

const toMeter = (row: MeterRow): Meter => ({
  key: row.metric_key,
  versions: row.versions,
  archived_at: row.archived_at?.toISOString() ?? null,
});

export function metricNotFound(key: string): ApiProblem {
  return new ApiProblem('METRIC.NOT_FOUND', `metric ${key} not found`);
}

/** One metric's versions as the usage projection has them (null: not projected yet). */
export async function loadMeter(db: Queryable, tenantId: string, metricKey: string): Promise<Meter | null> {
  const { rows } = await read(() =>
    db.query<MeterRow>(
      preparedQuery(
        `SELECT metric_key, versions, archived_at FROM usage_meters WHERE tenant_id = $1 AND metric_key = $2`,
        [tenantId, metricKey],
      ),
    ),
  );
  return rows.length === 0 ? null : toMeter(rows[0]);
}

/** Every metric of the tenant, by key. */
export async function listMeters(db: Queryable, tenantId: string): Promise<Meter[]> {
  const { rows } = await read(() =>
    db.query<MeterRow>(
      preparedQuery(
        `SELECT metric_key, versions, archived_at FROM usage_meters WHERE tenant_id = $1 ORDER BY metric_key COLLATE "C"`,
        [tenantId],
      ),
    ),
  );
  return rows.map(toMeter);
}

/**
 * Which of `metricKeys` the customer has raw usage of in a UTC month that meets [start, end)
 * (`usage_series`, one row per metric, month and customer): a cheap, slightly wide "any usage here".
 */
export async function metricsWithUsage(
  db: Queryable,
  tenantId: string,
  customerId: string,
  metricKeys: readonly string[],
  period: { start: string; end: string },
): Promise<Set<string>> {
  if (metricKeys.length === 0) return new Set();
  const { rows } = await read(() =>
    db.query<{ metric_key: string }>(
      preparedQuery(
        `SELECT DISTINCT metric_key FROM usage_series
          WHERE tenant_id = $1 AND customer_id = $2 AND metric_key = ANY($3::text[])
            AND month >= date_trunc('month', $4::timestamptz AT TIME ZONE 'UTC')::date
            AND month < ($5::timestamptz AT TIME ZONE 'UTC')`,
        [tenantId, customerId, metricKeys, period.start, period.end],
      ),
    ),
  );
  return new Set(rows.map((row) => row.metric_key));
}

/** The customer's subscriptions not ended at `now` (the usage projection's copy). */
export async function loadLiveSubscriptions(
  db: Queryable,
  tenantId: string,
  customerId: string,
  now: Date,
): Promise<SubscriptionCycle[]> {
  const { rows } = await read(() =>
    db.query<SubscriptionCycle>(
      preparedQuery(
        `SELECT subscription_id, billing_interval, anchor_at, timezone, start_date, ends_at
           FROM usage_subscriptions
          WHERE tenant_id = $1 AND customer_id = $2 AND (ends_at IS NULL OR ends_at > $3)`,
        [tenantId, customerId, now],
      ),
    ),
  );
  return rows;
}

/** The live checkpoint of the usage projection (null: nothing applied, or not started). */
export async function usageCheckpoint(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ checkpoint: string | null }>(
    preparedQuery(`SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live'`),
  );
  return rows[0]?.checkpoint ?? null;
}
