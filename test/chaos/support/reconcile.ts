import type { Pool } from 'pg';
import type { ClientStats, RetryingEventClient } from './event-client';

/** A valid ABAXUS_ADMIN_KEY: on first start the API registers it for tenant "default". */
export const CHAOS_ADMIN_KEY = 'sk_chaos_admin_key_0123456789abcdef';
export const CHAOS_TENANT = 'default';

export interface ChaosCatalog {
  metricKey: string;
  customers: string[];
}

export interface Period {
  period_start: string;
  period_end: string;
}

/** Whole UTC days around now: every event a scenario sends (timestamped now) falls inside. */
export function periodAroundNow(): Period {
  const day = 86_400_000;
  const today = Math.floor(Date.now() / day) * day;
  return {
    period_start: new Date(today - day).toISOString(),
    period_end: new Date(today + 2 * day).toISOString(),
  };
}

/** A `count` metric and `customers` (UTC), through the API like any client; idempotent. */
export async function seedCatalog(client: RetryingEventClient, catalog: ChaosCatalog): Promise<void> {
  const metric = await client.call('POST', '/v1/metrics', {
    key: catalog.metricKey,
    name: 'Chaos events',
    aggregation: 'count',
  });
  if (metric.status !== 201 && metric.status !== 200) {
    throw new Error(`could not create the metric: ${metric.status} ${JSON.stringify(metric.body)}`);
  }
  for (const id of catalog.customers) {
    const customer = await client.call('POST', '/v1/customers', {
      id,
      name: `Chaos ${id}`,
      currency: 'EUR',
      timezone: 'UTC',
    });
    if (customer.status !== 201 && customer.status !== 200) {
      throw new Error(`could not create customer ${id}: ${customer.status} ${JSON.stringify(customer.body)}`);
    }
  }
}

export interface StoredCounts {
  /** `UsageRecorded` events of the metric in the log. */
  usage_recorded_events: number;
  /** Distinct idempotency keys among them (must equal the count: no key stored twice). */
  distinct_keys_in_log: number;
  /** Rows of the `usage_events` read model (the projector's). */
  usage_events_rows: number;
}

/** The write side and the read model, counted in SQL (the test's own connection, not the API). */
export async function storedCounts(pool: Pool, metricKey: string, tenantId = CHAOS_TENANT): Promise<StoredCounts> {
  const log = await pool.query<{ events: string; keys: string }>(
    `SELECT count(*) AS events, count(DISTINCT data->>'idempotency_key') AS keys
       FROM events
      WHERE tenant_id = $1 AND type = 'UsageRecorded' AND data->>'metric_key' = $2`,
    [tenantId, metricKey],
  );
  const model = await pool.query<{ rows: string }>(
    'SELECT count(*) AS rows FROM usage_events WHERE tenant_id = $1 AND metric_key = $2',
    [tenantId, metricKey],
  );
  return {
    usage_recorded_events: Number(log.rows[0].events),
    distinct_keys_in_log: Number(log.rows[0].keys),
    usage_events_rows: Number(model.rows[0].rows),
  };
}

/** Keys of the metric in the log, to name the difference when a count is off. */
export async function keysInLog(pool: Pool, metricKey: string, tenantId = CHAOS_TENANT): Promise<Set<string>> {
  const result = await pool.query<{ key: string }>(
    `SELECT data->>'idempotency_key' AS key FROM events
      WHERE tenant_id = $1 AND type = 'UsageRecorded' AND data->>'metric_key' = $2`,
    [tenantId, metricKey],
  );
  return new Set(result.rows.map((row) => row.key));
}

/** Sum over the customers of POST /v1/usage/compute `event_count` (exact: it waits for the projector). */
export async function exactCount(client: RetryingEventClient, catalog: ChaosCatalog, period: Period): Promise<number> {
  let total = 0n;
  for (const customer of catalog.customers) {
    const response = await client.call('POST', '/v1/usage/compute', {
      customer_id: customer,
      metric_key: catalog.metricKey,
      ...period,
    });
    if (response.status !== 200)
      throw new Error(`compute ${customer}: ${response.status} ${JSON.stringify(response.body)}`);
    total += BigInt((response.body as { event_count: string }).event_count);
  }
  return Number(total);
}

/** Sum over the customers of GET /v1/usage/summary `value` (eventual: the projector's buckets), and the max lag. */
export async function summaryCount(
  client: RetryingEventClient,
  catalog: ChaosCatalog,
  period: Period,
): Promise<{ count: number; lagSeconds: number }> {
  let total = 0n;
  let lagSeconds = 0;
  for (const customer of catalog.customers) {
    const query = new URLSearchParams({ customer_id: customer, metric_key: catalog.metricKey, ...period });
    const response = await client.call('GET', `/v1/usage/summary?${query.toString()}`);
    if (response.status !== 200)
      throw new Error(`summary ${customer}: ${response.status} ${JSON.stringify(response.body)}`);
    const body = response.body as { value: string | null; meta: { lag_seconds: number } };
    // A count metric's value is an integer decimal string.
    total += BigInt((body.value ?? '0').replace(/\.0*$/, ''));
    lagSeconds = Math.max(lagSeconds, body.meta.lag_seconds);
  }
  return { count: Number(total), lagSeconds };
}

/**
 * Every key sent was acknowledged, and is in the log, the read model and the exact count exactly
 * once. A key missing from the log is named in the failure.
 */
export async function expectNothingLostOrDoubled(
  pool: Pool,
  catalog: ChaosCatalog,
  stats: ClientStats,
  { exact, stored }: { exact: number; stored: StoredCounts },
): Promise<void> {
  const sent = stats.keysSent;
  expect(stats.acknowledged().size).toBe(sent.size);
  if (stored.usage_recorded_events !== sent.size) {
    const logged = await keysInLog(pool, catalog.metricKey);
    const missing = [...sent].filter((key) => !logged.has(key));
    throw new Error(
      `log has ${stored.usage_recorded_events} events for ${sent.size} keys; missing ${missing.slice(0, 5)}`,
    );
  }
  expect(stored).toEqual({
    usage_recorded_events: sent.size,
    distinct_keys_in_log: sent.size,
    usage_events_rows: sent.size,
  });
  expect(exact).toBe(sent.size);
}
