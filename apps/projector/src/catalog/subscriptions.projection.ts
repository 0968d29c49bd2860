import type { PoolClient } from 'pg';
import {
  SUBSCRIPTION_EVENT_TYPES,
  endsAt,
  evolveSubscription,
  type Subscription,
  type SubscriptionEvent,
} from '#domain';
import type { Projection } from '#ledger';
import { foldByStream, type FoldedEntity } from './stream-fold';

/**
 * `subscriptions`: one row per subscription, `subscription` holding it as the domain folds its stream
 * (GET /v1/subscriptions/:id computes `current_period` and `live` from it for the request time). The
 * columns serve the queries: a customer's subscriptions oldest first (lists), the live ones
 * (`ends_at IS NULL OR ends_at > now`: archiving a customer), those on a plan version (billing).
 */
export const subscriptionsProjection: Projection = {
  name: 'subscriptions',
  version: 1,
  eventTypes: SUBSCRIPTION_EVENT_TYPES,
  tables: {
    subscriptions: (t) => `
      CREATE TABLE ${t} (
        tenant_id                text              NOT NULL,
        id                       text COLLATE "C"  NOT NULL,
        customer_id              text              NOT NULL,
        plan_key                 text              NOT NULL,
        plan_version             integer           NOT NULL,
        status                   text              NOT NULL CHECK (status IN ('active', 'cancelled', 'plan_changed')),
        start_date               timestamptz       NOT NULL,
        ends_at                  timestamptz,
        previous_subscription_id text,
        next_subscription_id     text,
        subscription             jsonb             NOT NULL,
        created_at               timestamptz       NOT NULL,
        stream_revision          integer           NOT NULL,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX ${t}_by_created ON ${t} (tenant_id, created_at, id);
      CREATE INDEX ${t}_by_customer ON ${t} (tenant_id, customer_id, created_at, id);
      CREATE INDEX ${t}_by_plan ON ${t} (tenant_id, plan_key, plan_version);`,
  },
  async apply(events, { client, table }) {
    const changed = await foldByStream<Subscription>({
      events,
      idOf: (event) => (event.data as { subscription_id?: unknown } | null)?.subscription_id,
      load: (tenantIds, ids) => loadSubscriptions(client, table('subscriptions'), tenantIds, ids),
      evolve: (subscription, event) =>
        evolveSubscription(subscription, { type: event.type, data: event.data } as SubscriptionEvent),
    });
    if (changed.length > 0) await writeSubscriptions(client, table('subscriptions'), changed);
  },
};

async function loadSubscriptions(
  client: PoolClient,
  subscriptions: string,
  tenantIds: string[],
  ids: string[],
): Promise<Array<FoldedEntity<Subscription>>> {
  const { rows } = await client.query<{
    tenant_id: string;
    id: string;
    subscription: Subscription;
    stream_revision: number;
  }>(
    `SELECT s.tenant_id, s.id, s.subscription, s.stream_revision FROM ${subscriptions} s
       JOIN unnest($1::text[], $2::text[]) AS wanted(tenant_id, id) ON s.tenant_id = wanted.tenant_id AND s.id = wanted.id`,
    [tenantIds, ids],
  );
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    id: row.id,
    value: row.subscription,
    revision: row.stream_revision,
  }));
}

async function writeSubscriptions(
  client: PoolClient,
  subscriptions: string,
  changed: Array<FoldedEntity<Subscription>>,
): Promise<void> {
  const next = (s: Subscription) => (s.end?.reason === 'plan_changed' ? s.end.next_subscription_id : null);
  await client.query(
    `INSERT INTO ${subscriptions} (tenant_id, id, customer_id, plan_key, plan_version, status, start_date, ends_at,
                                   previous_subscription_id, next_subscription_id, subscription, created_at, stream_revision)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::timestamptz[],
                          $8::timestamptz[], $9::text[], $10::text[], $11::jsonb[], $12::timestamptz[], $13::int[])
     ON CONFLICT (tenant_id, id) DO UPDATE SET
       status = EXCLUDED.status, ends_at = EXCLUDED.ends_at, next_subscription_id = EXCLUDED.next_subscription_id,
       subscription = EXCLUDED.subscription, stream_revision = EXCLUDED.stream_revision`,
    [
      changed.map((e) => e.tenantId),
      changed.map((e) => e.value.subscription_id),
      changed.map((e) => e.value.customer_id),
      changed.map((e) => e.value.plan_key),
      changed.map((e) => e.value.plan_version),
      changed.map((e) => e.value.status),
      changed.map((e) => e.value.start_date),
      changed.map((e) => endsAt(e.value)),
      changed.map((e) => e.value.previous_subscription_id),
      changed.map((e) => next(e.value)),
      changed.map((e) => JSON.stringify(e.value)),
      changed.map((e) => e.value.created_at),
      changed.map((e) => e.revision),
    ],
  );
}
