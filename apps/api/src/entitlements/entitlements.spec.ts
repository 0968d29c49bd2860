import { DateTime } from 'luxon';
import { eventually, startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

/*
 * GET /v1/entitlements/check and GET /v1/entitlements over real HTTP, with the projector running
 * in-process: limits against the usage of the current billing period (pre-aggregated buckets),
 * boolean and config features, overrides, customers without a subscription in force, keys, errors, lag.
 */

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  expect(response.status).toBe(status);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const PRO_ENTITLEMENTS = {
  api_calls_per_month: { type: 'limit', value: '100', metric_key: 'api_calls' },
  seats: { type: 'limit', value: '10' },
  advanced_analytics: { type: 'boolean', value: true },
  beta_feature: { type: 'boolean', value: false },
  model_tier: { type: 'config', value: 'gpt-4' },
};

describe('entitlements over HTTP', () => {
  let api: TestApi;
  let projector: TestProjector;
  let publishable: string;
  let ingest: string;
  let auditor: string;
  let sequence = 0;
  const subscriptionOf = new Map<string, string>();

  const post = (path: string, body?: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const check = (customer_id: string, feature: string, key?: string | null) =>
    api.request('GET', `/v1/entitlements/check?${query({ customer_id, feature })}`, { key });
  const list = (customer_id: string, key?: string | null) =>
    api.request('GET', `/v1/entitlements?${query({ customer_id })}`, { key });
  // The current calendar month in UTC: the billing period of a calendar-anchored subscription of a UTC customer.
  const month = () => {
    const start = DateTime.utc().startOf('month');
    return { start: start.toISO()!, end: start.plus({ months: 1 }).toISO()!, previous: start.minus({ days: 1 }) };
  };
  const record = async (customer_id: string, value: string, timestamp: string) => {
    const body = { customer_id, metric_key: 'api_calls', value, timestamp, idempotency_key: `ent-${++sequence}` };
    expect((await post('/v1/events', body, ingest)).status).toBe(202);
  };
  const inThisPeriod = () => DateTime.fromISO(month().start).plus({ seconds: 1 }).toUTC().toISO()!;
  const customer = async (id: string) =>
    expect((await post('/v1/customers', { id, name: id, currency: 'USD', timezone: 'UTC' })).status).toBe(201);
  const subscribe = async (customer_id: string, extra: Record<string, unknown> = {}) => {
    const response = await post('/v1/subscriptions', {
      customer_id,
      plan_key: 'pro',
      start_date: '2024-01-01',
      billing_anchor: 'calendar',
      ...extra,
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    const key = async (role: string, kind = 'secret') => (await post('/v1/api-keys', { role, kind })).body.key;
    [publishable, ingest, auditor] = [await key('auditor', 'publishable'), await key('ingest'), await key('auditor')];
    expect((await post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum' })).status).toBe(201);
    const plan = { currency: 'USD', billing_interval: 'month', charges: [], publish: true };
    expect(
      (await post('/v1/price-plans', { ...plan, key: 'pro', name: 'Pro', entitlements: PRO_ENTITLEMENTS })).status,
    ).toBe(201);
    const basic = { advanced_analytics: { type: 'boolean', value: false } };
    expect((await post('/v1/price-plans', { ...plan, key: 'basic', name: 'Basic', entitlements: basic })).status).toBe(
      201,
    );
    for (const id of ['cust_acme', 'cust_prev', 'cust_vip', 'cust_none', 'cust_fresh', 'cust_future']) {
      await customer(id);
    }
    for (const id of ['cust_cancel', 'cust_later', 'cust_change']) await customer(id);
    for (const id of ['cust_acme', 'cust_prev', 'cust_cancel', 'cust_later', 'cust_change']) {
      subscriptionOf.set(id, await subscribe(id));
    }
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  describe('a limit on a metric', () => {
    it('counts the usage of the current billing period: below, at and above the limit', async () => {
      await record('cust_acme', '60', inThisPeriod());
      await projector.caughtUp();
      const below = await check('cust_acme', 'api_calls_per_month');
      expect(below.status).toBe(200);
      expect(below.body).toEqual({
        customer_id: 'cust_acme',
        feature: 'api_calls_per_month',
        type: 'limit',
        granted: true,
        limit: '100',
        metric_key: 'api_calls',
        usage: '60',
        remaining: '40',
        exceeded: false,
        period_start: month().start,
        period_end: month().end,
        meta: { consistency: 'eventual', lag_seconds: expect.any(Number), subscription_id: expect.any(String) },
      });

      await record('cust_acme', '40', inThisPeriod());
      await projector.caughtUp();
      expect((await check('cust_acme', 'api_calls_per_month')).body).toMatchObject({
        granted: true,
        usage: '100',
        remaining: '0',
        exceeded: false,
      });

      await record('cust_acme', '0.5', inThisPeriod());
      await projector.caughtUp();
      const above = (await check('cust_acme', 'api_calls_per_month')).body;
      expect(above).toMatchObject({ granted: false, reason: 'limit_exceeded', usage: '100.5', remaining: '0' });
      expect(above.exceeded).toBe(true);
    });

    it('does not count the usage of the previous period', async () => {
      await record('cust_prev', '1000', month().previous.toISO()!);
      await record('cust_prev', '5', inThisPeriod());
      await projector.caughtUp();
      expect((await check('cust_prev', 'api_calls_per_month')).body).toMatchObject({
        usage: '5',
        remaining: '95',
        exceeded: false,
      });
      // The earlier event is projected: it is in the previous month's usage.
      const previousMonth = DateTime.fromISO(month().start).minus({ months: 1 }).toUTC().toISO()!;
      const summary = await api.request(
        'GET',
        `/v1/usage/summary?${query({ customer_id: 'cust_prev', metric_key: 'api_calls', period_start: previousMonth, period_end: month().start })}`,
      );
      expect(summary.body.value).toBe('1000');
    });

    it('a limit without a metric carries its number only', async () => {
      expect((await check('cust_acme', 'seats')).body).toMatchObject({
        type: 'limit',
        granted: true,
        limit: '10',
        metric_key: null,
        usage: null,
        remaining: null,
        exceeded: null,
      });
    });
  });

  describe('boolean, config and unknown features', () => {
    it('a boolean is granted as its value', async () => {
      expect((await check('cust_acme', 'advanced_analytics')).body).toMatchObject({
        feature: 'advanced_analytics',
        type: 'boolean',
        granted: true,
        value: true,
      });
      const off = (await check('cust_acme', 'beta_feature')).body;
      expect(off).toMatchObject({ type: 'boolean', granted: false, value: false });
    });

    it('a config feature is granted with its value', async () => {
      expect((await check('cust_acme', 'model_tier')).body).toMatchObject({
        type: 'config',
        granted: true,
        value: 'gpt-4',
      });
    });

    it('an unknown feature is 200 with type null, granted false (never a 404)', async () => {
      for (const feature of ['teleportation', 'constructor', '__proto__']) {
        const response = await check('cust_acme', feature);
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ feature, type: null, granted: false, reason: 'unknown_feature' });
      }
    });
  });

  describe('per-subscription overrides', () => {
    it('override entitlements win over the plan version (replaced and added features)', async () => {
      await subscribe('cust_vip', {
        overrides: {
          entitlements: {
            api_calls_per_month: { type: 'limit', value: '1000', metric_key: 'api_calls' },
            beta_feature: { type: 'boolean', value: true },
            sso: { type: 'boolean', value: true },
          },
        },
      });
      expect((await check('cust_vip', 'api_calls_per_month')).body).toMatchObject({ limit: '1000', usage: '0' });
      expect((await check('cust_vip', 'beta_feature')).body).toMatchObject({ granted: true, value: true });
      expect((await check('cust_vip', 'sso')).body).toMatchObject({ type: 'boolean', granted: true });
      expect((await check('cust_vip', 'model_tier')).body).toMatchObject({ value: 'gpt-4' }); // not overridden
    });

    it('an invalid override is refused when subscribing (422 naming the field)', async () => {
      const response = await post('/v1/subscriptions', {
        customer_id: 'cust_none',
        plan_key: 'pro',
        start_date: '2024-01-01',
        overrides: { entitlements: { api_calls_per_month: { type: 'limit', value: '-1', metric_key: 'api_calls' } } },
      });
      const problem = expectProblem(response, 422, 'SUBSCRIPTION.INVALID');
      expect(problem.errors.map((e: { field: string }) => e.field)).toEqual([
        'overrides.entitlements.api_calls_per_month.value',
      ]);
    });
  });

  describe('customers without a subscription in force', () => {
    it('no subscription: every feature is denied with a reason; the list is empty', async () => {
      expect((await check('cust_none', 'advanced_analytics')).body).toEqual({
        customer_id: 'cust_none',
        feature: 'advanced_analytics',
        type: null,
        granted: false,
        reason: 'no_live_subscription',
        meta: { consistency: 'eventual', lag_seconds: expect.any(Number), subscription_id: null },
      });
      expect((await list('cust_none')).body).toMatchObject({
        customer_id: 'cust_none',
        data: [],
        next_cursor: null,
        reason: 'no_live_subscription',
      });
    });

    it('a subscription started just before is seen by the very next check (read-your-writes)', async () => {
      expect((await check('cust_fresh', 'model_tier')).body.reason).toBe('no_live_subscription');
      const id = await subscribe('cust_fresh');
      expect((await check('cust_fresh', 'model_tier')).body).toMatchObject({
        granted: true,
        value: 'gpt-4',
        meta: { subscription_id: id },
      });
    });

    it('a subscription that has not started yet grants nothing', async () => {
      await subscribe('cust_future', { start_date: DateTime.utc().plus({ years: 1 }).toISODate() });
      expect((await check('cust_future', 'advanced_analytics')).body).toMatchObject({
        granted: false,
        reason: 'subscription_not_started',
      });
    });

    it('cancelled: granted until its end, denied after it', async () => {
      expect((await check('cust_cancel', 'advanced_analytics')).body.granted).toBe(true);
      const cancel = (customerId: string, at: string) =>
        post(`/v1/subscriptions/${subscriptionOf.get(customerId)}/cancel`, { at });
      expect((await cancel('cust_later', 'period_end')).status).toBe(200);
      expect((await cancel('cust_cancel', 'now')).status).toBe(200);
      const denied = await eventually(async () => {
        const body = (await check('cust_cancel', 'advanced_analytics')).body;
        return body.granted === false && body;
      }, 'the cancellation to reach the entitlement check');
      expect(denied).toMatchObject({ type: null, reason: 'subscription_ended', meta: { subscription_id: null } });
      // Cancelled before (log order, so applied already) but live until its period ends.
      expect((await check('cust_later', 'advanced_analytics')).body).toMatchObject({ granted: true, value: true });
    });

    it("a plan change switches to the new plan's entitlements", async () => {
      const changed = await post(`/v1/subscriptions/${subscriptionOf.get('cust_change')}/change-plan`, {
        plan_key: 'basic',
        at: 'now',
      });
      expect(changed.status).toBe(201);
      const after = await eventually(async () => {
        const body = (await check('cust_change', 'advanced_analytics')).body;
        return body.meta.subscription_id === changed.body.id && body;
      }, 'the plan change to reach the entitlement check');
      expect(after).toMatchObject({ type: 'boolean', granted: false, value: false });
      expect((await check('cust_change', 'model_tier')).body.reason).toBe('unknown_feature');
    });
  });

  describe('GET /v1/entitlements', () => {
    it('lists every feature of the subscription in force, each as the check answers it', async () => {
      const response = await list('cust_acme');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        customer_id: 'cust_acme',
        next_cursor: null,
        meta: { consistency: 'eventual', subscription_id: expect.any(String) },
      });
      // By key (code point order).
      expect(response.body.data.map((e: { feature: string }) => e.feature)).toEqual(
        Object.keys(PRO_ENTITLEMENTS).sort(),
      );
      for (const entry of response.body.data) {
        const { customer_id: _customer, meta: _meta, ...single } = (await check('cust_acme', entry.feature)).body;
        expect(entry).toEqual(single);
      }
    });
  });

  describe('keys and errors', () => {
    it('publishable keys and auditor keys may check and list; ingest keys may not (403); no key is 401', async () => {
      for (const key of [publishable, auditor]) {
        expect((await check('cust_acme', 'model_tier', key)).status).toBe(200);
        expect((await list('cust_acme', key)).status).toBe(200);
      }
      expectProblem(await check('cust_acme', 'model_tier', ingest), 403, 'AUTH.FORBIDDEN');
      expectProblem(await list('cust_acme', ingest), 403, 'AUTH.FORBIDDEN');
      expectProblem(await check('cust_acme', 'model_tier', null), 401, 'AUTH.UNAUTHENTICATED');
    });

    it('an unknown customer is 404; so is a customer of another tenant', async () => {
      expectProblem(await check('cust_nobody', 'model_tier'), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await list('cust_nobody'), 404, 'CUSTOMER.NOT_FOUND');
      const other = (await post('/v1/tenants', { name: 'Other tenant' })).body.admin_key;
      const created = await post('/v1/customers', { id: 'cust_other', name: 'O', currency: 'USD' }, other);
      expect(created.status).toBe(201);
      expect((await check('cust_other', 'model_tier', other)).status).toBe(200); // exists in its own tenant
      expectProblem(await check('cust_other', 'model_tier'), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await list('cust_other'), 404, 'CUSTOMER.NOT_FOUND');
    });

    it('a missing query field is 400 naming it', async () => {
      // Each failed rule of a field is an entry of its own: compare the set of fields.
      const fieldsOf = (response: TestResponse) => [
        ...new Set(
          expectProblem(response, 400, 'REQUEST.VALIDATION_FAILED').errors.map((e: { field: string }) => e.field),
        ),
      ];
      expect(fieldsOf(await api.request('GET', '/v1/entitlements/check?customer_id=cust_acme'))).toEqual(['feature']);
      expect(fieldsOf(await api.request('GET', '/v1/entitlements/check?feature=model_tier'))).toEqual(['customer_id']);
      expect(fieldsOf(await api.request('GET', '/v1/entitlements'))).toEqual(['customer_id']);
    });
  });

  describe('meta.lag_seconds', () => {
    it('is 0 once the projector has caught up, above 0 while it is behind', async () => {
      await projector.caughtUp();
      const lagOf = async () => (await check('cust_acme', 'api_calls_per_month')).body.meta.lag_seconds as number;
      await eventually(async () => (await lagOf()) === 0, 'lag_seconds 0 after catch-up');
      await projector.stop();
      await record('cust_acme', '1', inThisPeriod());
      await eventually(async () => (await lagOf()) > 0, 'lag_seconds above 0 while the projector is stopped');
      projector = await startTestProjector(api);
      await projector.caughtUp();
      await eventually(async () => (await lagOf()) === 0, 'lag_seconds 0 after catching up again');
      expect((await check('cust_acme', 'api_calls_per_month')).body.usage).toBe('101.5');
    });
  });
});
