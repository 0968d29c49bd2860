import { randomUUID } from 'node:crypto';
import { tenantRegistry, type TenantRegistryEvent } from '#domain';
import { PostgresEventStore, TENANTS_STREAM, readOrEmpty, waitForPosition, type EventStore } from '#ledger';
import type { TestDatabase } from '../../../../../test/support/database';
import { createCustomer } from '../../../../api/src/customers/customer.operations';
import { createMetric } from '../../../../api/src/metrics/metric.operations';
import { createPricePlan } from '../../../../api/src/price-plans/price-plan.operations';
import { startSubscription } from '../../../../api/src/subscriptions/subscription.operations';
import { projections } from '../../projections';
import { startProjector, type Projector } from '../../start-projector';

/** Test fixtures of the billing cycle specs (not production code): a tenant seeded through the operations. */

export const ctx = (store: EventStore, tenantId: string) => ({ store, tenantId, actor: 'system:test' });

/** Registers a tenant in `$system:tenants` (the cycle bills every registered tenant). */
export async function registerTenant(store: EventStore, tenantId: string): Promise<void> {
  const recorded = await readOrEmpty(store, TENANTS_STREAM);
  const state = recorded.reduce(
    (s, e) => tenantRegistry.evolve(s, { type: e.type, data: e.data } as TenantRegistryEvent),
    tenantRegistry.initialState(),
  );
  const events = tenantRegistry.decide(
    { type: 'CreateTenant', tenant_id: tenantId, name: `Tenant ${tenantId}`, at: new Date() },
    state,
  );
  await store.append(
    TENANTS_STREAM,
    events.map((event) => ({
      id: randomUUID(),
      type: event.type,
      data: event.data,
      metadata: { tenant_id: tenantId, actor: 'system:test' },
    })),
    { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
  );
}

export interface SeededCatalog {
  /** Starts a subscription of a new customer on plan `pro` (20.00 flat + 0.10 per call, monthly). */
  subscribe(customerId: string, startDate: string, options?: { timezone?: string }): Promise<string>;
}

/** Metric `calls` (sum) and plan `pro` in `tenantId`. */
export async function seedCatalog(store: EventStore, tenantId: string): Promise<SeededCatalog> {
  await registerTenant(store, tenantId);
  const c = ctx(store, tenantId);
  await createMetric({ ...c, key: 'calls', name: 'Calls', definition: { aggregation: 'sum' } });
  await createPricePlan({
    ...c,
    key: 'pro',
    publish: true,
    content: {
      name: 'Pro',
      currency: 'USD',
      billing_interval: 'month',
      charges: [
        { key: 'base', model: 'flat_fee', amount: '20.00' },
        { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.10' },
      ],
    },
  });
  return {
    subscribe: async (customerId, startDate, options = {}) => {
      await createCustomer({
        ...c,
        id: customerId,
        fields: { name: customerId, currency: 'USD', timezone: options.timezone ?? 'UTC' },
      });
      const started = await startSubscription({
        ...c,
        request: { customer_id: customerId, plan_key: 'pro', start_date: startDate, billing_anchor: 'calendar' },
      });
      return started.subscription.subscription_id;
    },
  };
}

/** Every registered projection on the test database, no billing cycle of its own (specs start theirs). */
export async function startSpecProjector(
  db: TestDatabase,
): Promise<{ store: PostgresEventStore; projector: Projector }> {
  const store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
  const projector = await startProjector({
    pool: db.pool,
    store,
    projections,
    idlePollMs: 50,
    billingCycle: false,
  });
  return { store, projector };
}

/** Waits until every projection has applied everything committed so far. */
export async function caughtUp(db: TestDatabase, store: EventStore): Promise<void> {
  const { rows } = await db.pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  for (const projection of projections) {
    await waitForPosition({ pool: db.pool, store }, projection.name, rows[0]?.checkpoint ?? null, 10_000);
  }
}

/** A settable clock for the cycle: the domain and the cycle never read the system clock in these specs. */
export function fakeClock(start: string): { now: () => Date; set(at: string): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current.getTime()),
    set: (at) => {
      current = new Date(at);
    },
  };
}
