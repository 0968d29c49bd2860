import type { PoolClient } from 'pg';
import {
  instantKey,
  type SubscriptionCancelled,
  type SubscriptionPlanChanged,
  type SubscriptionStarted,
} from '#domain';
import type { RecordedEvent } from '#ledger';

/**
 * What GET /v1/usage/summary needs to find a customer's current billing period without reading
 * another projection: each subscription's billing cycle and end, kept by the usage projection
 * itself from the subscription events (the customer's time zone comes from the API's catalog
 * directory).
 */
export const ACCOUNT_EVENT_TYPES = ['SubscriptionStarted', 'SubscriptionCancelled', 'SubscriptionPlanChanged'] as const;

const TYPES: ReadonlySet<string> = new Set(ACCOUNT_EVENT_TYPES);

export const USAGE_SUBSCRIPTIONS_DDL = (t: string) => `
  CREATE TABLE ${t} (
    tenant_id        text        NOT NULL,
    subscription_id  text        NOT NULL,
    customer_id      text        NOT NULL,
    billing_interval text        NOT NULL,
    anchor_at        text        NOT NULL,
    timezone         text        NOT NULL,
    start_date       timestamptz NOT NULL,
    ends_at          timestamptz,
    PRIMARY KEY (tenant_id, subscription_id)
  );
  CREATE INDEX ${t}_customer ON ${t} (tenant_id, customer_id);`;

type Started = SubscriptionStarted['data'];
type Ended = SubscriptionCancelled['data'] | SubscriptionPlanChanged['data'];

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** An RFC 3339 instant (what PostgreSQL will read as timestamptz without failing the batch). */
function isInstant(value: unknown): value is string {
  if (!isText(value)) return false;
  try {
    instantKey(value);
    return true;
  } catch {
    return false;
  }
}

/** Idempotent: inserts keep the first row, ends are set to the event's value. Malformed events are skipped. */
export async function applyAccountEvents(
  client: PoolClient,
  tables: { subscriptions: string },
  events: readonly RecordedEvent[],
): Promise<void> {
  const relevant = events.filter((event) => TYPES.has(event.type));
  if (relevant.length === 0) return;
  const started = relevant
    .filter((event) => event.type === 'SubscriptionStarted')
    .map((event) => ({ tenant: event.metadata.tenant_id, data: event.data as Partial<Started> }))
    .filter(({ data }) => isText(data?.subscription_id) && isText(data?.customer_id) && isInstant(data?.start_date))
    .filter(({ data }) => isText(data.billing_anchor?.at) && isText(data.billing_interval) && isText(data.timezone));
  if (started.length > 0) {
    await client.query(
      `INSERT INTO ${tables.subscriptions}
         (tenant_id, subscription_id, customer_id, billing_interval, anchor_at, timezone, start_date)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        started.map((s) => s.tenant),
        started.map((s) => s.data.subscription_id),
        started.map((s) => s.data.customer_id),
        started.map((s) => s.data.billing_interval),
        started.map((s) => s.data.billing_anchor!.at),
        started.map((s) => s.data.timezone),
        started.map((s) => s.data.start_date),
      ],
    );
  }
  const ended = relevant
    .filter((event) => event.type === 'SubscriptionCancelled' || event.type === 'SubscriptionPlanChanged')
    .map((event) => ({ tenant: event.metadata.tenant_id, data: event.data as Partial<Ended> }))
    .filter(({ data }) => isText(data?.subscription_id) && isInstant(data?.ends_at));
  if (ended.length > 0) {
    await client.query(
      `UPDATE ${tables.subscriptions} AS s SET ends_at = e.ends_at
         FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS e(tenant_id, subscription_id, ends_at)
        WHERE s.tenant_id = e.tenant_id AND s.subscription_id = e.subscription_id`,
      [ended.map((e) => e.tenant), ended.map((e) => e.data.subscription_id), ended.map((e) => e.data.ends_at)],
    );
  }
}
