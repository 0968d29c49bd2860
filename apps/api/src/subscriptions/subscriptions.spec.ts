import { prorationFactor } from '#domain';
import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

const NY = 'America/New_York';

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((e) => e.field);

const proPlan = {
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
        { up_to: null, unit_price: '0.001' },
      ],
    },
  ],
  entitlements: { api_calls_per_month: { type: 'limit', value: '100000', metric_key: 'api_calls' } },
};

describe('subscriptions over HTTP', () => {
  let api: TestApi;
  let finance: string;
  let auditor: string;
  let ingest: string;

  const post = (path: string, body?: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const get = (path: string, key?: string | null) => api.request('GET', path, { key });
  const eventsOf = async (id: string) => api.store.readStream(`default:subscription-${id}`);
  const subscribe = (body: Record<string, unknown>, key?: string) =>
    post('/v1/subscriptions', { customer_id: 'c_ny', plan_key: 'pro', start_date: '2030-01-31', ...body }, key);

  beforeAll(async () => {
    api = await startTestApi();
    const key = async (role: string) => (await post('/v1/api-keys', { role, kind: 'secret' })).body.key;
    [finance, auditor, ingest] = [await key('finance'), await key('auditor'), await key('ingest')];
    await post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum', group_by: ['region'] });
    for (const [id, currency, timezone] of [
      ['c_ny', 'USD', 'America/New_York'],
      ['c_eur', 'EUR', 'Europe/Berlin'],
      ['c_gone', 'USD', 'UTC'],
      ['c_live', 'USD', 'UTC'],
    ]) {
      expect((await post('/v1/customers', { id, name: id, currency, timezone })).status).toBe(201);
    }
    await post('/v1/customers/c_gone/archive');
    expect((await post('/v1/price-plans', { ...proPlan, publish: true })).status).toBe(201);
    expect((await post('/v1/price-plans/pro/versions', { name: 'Pro 2' })).status).toBe(201); // v2: a draft
    await post('/v1/price-plans', {
      ...proPlan,
      key: 'team',
      name: 'Team',
      charges: [{ key: 'seat', model: 'flat_fee', amount: '99' }],
      publish: true,
    });
    await post('/v1/price-plans', { ...proPlan, key: 'old', publish: true });
    await post('/v1/price-plans/old/archive');
  });
  afterAll(() => api?.close());

  describe('POST /v1/subscriptions', () => {
    it('locks the latest published version; current_period in the customer zone, month-end anchor clamped', async () => {
      const response = await api.request('POST', '/v1/subscriptions', {
        body: { customer_id: 'c_ny', plan_key: 'pro', start_date: '2030-01-31' },
        headers: { 'x-request-id': 'req-s-1' },
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        id: expect.stringMatching(/^sub_[0-9a-f]{24}$/),
        customer_id: 'c_ny',
        plan_key: 'pro',
        plan_version: 1,
        status: 'active',
        live: true,
        currency: 'USD',
        timezone: 'America/New_York',
        billing_interval: 'month',
        start_date: '2030-01-31T05:00:00.000Z', // midnight in New York
        billing_anchor: { kind: 'anniversary', at: '2030-01-31T05:00:00.000Z' },
        current_period: { start: '2030-01-31T05:00:00.000Z', end_exclusive: '2030-02-28T05:00:00.000Z' },
        ends_at: null,
        overrides: { charges: {} },
        previous_subscription_id: null,
        next_subscription_id: null,
        final_period: null,
      });
      expect(response.body.charges).toEqual((await get('/v1/price-plans/pro/versions/1')).body.charges);
      const [event] = await eventsOf(response.body.id);
      expect(event).toMatchObject({
        type: 'SubscriptionStarted',
        metadata: { tenant_id: 'default', actor: expect.stringMatching(/^key_/), request_id: 'req-s-1' },
      });
    });

    it('a later plan version never changes a subscription', async () => {
      const subscription = (await subscribe({})).body;
      expect((await post('/v1/price-plans/pro/versions/2/publish')).status).toBe(200);
      try {
        const after = await get(`/v1/subscriptions/${subscription.id}`);
        expect(after.body).toMatchObject({ plan_version: 1, charges: subscription.charges });
        expect((await subscribe({})).body.plan_version).toBe(2);
        expect((await subscribe({ plan_version: 1 })).body.plan_version).toBe(1);
      } finally {
        await post('/v1/price-plans/pro/versions', { name: 'Pro 3' }); // keep a draft open for the next tests
      }
    });

    it('a calendar anchor gives calendar periods; a past start has the period of now; finance keys may subscribe', async () => {
      const calendar = await subscribe({ start_date: '2030-01-15', billing_anchor: 'calendar' }, finance);
      expect(calendar.status).toBe(201);
      expect(calendar.body.current_period).toEqual({
        start: '2030-01-01T05:00:00.000Z',
        end_exclusive: '2030-02-01T05:00:00.000Z',
      });
      expect(calendar.body.first_period).toMatchObject({ factor: '0.5483870968' }); // 17 of 31 days
      const past = await subscribe({ start_date: '2024-02-29T10:00:00Z' });
      const { start, end_exclusive } = past.body.current_period;
      expect(Date.parse(start) <= Date.now() && Date.now() < Date.parse(end_exclusive)).toBe(true);
      // The anchor's wall-clock time in the customer's zone (05:00 EST), whatever the DST offset today.
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', timeStyle: 'short' });
      expect(local.format(new Date(start))).toBe('05:00');
    });

    it('lays overrides over the plan charges (enterprise pricing)', async () => {
      const response = await subscribe({
        overrides: { charges: { base: { amount: '39' }, api: { tiers: [{ up_to: null, unit_price: '0.0005' }] } } },
      });
      expect(response.status).toBe(201);
      expect(response.body.charges).toEqual([
        { key: 'base', model: 'flat_fee', amount: '39' },
        { key: 'api', model: 'tiered', metric_key: 'api_calls', tiers: [{ up_to: null, unit_price: '0.0005' }] },
      ]);
      expect(Object.keys(response.body.overrides.charges)).toEqual(['base', 'api']);
    });

    it.each<[string, Record<string, unknown>, string[]]>([
      ['a draft version', { plan_version: 3 }, ['plan_version']],
      ['an unknown version', { plan_version: 42 }, ['plan_version']],
      ['an unknown customer', { customer_id: 'ghost' }, ['customer_id']],
      ['an archived customer', { customer_id: 'c_gone' }, ['customer_id']],
      ['a customer in another currency', { customer_id: 'c_eur' }, ['plan_key']],
      ['an unknown plan', { plan_key: 'gold' }, ['plan_key']],
      ['an archived plan', { plan_key: 'old' }, ['plan_key']],
      ['a bad start date', { start_date: 'tomorrow' }, ['start_date']],
      ['a bad anchor', { billing_anchor: 'weekly' }, ['billing_anchor']],
      [
        'an override of an unknown charge',
        { overrides: { charges: { nope: { amount: '1' } } } },
        ['overrides.charges.nope'],
      ],
      [
        'an invalid override',
        { overrides: { charges: { base: { amount: '-1' } } } },
        ['overrides.charges.base.amount'],
      ],
    ])('422 SUBSCRIPTION.INVALID for %s, naming the field; nothing recorded', async (_label, body, fields) => {
      const before = (await api.store.readAll(null, { types: ['SubscriptionStarted'], maxCount: 10_000 })).events
        .length;
      const problem = expectProblem(await subscribe(body), 422, 'SUBSCRIPTION.INVALID');
      expect(fieldsOf(problem)).toEqual(fields);
      expect((await api.store.readAll(null, { types: ['SubscriptionStarted'], maxCount: 10_000 })).events).toHaveLength(
        before,
      );
    });

    it('400 unknown field, 401 without a key, 403 for auditor and ingest keys', async () => {
      const problem = expectProblem(await subscribe({ discount: '10' }), 400, 'REQUEST.VALIDATION_FAILED');
      expect(problem.errors).toEqual([{ field: 'discount', message: 'unknown field' }]);
      expectProblem(await post('/v1/subscriptions', { customer_id: 'c_ny' }, null), 401, 'AUTH.UNAUTHENTICATED');
      expectProblem(await subscribe({}, auditor), 403, 'AUTH.FORBIDDEN');
      expectProblem(await subscribe({}, ingest), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('GET /v1/subscriptions/:id', () => {
    it('reads one subscription (auditor and finance too); 404 for unknown ids', async () => {
      const created = (await subscribe({})).body;
      for (const key of [undefined, auditor, finance]) {
        const response = await get(`/v1/subscriptions/${created.id}`, key);
        expect(response.status).toBe(200);
        expect(response.body).toEqual(created);
      }
      expectProblem(await get('/v1/subscriptions/sub_000000000000000000000000'), 404, 'SUBSCRIPTION.NOT_FOUND');
      expectProblem(await get('/v1/subscriptions/not-an-id'), 404, 'SUBSCRIPTION.NOT_FOUND');
      expectProblem(await get(`/v1/subscriptions/${created.id}`, ingest), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('POST /v1/subscriptions/:id/cancel', () => {
    it('now: ends at once, the last period prorated; cancelling twice records nothing', async () => {
      const created = (await subscribe({ start_date: '2024-01-01' })).body;
      const cancelled = await post(`/v1/subscriptions/${created.id}/cancel`, { at: 'now' }, finance);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({
        status: 'cancelled',
        live: false,
        current_period: null,
        ends_at: expect.any(String),
      });
      expect(cancelled.body.final_period).toMatchObject({ active_to_exclusive: cancelled.body.ends_at });
      const again = await post(`/v1/subscriptions/${created.id}/cancel`, { at: 'period_end' });
      expect(again.status).toBe(200);
      expect(again.body.ends_at).toBe(cancelled.body.ends_at);
      expect((await eventsOf(created.id)).map((e) => e.type)).toEqual(['SubscriptionStarted', 'SubscriptionCancelled']);
    });

    it('period_end: stays live until the end of its current period', async () => {
      const created = (await subscribe({})).body;
      const cancelled = await post(`/v1/subscriptions/${created.id}/cancel`, { at: 'period_end' });
      expect(cancelled.body).toMatchObject({
        status: 'cancelled',
        live: true,
        ends_at: '2030-02-28T05:00:00.000Z',
        current_period: created.current_period,
        final_period: { factor: '1' },
      });
    });

    it('400 for a missing or unknown `at`, 403 for auditors, 404 for unknown subscriptions', async () => {
      const created = (await subscribe({})).body;
      for (const body of [{}, { at: 'tomorrow' }]) {
        expect(
          fieldsOf(
            expectProblem(await post(`/v1/subscriptions/${created.id}/cancel`, body), 400, 'REQUEST.VALIDATION_FAILED'),
          ),
        ).toEqual(['at']);
      }
      expectProblem(
        await post(`/v1/subscriptions/${created.id}/cancel`, { at: 'now' }, auditor),
        403,
        'AUTH.FORBIDDEN',
      );
      expectProblem(await post('/v1/subscriptions/sub_missing/cancel', { at: 'now' }), 404, 'SUBSCRIPTION.NOT_FOUND');
    });
  });

  describe('POST /v1/subscriptions/:id/change-plan', () => {
    it('now: ends this one and starts the next on the same anchor, both partial periods prorated: 201', async () => {
      const old = (await subscribe({ start_date: '2024-01-31' })).body;
      const response = await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'now' });
      expect(response.status).toBe(201);
      const next = response.body;
      expect(next).toMatchObject({
        id: expect.stringMatching(/^sub_/),
        customer_id: 'c_ny',
        plan_key: 'team',
        plan_version: 1,
        status: 'active',
        previous_subscription_id: old.id,
        billing_anchor: old.billing_anchor,
        first_period: { flat_fees: [{ charge_key: 'seat', proration_factor: next.first_period.factor }] },
      });
      const ended = (await get(`/v1/subscriptions/${old.id}`)).body;
      expect(ended).toMatchObject({
        status: 'plan_changed',
        live: false,
        next_subscription_id: next.id,
        ends_at: next.start_date,
      });
      expect(ended.final_period).toMatchObject({
        period: next.first_period.period,
        flat_fees: [{ charge_key: 'base', proration_factor: ended.final_period.factor }],
      });
      // Both factors are the domain's proration of each partial period (the change day counts in both).
      expect(ended.final_period.factor).toBe(
        prorationFactor(ended.final_period.period, old.start_date, next.start_date, NY),
      );
      expect(next.first_period.factor).toBe(prorationFactor(next.first_period.period, next.start_date, null, NY));
      const [changed] = (await eventsOf(old.id)).slice(1);
      expect(changed).toMatchObject({ type: 'SubscriptionPlanChanged', data: { next_subscription_id: next.id } });
    });

    it('the same change again answers the same successor and records nothing; another change is 409 SUBSCRIPTION.ENDED', async () => {
      const old = (await subscribe({})).body;
      const first = await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'period_end' });
      expect(first.body).toMatchObject({
        start_date: '2030-02-28T05:00:00.000Z',
        first_period: { factor: '1' },
        live: true,
      });
      const again = await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'period_end' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await eventsOf(old.id)).toHaveLength(2);
      expect(await eventsOf(first.body.id)).toHaveLength(1);
      expectProblem(
        await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'pro', plan_version: 2, at: 'now' }),
        409,
        'SUBSCRIPTION.ENDED',
      );
      expectProblem(
        await post(`/v1/subscriptions/${first.body.id}/change-plan`, { plan_key: 'old', at: 'now' }),
        422,
        'SUBSCRIPTION.INVALID',
      );
    });

    it('a draft target is 422 naming plan_version and ends nothing; 400, 403 and 404 as elsewhere', async () => {
      const old = (await subscribe({})).body;
      const problem = expectProblem(
        await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'pro', plan_version: 3, at: 'now' }),
        422,
        'SUBSCRIPTION.INVALID',
      );
      expect(fieldsOf(problem)).toEqual(['plan_version']);
      expect(await eventsOf(old.id)).toHaveLength(1);
      expectProblem(
        await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'later' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(
        await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'now', extra: 1 }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(
        await post(`/v1/subscriptions/${old.id}/change-plan`, { plan_key: 'team', at: 'now' }, auditor),
        403,
        'AUTH.FORBIDDEN',
      );
      expectProblem(
        await post('/v1/subscriptions/sub_missing/change-plan', { plan_key: 'team', at: 'now' }),
        404,
        'SUBSCRIPTION.NOT_FOUND',
      );
    });
  });

  describe('a customer with a live subscription cannot be archived', () => {
    it('409 CUSTOMER.HAS_LIVE_SUBSCRIPTIONS while one is live (counted from the log: no projector yet); 200 once it ended', async () => {
      const live = (await subscribe({ customer_id: 'c_live', start_date: '2024-01-01' })).body;
      expectProblem(await post('/v1/customers/c_live/archive'), 409, 'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS');
      await post(`/v1/subscriptions/${live.id}/cancel`, { at: 'now' });
      const archived = await post('/v1/customers/c_live/archive');
      expect(archived.status).toBe(200);
      expect(archived.body.archived_at).toEqual(expect.any(String));
    });
  });

  describe('a metric live subscriptions bill or limit cannot be archived', () => {
    const planOn = (key: string, extra: Record<string, unknown>) =>
      post('/v1/price-plans', {
        key,
        name: key,
        currency: 'USD',
        billing_interval: 'month',
        charges: [{ key: 'base', model: 'flat_fee', amount: '10.00' }],
        publish: true,
        ...extra,
      });

    it('409 METRIC.IN_USE naming the subscriptions (from the log: no projector yet), for a charge or an entitlement limit; 200 once they ended', async () => {
      const customer = { id: 'c_metric', name: 'Metric user', currency: 'USD', timezone: 'UTC' };
      expect((await post('/v1/customers', customer)).status).toBe(201);
      for (const key of ['m_billed', 'm_limited', 'm_unused']) {
        expect((await post('/v1/metrics', { key, name: key, aggregation: 'sum' })).status).toBe(201);
      }
      const billedCharges = [
        { key: 'base', model: 'flat_fee', amount: '10.00' },
        { key: 'usage', metric_key: 'm_billed', model: 'per_unit', unit_price: '0.01' },
      ];
      expect((await planOn('p_billed', { charges: billedCharges })).status).toBe(201);
      const limit = { calls: { type: 'limit', value: '10', metric_key: 'm_limited' } };
      expect((await planOn('p_limited', { entitlements: limit })).status).toBe(201);
      const billed = (await subscribe({ customer_id: 'c_metric', plan_key: 'p_billed', start_date: '2024-01-01' }))
        .body;
      const limited = (await subscribe({ customer_id: 'c_metric', plan_key: 'p_limited', start_date: '2024-01-01' }))
        .body;
      for (const [metric, id] of [
        ['m_billed', billed.id],
        ['m_limited', limited.id],
      ]) {
        const refused = expectProblem(await post(`/v1/metrics/${metric}/archive`), 409, 'METRIC.IN_USE');
        expect(refused.detail).toContain(`1 live subscription(s) (${id})`);
        expect((await get(`/v1/metrics/${metric}`)).body.archived_at).toBeNull();
      }
      expect((await post('/v1/metrics/m_unused/archive')).status).toBe(200);
      await post(`/v1/subscriptions/${billed.id}/cancel`, { at: 'now' });
      await post(`/v1/subscriptions/${limited.id}/cancel`, { at: 'now' });
      for (const metric of ['m_billed', 'm_limited']) {
        const archived = await post(`/v1/metrics/${metric}/archive`);
        expect(archived.status).toBe(200);
        expect(archived.body.archived_at).toEqual(expect.any(String));
      }
    });

    it('422 for a new subscription (or a plan change) to a version that bills or limits a metric archived since; an override of it starts', async () => {
      const customer = { id: 'c_archived_metric', name: 'Late', currency: 'USD', timezone: 'UTC' };
      expect((await post('/v1/customers', customer)).status).toBe(201);
      for (const key of ['m_gone', 'm_kept']) {
        expect((await post('/v1/metrics', { key, name: key, aggregation: 'sum' })).status).toBe(201);
      }
      const charges = [
        { key: 'base', model: 'flat_fee', amount: '10.00' },
        { key: 'usage', metric_key: 'm_gone', model: 'per_unit', unit_price: '0.01' },
      ];
      const entitlements = { calls: { type: 'limit', value: '10', metric_key: 'm_gone' } };
      expect((await planOn('p_gone', { charges, entitlements })).status).toBe(201);
      expect((await planOn('p_plain', {})).status).toBe(201);
      const plain = (await subscribe({ customer_id: customer.id, plan_key: 'p_plain', start_date: '2024-01-01' })).body;
      expect((await post('/v1/metrics/m_gone/archive')).status).toBe(200);
      const before = (await api.store.readAll(null, { types: ['SubscriptionStarted'], maxCount: 10_000 })).events
        .length;

      const refused = expectProblem(
        await subscribe({ customer_id: customer.id, plan_key: 'p_gone', start_date: '2024-01-01' }),
        422,
        'SUBSCRIPTION.INVALID',
      );
      expect(fieldsOf(refused)).toEqual(['plan_key', 'plan_key']);
      expect(refused.errors[0].message).toContain(
        'charge "usage" of version 1 bills metric "m_gone", which is archived',
      );
      const change = await post(`/v1/subscriptions/${plain.id}/change-plan`, {
        plan_key: 'p_gone',
        plan_version: 1,
        at: 'now',
      });
      expect(fieldsOf(expectProblem(change, 422, 'SUBSCRIPTION.INVALID'))).toEqual(['plan_version', 'plan_version']);
      expect((await get(`/v1/subscriptions/${plain.id}`)).body.status).toBe('active');
      expect((await api.store.readAll(null, { types: ['SubscriptionStarted'], maxCount: 10_000 })).events).toHaveLength(
        before,
      );

      const overrides = {
        charges: { usage: { metric_key: 'm_kept' } },
        entitlements: { calls: { type: 'limit', value: '10', metric_key: 'm_kept' } },
      };
      const started = await subscribe({
        customer_id: customer.id,
        plan_key: 'p_gone',
        start_date: '2024-01-01',
        overrides,
      });
      expect(started.status).toBe(201);
    });

    it('a subscription started at the same moment as the archive of its metric or its customer: one of the two is refused, never both accepted', async () => {
      const pairs = 12;
      for (let i = 0; i < pairs; i++) {
        const metric = `m_race_${i}`;
        expect((await post('/v1/metrics', { key: metric, name: metric, aggregation: 'sum' })).status).toBe(201);
        const charges = [{ key: 'usage', metric_key: metric, model: 'per_unit', unit_price: '0.01' }];
        expect((await planOn(`p_race_${i}`, { charges })).status).toBe(201);
        for (const customer of [`c_race_m${i}`, `c_race_c${i}`]) {
          expect(
            (await post('/v1/customers', { id: customer, name: customer, currency: 'USD', timezone: 'UTC' })).status,
          ).toBe(201);
        }
      }
      const start = (customer: string, i: number) =>
        subscribe({ customer_id: customer, plan_key: `p_race_${i}`, start_date: '2024-01-01' });
      const outcomes = await Promise.all(
        Array.from({ length: pairs }, async (_, i) => {
          const [metricStart, metricArchive, customerStart, customerArchive] = await Promise.all([
            start(`c_race_m${i}`, i),
            post(`/v1/metrics/m_race_${i}/archive`),
            start(`c_race_c${i}`, i),
            post(`/v1/customers/c_race_c${i}/archive`),
          ]);
          return [
            `metric: ${metricStart.status}/${metricArchive.status}`,
            `customer: ${customerStart.status}/${customerArchive.status}`,
          ];
        }),
      );
      // Subscription first: 201, then the archive is 409 (in use). Archive first: 200, then the start is 422.
      for (const [metric, customer] of outcomes) {
        expect(['metric: 201/409', 'metric: 422/200']).toContain(metric);
        expect(['customer: 201/409', 'customer: 422/200']).toContain(customer);
      }
    });
  });

  describe('with the projector running', () => {
    let projector: TestProjector;
    beforeAll(async () => {
      projector = await startTestProjector(api, { only: ['subscriptions'] });
    });
    afterAll(() => projector?.stop());

    it('a scheduled cancellation still counts as live for archiving; so does a subscription written just before', async () => {
      await post('/v1/customers', { id: 'c_rm', name: 'Read model', currency: 'USD', timezone: 'UTC' });
      const sub = (await subscribe({ customer_id: 'c_rm' })).body;
      await post(`/v1/subscriptions/${sub.id}/cancel`, { at: 'period_end' });
      await projector.caughtUp();
      expectProblem(await post('/v1/customers/c_rm/archive'), 409, 'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS');
      await post('/v1/customers', { id: 'c_rw', name: 'Read your writes', currency: 'USD', timezone: 'UTC' });
      expect((await subscribe({ customer_id: 'c_rw' })).status).toBe(201);
      expectProblem(await post('/v1/customers/c_rw/archive'), 409, 'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS');
    });

    it('METRIC.IN_USE from the read model too: a scheduled cancellation still uses the metric', async () => {
      expect((await post('/v1/metrics', { key: 'm_rm', name: 'm_rm', aggregation: 'sum' })).status).toBe(201);
      const charges = [{ key: 'usage', metric_key: 'm_rm', model: 'per_unit', unit_price: '0.5' }];
      const plan = { key: 'p_rm', name: 'p_rm', currency: 'USD', billing_interval: 'month', charges, publish: true };
      expect((await post('/v1/price-plans', plan)).status).toBe(201);
      const sub = (await subscribe({ customer_id: 'c_rm', plan_key: 'p_rm' })).body;
      await post(`/v1/subscriptions/${sub.id}/cancel`, { at: 'period_end' });
      await projector.caughtUp();
      const refused = expectProblem(await post('/v1/metrics/m_rm/archive'), 409, 'METRIC.IN_USE');
      expect(refused.detail).toContain(`(${sub.id})`);
    });

    it('lists subscriptions oldest first, by customer, page by page, as GET /v1/subscriptions/:id shows them', async () => {
      await projector.caughtUp();
      const all = await get('/v1/subscriptions?limit=100', auditor);
      expect(all.status).toBe(200);
      const ny = await get('/v1/subscriptions?limit=100&customer_id=c_ny');
      expect(ny.body.data.length).toBeGreaterThan(5);
      expect(ny.body.data.every((s: { customer_id: string }) => s.customer_id === 'c_ny')).toBe(true);
      for (const sub of ny.body.data.slice(0, 3)) expect(sub).toEqual((await get(`/v1/subscriptions/${sub.id}`)).body);
      const created = all.body.data.map((s: { created_at: string }) => s.created_at);
      expect([...created].sort()).toEqual(created);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await get(`/v1/subscriptions?limit=4${query}`, finance);
        seen.push(...page.body.data.map((s: { id: string }) => s.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(all.body.data.map((s: { id: string }) => s.id));
      expectProblem(await get('/v1/subscriptions', null), 401, 'AUTH.UNAUTHENTICATED');
      expectProblem(await get('/v1/subscriptions', ingest), 403, 'AUTH.FORBIDDEN');
      for (const query of ['cursor=garbage', 'limit=0', 'plan=pro']) {
        expect(
          fieldsOf(expectProblem(await get(`/v1/subscriptions?${query}`), 400, 'REQUEST.VALIDATION_FAILED')),
        ).toEqual([query.split('=')[0]]);
      }
    });
  });

  it('documents every subscription endpoint in /docs', async () => {
    const paths = (await get('/docs/json', null)).body.paths as Record<string, Record<string, { summary?: string }>>;
    for (const [path, method] of [
      ['/v1/subscriptions', 'post'],
      ['/v1/subscriptions', 'get'],
      ['/v1/subscriptions/{id}', 'get'],
      ['/v1/subscriptions/{id}/cancel', 'post'],
      ['/v1/subscriptions/{id}/change-plan', 'post'],
    ]) {
      expect(paths[path]?.[method]?.summary).toEqual(expect.any(String));
    }
  });
});
