import { randomUUID } from 'node:crypto';
import { PLAN_STREAM_CATEGORY, planDecider, type PlanCommand, type PlanEvent, type PlanVersionInput } from '#domain';
import { PostgresEventStore, StreamNotFoundError, rebuildProjection, streamName, type Checkpoint } from '#ledger';
import { projectTo } from '../../../../libs/ledger/src/projections/testing/projection-fixtures';
import { fixtureMetrics, proPlanInput } from '../../../../libs/domain/src/catalog/plans/testing/plan-fixtures';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { plansProjection } from './plans.projection';

/** A command without its clock and catalog (`run` supplies them): Omit distributed over the union. */
type Bare = PlanCommand extends infer C ? (C extends unknown ? Omit<C, 'at' | 'metrics'> : never) : never;

describe('price_plans projection', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: Checkpoint;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  async function load(tenant: string, key: string) {
    const recorded = await store.readStream(streamName(tenant, PLAN_STREAM_CATEGORY, key)).catch((error: unknown) => {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    });
    const state = recorded.reduce(
      (s, e) => planDecider.evolve(s, { type: e.type, data: e.data } as PlanEvent),
      planDecider.initialState(),
    );
    return { recorded, state };
  }

  /** Decides on the stream's current state and appends, as the API's handlers do. */
  async function run(tenant: string, command: Bare): Promise<void> {
    const { recorded, state } = await load(tenant, command.plan_key);
    clock += 60_000;
    const events = planDecider.decide(
      { ...command, metrics: fixtureMetrics, at: new Date(clock) } as PlanCommand,
      state,
    );
    const result = await store.append(
      streamName(tenant, PLAN_STREAM_CATEGORY, command.plan_key),
      events.map((event) => ({
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: { tenant_id: tenant, actor: 'system:test', request_id: 'req_1' },
      })),
      { expectedRevision: recorded.length === 0 ? 'no_stream' : recorded.length - 1 },
    );
    last = result.position;
  }

  const create = (key: string, content: PlanVersionInput = proPlanInput, publish = false): Bare => ({
    type: 'CreatePlan',
    plan_key: key,
    content,
    publish,
  });
  const plans = async () => (await db.pool.query('SELECT * FROM price_plans ORDER BY tenant_id, key')).rows;
  const versions = async () =>
    (await db.pool.query('SELECT * FROM price_plan_versions ORDER BY tenant_id, key, version')).rows;
  const project = async () => {
    await projectTo({ pool: db.pool, store }, [plansProjection], last);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await run('acme', create('pro'));
    await run('acme', { type: 'UpdatePlanDraft', plan_key: 'pro', version: 1, changes: { name: 'Pro 2026' } });
    await run('acme', { type: 'PublishPlanVersion', plan_key: 'pro', version: 1 });
    await run('acme', { type: 'CreatePlanDraft', plan_key: 'pro', changes: { minimum_commitment: '250' } });
    await run('acme', create('basic', { ...proPlanInput, name: 'Basic', charges: [] }, true));
    await run('acme', { type: 'ArchivePlan', plan_key: 'basic' });
    await run('globex', create('pro', { ...proPlanInput, currency: 'EUR' }, true));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('holds each plan exactly as a read of its stream shows it, and one row per version', async () => {
    await project();
    const projected = await plans();
    expect(projected.map((r) => [r.tenant_id, r.key, r.latest_version, r.published_version, r.draft_version])).toEqual([
      ['acme', 'basic', 1, 1, null],
      ['acme', 'pro', 2, 1, 2],
      ['globex', 'pro', 1, 1, null],
    ]);
    for (const row of projected) {
      const { state } = await load(row.tenant_id, row.key);
      if (state.status === 'absent') throw new Error('fixture');
      expect(row.plan).toEqual(state.plan);
    }
    expect(projected[0].archived_at).toEqual(expect.any(Date));
    const rows = await versions();
    expect(
      rows.map((r) => [r.tenant_id, r.key, r.version, r.status, r.name, r.currency, r.minimum_commitment]),
    ).toEqual([
      ['acme', 'basic', 1, 'published', 'Basic', 'USD', '100.0000000000'],
      ['acme', 'pro', 1, 'published', 'Pro 2026', 'USD', '100.0000000000'],
      ['acme', 'pro', 2, 'draft', 'Pro 2026', 'USD', '250.0000000000'],
      ['globex', 'pro', 1, 'published', 'Pro', 'EUR', '100.0000000000'],
    ]);
    const { state } = await load('acme', 'pro');
    if (state.status === 'absent') throw new Error('fixture');
    expect(rows[1]).toMatchObject({
      charges: state.plan.versions[0].charges,
      entitlements: state.plan.versions[0].entitlements,
      published_at: new Date(state.plan.versions[0].published_at!),
    });
  });

  it('replaying the whole log again, twice, gives the same rows', async () => {
    const before = { plans: await plans(), versions: await versions() };
    for (let replay = 0; replay < 2; replay++) {
      await db.pool.query(`UPDATE projections SET checkpoint = NULL WHERE name = 'price_plans'`);
      await project();
      expect({ plans: await plans(), versions: await versions() }).toEqual(before);
    }
  });

  it('a forced rebuild into fresh tables leaves every plan and version unchanged', async () => {
    const before = { plans: await plans(), versions: await versions() };
    const result = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [plansProjection],
      name: 'price_plans',
      force: true,
    });
    expect(result.outcome).toBe('switched');
    const view = await db.pool.query(`SELECT definition FROM pg_views WHERE viewname = 'price_plan_versions'`);
    expect(view.rows[0].definition).toContain(`price_plan_versions__v2_r${result.build}`);
    expect({ plans: await plans(), versions: await versions() }).toEqual(before);
  });

  it('edits and publication of a draft in later batches move its row; published rows never change', async () => {
    const published = (await versions()).filter((r) => r.status === 'published');
    await run('acme', { type: 'UpdatePlanDraft', plan_key: 'pro', version: 2, changes: { name: 'Pro 2027' } });
    await project();
    const row = async () => (await plans()).find((r) => r.tenant_id === 'acme' && r.key === 'pro');
    expect((await row()).name).toBe('Pro 2026'); // a draft's name is not shown until it is published
    await run('acme', { type: 'UpdatePlanDraft', plan_key: 'pro', version: 2, changes: { currency: 'CHF' } });
    await run('acme', { type: 'PublishPlanVersion', plan_key: 'pro', version: 2 });
    await project();
    const after = await versions();
    expect(after.find((r) => r.key === 'pro' && r.version === 2 && r.tenant_id === 'acme')).toMatchObject({
      status: 'published',
      name: 'Pro 2027',
      currency: 'CHF',
      published_at: expect.any(Date),
    });
    expect(
      after.filter((r) =>
        published.some((p) => p.key === r.key && p.version === r.version && p.tenant_id === r.tenant_id),
      ),
    ).toEqual(published);
    expect(await row()).toMatchObject({
      name: 'Pro 2027',
      published_version: 2,
      draft_version: null,
      stream_revision: 6,
    });
  });
});
