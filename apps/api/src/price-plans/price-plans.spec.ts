import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((e) => e.field);

/** The catalog issue's example plan. */
const pro = {
  key: 'pro',
  name: 'Pro',
  currency: 'USD',
  billing_interval: 'month',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '49.00' },
    {
      key: 'api',
      metric_key: 'api_calls',
      model: 'tiered',
      tiers: [
        { up_to: '1000', unit_price: '0' },
        { up_to: '10000', unit_price: '0.002', flat_fee: '5' },
        { up_to: null, unit_price: '0.001' },
      ],
    },
    {
      key: 'storage',
      metric_key: 'storage_gb',
      model: 'volume',
      tiers: [
        { up_to: '100', unit_price: '0.5' },
        { up_to: null, unit_price: '0.25' },
      ],
    },
    {
      key: 'exports',
      metric_key: 'api_calls',
      model: 'package',
      package_size: '1000',
      package_price: '2',
      free_units: '500',
    },
    {
      key: 'by_region',
      metric_key: 'api_calls',
      model: 'matrix',
      dimensions: ['region'],
      prices: [{ match: { region: 'eu' }, unit_price: '0.003' }],
      default_unit_price: '0.004',
    },
    { key: 'premium', metric_key: 'api_calls', model: 'custom_formula', formula: 'max(0, usage - 100) * 0.01' },
    { key: 'seats', metric_key: 'storage_gb', model: 'per_unit', unit_price: 12, min_amount: '10', max_amount: '500' },
  ],
  minimum_commitment: '100.00',
  entitlements: {
    advanced_analytics: { type: 'boolean', value: true },
    api_calls_per_month: { type: 'limit', value: '100000', metric_key: 'api_calls' },
    model_tier: { type: 'config', value: 'gpt-4' },
  },
};

describe('price plans over HTTP', () => {
  let api: TestApi;
  let finance: string;
  let auditor: string;

  const post = (path: string, body?: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const get = (path: string, key?: string | null) => api.request('GET', path, { key });
  const eventsOf = async (key: string) => api.store.readStream(`default:plan-${key}`);
  const withCharges = (key: string, ...charges: unknown[]) => ({ ...pro, key, charges });

  beforeAll(async () => {
    api = await startTestApi();
    finance = (await post('/v1/api-keys', { role: 'finance', kind: 'secret' })).body.key;
    auditor = (await post('/v1/api-keys', { role: 'auditor', kind: 'secret' })).body.key;
    await post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum', group_by: ['region'] });
    await post('/v1/metrics', { key: 'storage_gb', name: 'Storage', aggregation: 'max' });
    await post('/v1/metrics', { key: 'old_calls', name: 'Old', aggregation: 'count' });
    await post('/v1/metrics/old_calls/archive');
  });
  afterAll(() => api?.close());

  describe('POST /v1/price-plans', () => {
    it('creates version 1 as a draft, normalized, every charge model: 201', async () => {
      const response = await api.request('POST', '/v1/price-plans', {
        body: pro,
        headers: { 'x-request-id': 'req-p-1' },
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        key: 'pro',
        name: 'Pro',
        status: 'active',
        latest_version: 1,
        published_version: null,
        draft_version: 1,
        archived_at: null,
      });
      const [version] = response.body.versions;
      expect(version).toMatchObject({
        version: 1,
        status: 'draft',
        currency: 'USD',
        minimum_commitment: '100',
        published_at: null,
      });
      expect(version.charges[0]).toEqual({ key: 'base', model: 'flat_fee', amount: '49' });
      expect(version.charges[6]).toEqual({
        key: 'seats',
        model: 'per_unit',
        metric_key: 'storage_gb',
        unit_price: '12',
        min_amount: '10',
        max_amount: '500',
      });
      expect(version.entitlements.api_calls_per_month).toEqual({
        type: 'limit',
        value: '100000',
        metric_key: 'api_calls',
      });
      const [event] = await eventsOf('pro');
      expect(event).toMatchObject({
        type: 'PlanDraftCreated',
        metadata: { tenant_id: 'default', actor: expect.stringMatching(/^key_/), request_id: 'req-p-1' },
      });
    });

    it('publishes version 1 at once with publish: true; the event holds the whole normalized version', async () => {
      const response = await post('/v1/price-plans', { ...pro, key: 'pro_now', publish: true });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        published_version: 1,
        draft_version: null,
        versions: [{ status: 'published' }],
      });
      const events = await eventsOf('pro_now');
      expect(events.map((e) => e.type)).toEqual(['PlanDraftCreated', 'PlanVersionPublished']);
      const { published_at: _p, plan_key: _k, version: _v, ...content } = events[1].data as Record<string, unknown>;
      const {
        created_at: _c,
        updated_at: _u,
        published_at: _pa,
        status: _s,
        version: _vv,
        ...shown
      } = response.body.versions[0];
      expect(content).toEqual(shown);
    });

    it('is idempotent: the same body again is 201 and records nothing; another body is 409 PLAN.ALREADY_EXISTS', async () => {
      const again = await post('/v1/price-plans', pro);
      expect(again.status).toBe(201);
      expect(await eventsOf('pro')).toHaveLength(1);
      expectProblem(await post('/v1/price-plans', { ...pro, name: 'Other' }), 409, 'PLAN.ALREADY_EXISTS');
    });

    it.each<[string, unknown, string[]]>([
      [
        'an unknown metric',
        withCharges('x1', { key: 'a', model: 'per_unit', metric_key: 'nope', unit_price: '1' }),
        ['charges[0].metric_key'],
      ],
      [
        'an archived metric',
        withCharges('x2', { key: 'a', model: 'per_unit', metric_key: 'old_calls', unit_price: '1' }),
        ['charges[0].metric_key'],
      ],
      [
        'tiers not ascending',
        withCharges('x3', pro.charges[0], {
          key: 'api',
          metric_key: 'api_calls',
          model: 'tiered',
          tiers: [
            { up_to: '100', unit_price: '1' },
            { up_to: '50', unit_price: '1' },
            { up_to: null, unit_price: '1' },
          ],
        }),
        ['charges[1].tiers[1].up_to'],
      ],
      [
        'two open-ended tiers',
        withCharges('x4', pro.charges[0], {
          key: 'api',
          metric_key: 'api_calls',
          model: 'tiered',
          tiers: [
            { up_to: '100', unit_price: '1' },
            { up_to: null, unit_price: '1' },
            { up_to: null, unit_price: '1' },
          ],
        }),
        ['charges[1].tiers[1].up_to'],
      ],
      ['a negative price', withCharges('x5', { key: 'base', model: 'flat_fee', amount: '-49' }), ['charges[0].amount']],
      [
        'a formula that does not parse',
        withCharges('x6', { key: 'f', metric_key: 'api_calls', model: 'custom_formula', formula: 'usage *' }),
        ['charges[0].formula'],
      ],
      ['a currency not in ISO 4217', { ...pro, key: 'x7', currency: 'BTC' }, ['currency']],
      ['duplicate charge keys', withCharges('x8', pro.charges[0], pro.charges[0]), ['charges[1].key']],
      [
        'matrix dimensions outside the metric group_by',
        withCharges('x9', { ...pro.charges[4], dimensions: ['country'], prices: [], default_unit_price: '1' }),
        ['charges[0].dimensions[0]'],
      ],
      [
        'entitlement shapes',
        {
          ...pro,
          key: 'x10',
          entitlements: {
            a: { type: 'limit', value: 'lots' },
            b: { type: 'limit', value: '1', metric_key: 'nope' },
            c: { type: 'flag' },
          },
        },
        ['entitlements.a.value', 'entitlements.b.metric_key', 'entitlements.c.type'],
      ],
      [
        'a bad key and a bad interval',
        { ...pro, key: 'bad key', billing_interval: 'quarter' },
        ['key', 'billing_interval'],
      ],
    ])('422 PLAN.INVALID for %s, naming each field; nothing recorded', async (_label, body, fields) => {
      const problem = expectProblem(await post('/v1/price-plans', body), 422, 'PLAN.INVALID');
      expect(fieldsOf(problem)).toEqual(fields);
      const key = (body as { key: string }).key;
      if (key !== 'bad key') await expect(eventsOf(key)).rejects.toThrow(/not found/);
    });

    it('400 for an unknown field, 401 without a key, 403 for finance and auditor keys', async () => {
      const unknown = expectProblem(
        await post('/v1/price-plans', { ...pro, key: 'y', colour: 'red' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(unknown.errors).toEqual([{ field: 'colour', message: 'unknown field' }]);
      expectProblem(
        await post('/v1/price-plans', { ...pro, key: 'y', publish: 'yes' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(await post('/v1/price-plans', { ...pro, key: 'y' }, null), 401, 'AUTH.UNAUTHENTICATED');
      expectProblem(await post('/v1/price-plans', { ...pro, key: 'y' }, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/price-plans', { ...pro, key: 'y' }, auditor), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('drafts, publication and versions', () => {
    beforeAll(async () => {
      await post('/v1/price-plans', { ...pro, key: 'flow' });
    });
    const patch = (path: string, body: unknown, key?: string) => api.request('PATCH', path, { body, key });

    it('PATCH replaces the given fields of a draft: 200 with the draft', async () => {
      const response = await patch('/v1/price-plans/flow/versions/1', { name: 'Flow', minimum_commitment: null });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        version: 1,
        status: 'draft',
        name: 'Flow',
        minimum_commitment: null,
        currency: 'USD',
      });
      expect(response.body.updated_at > response.body.created_at).toBe(true);
      const problem = expectProblem(
        await patch('/v1/price-plans/flow/versions/1', {
          charges: [{ key: 'a', model: 'per_unit', metric_key: 'nope', unit_price: '-1' }],
        }),
        422,
        'PLAN.INVALID',
      );
      expect(fieldsOf(problem)).toEqual(['charges[0].metric_key', 'charges[0].unit_price']);
      expectProblem(
        await patch('/v1/price-plans/flow/versions/1', { nickname: 'x' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(await patch('/v1/price-plans/flow/versions/1', { name: 'x' }, finance), 403, 'AUTH.FORBIDDEN');
    });

    it('publishes a draft (200); publishing twice records no new event', async () => {
      const published = await post('/v1/price-plans/flow/versions/1/publish');
      expect(published.status).toBe(200);
      expect(published.body).toMatchObject({
        version: 1,
        status: 'published',
        name: 'Flow',
        published_at: expect.any(String),
      });
      const count = (await eventsOf('flow')).length;
      const again = await post('/v1/price-plans/flow/versions/1/publish');
      expect(again.status).toBe(200);
      expect(again.body).toEqual(published.body);
      expect(await eventsOf('flow')).toHaveLength(count);
    });

    it('any change to a published version is 409 PLAN.VERSION_IMMUTABLE', async () => {
      expectProblem(await patch('/v1/price-plans/flow/versions/1', { name: 'Cheaper' }), 409, 'PLAN.VERSION_IMMUTABLE');
      expectProblem(await patch('/v1/price-plans/flow/versions/1', {}), 409, 'PLAN.VERSION_IMMUTABLE');
      expect((await get('/v1/price-plans/flow/versions/1')).body.name).toBe('Flow');
    });

    it('POST versions starts the next draft as a copy (201); a second open draft is 409 PLAN.DRAFT_EXISTS', async () => {
      const draft = await post('/v1/price-plans/flow/versions');
      expect(draft.status).toBe(201);
      const v1 = (await get('/v1/price-plans/flow/versions/1')).body;
      expect(draft.body).toMatchObject({
        version: 2,
        status: 'draft',
        name: v1.name,
        charges: v1.charges,
        entitlements: v1.entitlements,
      });
      expectProblem(await post('/v1/price-plans/flow/versions', { name: 'Third' }), 409, 'PLAN.DRAFT_EXISTS');
      await post('/v1/price-plans/flow/versions/2/publish');
      const third = await post('/v1/price-plans/flow/versions', { name: 'Flow 3', currency: 'EUR' });
      expect(third.body).toMatchObject({ version: 3, name: 'Flow 3', currency: 'EUR', status: 'draft' });
      const unknown = expectProblem(
        await post('/v1/price-plans/pro/versions', { label: 'x' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(unknown.errors).toEqual([{ field: 'label', message: 'unknown field' }]);
      expectProblem(await post('/v1/price-plans/pro/versions', ['x']), 400, 'REQUEST.INVALID_BODY');
    });

    it('GET a plan lists every version with its status; GET a version; 404 for unknown ones', async () => {
      const plan = await get('/v1/price-plans/flow', auditor);
      expect(plan.status).toBe(200);
      // The name shown is the published one's, not the draft's.
      expect(plan.body).toMatchObject({ latest_version: 3, published_version: 2, draft_version: 3, name: 'Flow' });
      expect(plan.body.versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
        [1, 'published'],
        [2, 'published'],
        [3, 'draft'],
      ]);
      expect((await get('/v1/price-plans/flow/versions/2', finance)).body).toEqual(plan.body.versions[1]);
      expectProblem(await get('/v1/price-plans/nope'), 404, 'PLAN.NOT_FOUND');
      expectProblem(await get('/v1/price-plans/bad%20key'), 404, 'PLAN.NOT_FOUND');
      for (const n of ['4', '0', 'x', '1.5']) {
        expectProblem(await get(`/v1/price-plans/flow/versions/${n}`), 404, 'PLAN.VERSION_NOT_FOUND');
      }
      expectProblem(
        await api.request('PATCH', '/v1/price-plans/flow/versions/9', { body: { name: 'x' } }),
        404,
        'PLAN.VERSION_NOT_FOUND',
      );
      expectProblem(await post('/v1/price-plans/nope/versions/1/publish'), 404, 'PLAN.NOT_FOUND');
      expectProblem(await post('/v1/price-plans/nope/versions'), 404, 'PLAN.NOT_FOUND');
      expectProblem(await get('/v1/price-plans/flow', null), 401, 'AUTH.UNAUTHENTICATED');
    });

    it('archives (200, idempotent): versions stay readable, no new drafts or publications', async () => {
      const archived = await post('/v1/price-plans/flow/archive');
      expect(archived.status).toBe(200);
      expect(archived.body).toMatchObject({ status: 'archived', archived_at: expect.any(String) });
      expect((await post('/v1/price-plans/flow/archive')).body).toEqual(archived.body);
      expect((await eventsOf('flow')).filter((e) => e.type === 'PlanArchived')).toHaveLength(1);
      expectProblem(await post('/v1/price-plans/flow/versions/3/publish'), 409, 'PLAN.ARCHIVED');
      expectProblem(await post('/v1/price-plans/flow/versions/3/publish', undefined, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/price-plans/nope/archive'), 404, 'PLAN.NOT_FOUND');
      expect((await get('/v1/price-plans/flow/versions/2')).status).toBe(200);
    });
  });

  describe('GET /v1/price-plans (read model)', () => {
    let projector: TestProjector;
    beforeAll(async () => {
      projector = await startTestProjector(api, { only: ['price_plans'] });
    });
    afterAll(() => projector?.stop());

    it('lists what GET /v1/price-plans/:key shows, by key, archived plans only when asked, page by page', async () => {
      await projector.caughtUp();
      const all = await get('/v1/price-plans?limit=100&include_archived=true', auditor);
      expect(all.status).toBe(200);
      const keys = all.body.data.map((p: { key: string }) => p.key);
      expect(keys).toEqual(['flow', 'pro', 'pro_now']);
      for (const plan of all.body.data) expect(plan).toEqual((await get(`/v1/price-plans/${plan.key}`)).body);
      const active = await get('/v1/price-plans?limit=100', finance);
      expect(active.body.data.map((p: { key: string }) => p.key)).toEqual(['pro', 'pro_now']);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await get(`/v1/price-plans?limit=1&include_archived=true${query}`);
        expect(page.body.data.length).toBeLessThanOrEqual(1);
        seen.push(...page.body.data.map((p: { key: string }) => p.key));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(keys);
    });

    it('400 for a bad cursor, limit or unknown parameter', async () => {
      for (const query of ['cursor=garbage', 'limit=101', 'colour=red']) {
        const problem = expectProblem(await get(`/v1/price-plans?${query}`), 400, 'REQUEST.VALIDATION_FAILED');
        expect(fieldsOf(problem)).toEqual([query.split('=')[0]]);
      }
    });
  });

  it('documents every price plan endpoint in /docs', async () => {
    const paths = (await get('/docs/json', null)).body.paths as Record<string, Record<string, { summary?: string }>>;
    for (const [path, method] of [
      ['/v1/price-plans', 'post'],
      ['/v1/price-plans', 'get'],
      ['/v1/price-plans/{key}', 'get'],
      ['/v1/price-plans/{key}/versions', 'post'],
      ['/v1/price-plans/{key}/versions/{n}', 'get'],
      ['/v1/price-plans/{key}/versions/{n}', 'patch'],
      ['/v1/price-plans/{key}/versions/{n}/publish', 'post'],
      ['/v1/price-plans/{key}/archive', 'post'],
    ]) {
      expect(paths[path]?.[method]?.summary).toEqual(expect.any(String));
    }
  });
});
