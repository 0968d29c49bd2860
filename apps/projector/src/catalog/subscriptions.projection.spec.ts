import { randomUUID } from 'node:crypto';
import {
  PLAN_STREAM_CATEGORY,
  SUBSCRIPTION_STREAM_CATEGORY,
  planDecider,
  subscriptionDecider,
  type Customer,
  type Plan,
  type PlanCommand,
  type PlanEvent,
  type SubscriptionCommand,
  type SubscriptionEvent,
} from '#domain';
import {
  PostgresEventStore,
  StreamNotFoundError,
  rebuildProjection,
  streamName,
  type Checkpoint,
  type RecordedEvent,
} from '#ledger';
import { fixtureMetrics, proPlanInput } from '../../../../libs/domain/src/catalog/plans/testing/plan-fixtures';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { plansProjection } from './plans.projection';
import { subscriptionsProjection } from './subscriptions.projection';

interface Folding<C, E, S> {
  initialState(): S;
  evolve(state: S, event: E): S;
  decide(command: C, state: S): E[];
}

const customer = (id: string, currency = 'USD'): Customer => ({
  id,
  name: id,
  email: null,
  currency,
  timezone: 'Europe/Berlin',
  payment: null,
  metadata: {},
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  archived_at: null,
});

describe('subscriptions projection', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: Checkpoint;
  let clock = Date.parse('2026-02-10T09:00:00Z');

  const read = (stream: string): Promise<RecordedEvent[]> =>
    store.readStream(stream).catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });

  /** Decides on the stream's current state and appends, as the API's handlers do. */
  async function run<C, E extends { type: string; data: unknown }, S>(
    tenant: string,
    stream: string,
    decider: Folding<C, E, S>,
    command: C,
  ): Promise<S> {
    const recorded = await read(stream);
    const state = recorded.reduce(
      (s, e) => decider.evolve(s, { type: e.type, data: e.data } as E),
      decider.initialState(),
    );
    const events = decider.decide(command, state);
    if (events.length === 0) return state;
    const result = await store.append(
      stream,
      events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: { tenant_id: tenant, actor: 'system:test', request_id: 'req_1' },
      })),
      { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
    );
    last = result.position;
    return events.reduce(decider.evolve, state);
  }

  const at = () => new Date((clock += 3_600_000));
  const planStream = (tenant: string, key: string) => streamName(tenant, PLAN_STREAM_CATEGORY, key);
  const subStream = (tenant: string, id: string) => streamName(tenant, SUBSCRIPTION_STREAM_CATEGORY, id);

  async function publishPlan(tenant: string, key: string, currency = 'USD'): Promise<Plan> {
    const command: PlanCommand = {
      type: 'CreatePlan',
      plan_key: key,
      content: { ...proPlanInput, name: key, currency },
      publish: true,
      metrics: fixtureMetrics,
      at: at(),
    };
    const state = await run<PlanCommand, PlanEvent, ReturnType<typeof planDecider.initialState>>(
      tenant,
      planStream(tenant, key),
      planDecider,
      command,
    );
    if (state.status === 'absent') throw new Error('fixture');
    return state.plan;
  }

  const onSubscription = (tenant: string, id: string, command: SubscriptionCommand) =>
    run<SubscriptionCommand, SubscriptionEvent, ReturnType<typeof subscriptionDecider.initialState>>(
      tenant,
      subStream(tenant, id),
      subscriptionDecider,
      command,
    );

  async function subscribe(tenant: string, id: string, plan: Plan, who: Customer, anchor?: string) {
    return onSubscription(tenant, id, {
      type: 'StartSubscription',
      subscription_id: id,
      request: { customer_id: who.id, plan_key: plan.key, start_date: '2026-02-10', billing_anchor: anchor },
      customer: who,
      plan,
      metrics: fixtureMetrics,
      at: at(),
    });
  }

  const subscriptions = async () => (await db.pool.query('SELECT * FROM subscriptions ORDER BY tenant_id, id')).rows;
  const publishedVersions = async () =>
    (
      await db.pool.query(
        `SELECT * FROM price_plan_versions WHERE status = 'published' ORDER BY tenant_id, key, version`,
      )
    ).rows;
  const project = async () => {
    await projectTo({ pool: db.pool, store }, [plansProjection, subscriptionsProjection], last);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    const pro = await publishPlan('acme', 'pro');
    const team = await publishPlan('acme', 'team');
    const globexPro = await publishPlan('globex', 'pro', 'EUR');
    await subscribe('acme', 'sub_a', pro, customer('c1'));
    await onSubscription('acme', 'sub_a', {
      type: 'CancelSubscription',
      subscription_id: 'sub_a',
      end: 'period_end',
      at: at(),
    });
    const changing = await subscribe('acme', 'sub_b', pro, customer('c2'), 'calendar');
    if (changing.status === 'absent') throw new Error('fixture');
    const changed = await onSubscription('acme', 'sub_b', {
      type: 'ChangeSubscriptionPlan',
      subscription_id: 'sub_b',
      next_subscription_id: 'sub_c',
      request: { plan_key: 'team' },
      end: 'now',
      customer: customer('c2'),
      plan: team,
      metrics: fixtureMetrics,
      at: at(),
    });
    if (changed.status === 'absent') throw new Error('fixture');
    await onSubscription('acme', 'sub_c', {
      type: 'StartNextSubscription',
      previous: changed.subscription,
      request: {},
      customer: customer('c2'),
      plan: team,
      metrics: fixtureMetrics,
      at: at(),
    });
    await subscribe('globex', 'sub_a', globexPro, customer('c1', 'EUR'));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('holds each subscription exactly as a read of its stream shows it, with its query columns', async () => {
    await project();
    const rows = await subscriptions();
    expect(
      rows.map((r) => [
        r.tenant_id,
        r.id,
        r.customer_id,
        r.plan_key,
        r.status,
        r.previous_subscription_id,
        r.next_subscription_id,
      ]),
    ).toEqual([
      ['acme', 'sub_a', 'c1', 'pro', 'cancelled', null, null],
      ['acme', 'sub_b', 'c2', 'pro', 'plan_changed', null, 'sub_c'],
      ['acme', 'sub_c', 'c2', 'team', 'active', 'sub_b', null],
      ['globex', 'sub_a', 'c1', 'pro', 'active', null, null],
    ]);
    for (const row of rows) {
      const recorded = await read(subStream(row.tenant_id, row.id));
      const state = recorded.reduce(
        (s, e) => subscriptionDecider.evolve(s, { type: e.type, data: e.data } as SubscriptionEvent),
        subscriptionDecider.initialState(),
      );
      if (state.status === 'absent') throw new Error('fixture');
      expect(row.subscription).toEqual(state.subscription);
      expect(row.start_date).toEqual(new Date(state.subscription.start_date));
      expect(row.ends_at).toEqual(state.subscription.end === null ? null : new Date(state.subscription.end.ends_at));
      expect(row.stream_revision).toBe(recorded.length - 1);
    }
    // The plan change recorded both partial periods' prorations.
    expect(rows[1].subscription.end.final_period.flat_fees).toEqual([
      { charge_key: 'base', proration_factor: expect.any(String) },
    ]);
    expect(rows[2].subscription.first_period.flat_fees).toEqual([
      { charge_key: 'base', proration_factor: expect.any(String) },
    ]);
  });

  it('replaying the whole log again, twice, gives the same rows', async () => {
    const before = await subscriptions();
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name IN ('subscriptions', 'price_plans')`);
      await project();
      expect(await subscriptions()).toEqual(before);
    }
  });

  it('a forced full rebuild leaves every published plan version and its subscriptions unchanged', async () => {
    const before = { versions: await publishedVersions(), subscriptions: await subscriptions() };
    expect(before.versions).toHaveLength(3);
    for (const name of ['price_plans', 'subscriptions']) {
      const result = await rebuildProjection({
        pool: db.pool,
        store,
        projections: [plansProjection, subscriptionsProjection],
        name,
        force: true,
      });
      expect(result).toMatchObject({ outcome: 'switched', previous: { build: 0 } });
    }
    const views = await db.pool.query(
      `SELECT viewname, definition FROM pg_views WHERE viewname IN ('price_plan_versions', 'subscriptions') ORDER BY viewname`,
    );
    expect(views.rows.map((r) => /__v\d+_r\d+/.test(r.definition))).toEqual([true, true]);
    expect({ versions: await publishedVersions(), subscriptions: await subscriptions() }).toEqual(before);
  });

  it('a cancellation in a later batch than the start updates the row once', async () => {
    const plan = (await db.pool.query(`SELECT plan FROM price_plans WHERE tenant_id = 'globex' AND key = 'pro'`))
      .rows[0].plan;
    await subscribe('globex', 'sub_late', plan, customer('c9', 'EUR'));
    await project();
    await onSubscription('globex', 'sub_late', {
      type: 'CancelSubscription',
      subscription_id: 'sub_late',
      end: 'now',
      at: at(),
    });
    await onSubscription('globex', 'sub_late', {
      type: 'CancelSubscription',
      subscription_id: 'sub_late',
      end: 'now',
      at: at(),
    });
    await project();
    const row = (await subscriptions()).find((r) => r.tenant_id === 'globex' && r.id === 'sub_late');
    expect(row).toMatchObject({ status: 'cancelled', ends_at: expect.any(Date), stream_revision: 1 });
  });
});
