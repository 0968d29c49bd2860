import { startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';
import {
  amountsOf,
  backfill,
  created,
  expectProblem,
  issueKeys,
  type Keys,
  type UsageInput,
} from './testing/billing-http';

/*
 * POST /v1/pricing/calculate over HTTP, real PostgreSQL, the projector in-process. Every charge model
 * is priced on usage sent through the API and checked against totals computed by hand.
 */
const MARCH = { period_start: '2026-03-01T00:00:00Z', period_end: '2026-04-01T00:00:00Z' };

const ALL_MODELS = {
  key: 'all',
  name: 'All models',
  currency: 'USD',
  billing_interval: 'month',
  minimum_commitment: '200',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '31.00' },
    { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.01' },
    {
      key: 'api_tiered',
      model: 'tiered',
      metric_key: 'calls',
      tiers: [
        { up_to: '100', unit_price: '0.05' },
        { up_to: null, unit_price: '0.02', flat_fee: '1' },
      ],
    },
    {
      key: 'seats',
      model: 'volume',
      metric_key: 'seats',
      tiers: [
        { up_to: '5', unit_price: '10' },
        { up_to: null, unit_price: '8' },
      ],
    },
    { key: 'bundles', model: 'package', metric_key: 'calls', package_size: '60', package_price: '3', free_units: '50' },
    {
      key: 'tokens',
      model: 'matrix',
      metric_key: 'tokens',
      dimensions: ['region'],
      prices: [
        { match: { region: 'eu' }, unit_price: '0.02' },
        { match: { region: 'us' }, unit_price: '0.01' },
      ],
      default_unit_price: '0.05',
    },
    { key: 'users', model: 'custom_formula', metric_key: 'users', formula: 'usage * 2 + 1' },
    { key: 'p90', model: 'per_unit', metric_key: 'latency', unit_price: '0.5' },
  ],
};

/** The same month of usage for a customer: calls 200, seats max 8, tokens eu 150 / us 300 / none 20, 3 users, p90 90. */
function marchUsage(customer: string): UsageInput[] {
  const at = (day: number, hour = 12) =>
    `2026-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;
  const use = (metric: string, timestamp: string, value: string | number, properties = {}) => ({
    customer_id: customer,
    metric_key: metric,
    timestamp,
    value,
    properties,
  });
  return [
    use('calls', at(12), '100'),
    use('calls', at(15), 50),
    use('calls', at(31, 23), '50'),
    ...['3', '8', '5'].map((v, i) => use('seats', at(11 + i), v)),
    use('tokens', at(11), '100', { region: 'eu' }),
    use('tokens', at(12), '50', { region: 'eu' }),
    use('tokens', at(13), '300', { region: 'us' }),
    use('tokens', at(14), '20'),
    ...['u1', 'u2', 'u1', 'u3'].map((user, i) => use('users', at(20 + i), '1', { user })),
    ...Array.from({ length: 10 }, (_, i) => use('latency', at(11, i), String((i + 1) * 10))),
  ];
}

describe('POST /v1/pricing/calculate', () => {
  let api: TestApi;
  let projector: TestProjector;
  let keys: Keys;
  const subscriptions: Record<string, string> = {};

  const calculate = (body: unknown, key?: string | null) => api.request('POST', '/v1/pricing/calculate', { body, key });

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    keys = await issueKeys(api);
    await created(api, '/v1/metrics', { key: 'calls', name: 'Calls', aggregation: 'sum' });
    await created(api, '/v1/metrics', { key: 'seats', name: 'Seats', aggregation: 'max' });
    await created(api, '/v1/metrics', { key: 'tokens', name: 'Tokens', aggregation: 'sum', group_by: ['region'] });
    await created(api, '/v1/metrics', {
      key: 'users',
      name: 'Users',
      aggregation: 'unique_count',
      field: 'properties.user',
    });
    await created(api, '/v1/metrics', { key: 'latency', name: 'Latency', aggregation: 'percentile', percentile: 90 });
    await created(api, '/v1/price-plans', { ...ALL_MODELS, publish: true });
    const subscribe = async (customer: string, body: Record<string, unknown>) => {
      await created(api, '/v1/customers', { id: customer, name: customer, currency: 'USD', timezone: 'UTC' });
      const response = await created(api, '/v1/subscriptions', { customer_id: customer, plan_key: 'all', ...body });
      subscriptions[customer] = response.body.id;
    };
    await subscribe('c_full', { start_date: '2026-03-01' });
    await subscribe('c_part', { start_date: '2026-03-10', billing_anchor: 'calendar' });
    await subscribe('c_over', {
      start_date: '2026-03-01',
      overrides: { charges: { base: { amount: '10.00' }, p90: { unit_price: '0.25' } } },
    });
    await backfill(api, [...marchUsage('c_full'), ...marchUsage('c_over')]);
    await projector.caughtUp();
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  it('prices every charge model exactly as computed by hand, with the minimum-commitment true-up', async () => {
    const response = await calculate({ subscription_id: subscriptions.c_full, ...MARCH }, keys.finance);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: expect.stringMatching(/^calc_[0-9a-f]{32}$/),
      currency: 'USD',
      period_start: '2026-03-01T00:00:00.000Z',
      period_end: '2026-04-01T00:00:00.000Z',
      plan_key: 'all',
      plan_version: 1,
      checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      meta: { consistency: 'exact', as_of_position: expect.any(String) },
    });
    expect(amountsOf(response.body)).toEqual({
      base: '31.00',
      api: '2.00', // 200 calls x 0.01
      api_tiered: '8.00', // 100 x 0.05 + 100 x 0.02 + 1 (flat fee of tier 2)
      seats: '64.00', // max 8 seats: all in tier 2 at 8
      bundles: '9.00', // ceil((200 - 50 free) / 60) = 3 packages x 3
      tokens: '7.00', // eu 150 x 0.02 + us 300 x 0.01 + no region 20 x 0.05 (default)
      users: '7.00', // 3 distinct users x 2 + 1
      p90: '45.00', // nearest-rank p90 of 10..100 = 90, x 0.5
      minimum_commitment: '27.00', // 200 - 173.00
    });
    expect(response.body).toMatchObject({ subtotal: '200.00', total: '200.00', adjustments: [] });
    const tiered = response.body.line_items.find((l: { charge_key: string }) => l.charge_key === 'api_tiered');
    expect(tiered).toMatchObject({
      metric_key: 'calls',
      model: 'tiered',
      quantity: '200',
      meter_versions: [1],
      usage_checksum: expect.stringMatching(/^sha256:/),
    });
    expect(
      tiered.breakdown.map((r: { tier: number; quantity: string; amount: string }) => [r.tier, r.quantity, r.amount]),
    ).toEqual([
      [1, '100', '5.00'],
      [2, '100', '3.00'],
    ]);
  });

  it('prorates flat fees and the commitment by day for a partial first period', async () => {
    const response = await calculate({ subscription_id: subscriptions.c_part, ...MARCH });
    expect(response.status).toBe(200);
    const base = response.body.line_items.find((l: { charge_key: string }) => l.charge_key === 'base');
    expect(base).toMatchObject({ quantity: '0.7096774194', amount: '22.00' }); // Mar 10-31: 22 of 31 days
    // No usage: the formula's constant is all; the commitment is 200 x 22/31 = 141.94.
    expect(amountsOf(response.body)).toMatchObject({ users: '1.00', api: '0.00', minimum_commitment: '118.94' });
    expect(response.body.subtotal).toBe('141.94');
  });

  it("applies the subscription's overrides", async () => {
    const response = await calculate({ subscription_id: subscriptions.c_over, ...MARCH });
    expect(amountsOf(response.body)).toMatchObject({ base: '10.00', p90: '22.50', api: '2.00' });
    expect(response.body.subtotal).toBe('200.00'); // 129.50 of lines, 70.50 of true-up
  });

  it('is idempotent: the same calculation twice has one id and is stored once', async () => {
    const first = await calculate({ subscription_id: subscriptions.c_full, ...MARCH });
    const second = await calculate({ subscription_id: subscriptions.c_full, ...MARCH });
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.checksum).toBe(first.body.checksum);
    const stored = await api.store.readStream(`default:calculation-${first.body.id}`);
    expect(stored.map((e) => e.type)).toEqual(['ChargesCalculated']);
    expect(stored[0].data).toMatchObject({
      calculation: { id: first.body.id },
      inputs: { period: expect.any(Object) },
    });
  });

  it('defaults to the current period', async () => {
    const response = await calculate({ subscription_id: subscriptions.c_full });
    expect(response.status).toBe(200);
    const now = Date.now();
    expect(Date.parse(response.body.period_start) <= now && now < Date.parse(response.body.period_end)).toBe(true);
    expect(amountsOf(response.body)).toMatchObject({ api: '0.00', base: '31.00' });
  });

  it('answers 4xx: unknown subscription, bad periods, unknown fields, roles', async () => {
    expectProblem(await calculate({ subscription_id: 'sub_nope', ...MARCH }), 404, 'SUBSCRIPTION.NOT_FOUND');
    const notAPeriod = expectProblem(
      await calculate({
        subscription_id: subscriptions.c_full,
        period_start: '2026-03-05T00:00:00Z',
        period_end: '2026-04-05T00:00:00Z',
      }),
      422,
      'CALCULATION.INVALID_PERIOD',
    );
    expect(notAPeriod.errors.map((e: { field: string }) => e.field)).toEqual(['period_start']);
    const garbage = expectProblem(
      await calculate({
        subscription_id: subscriptions.c_full,
        period_start: 'yesterday',
        period_end: MARCH.period_end,
      }),
      422,
      'CALCULATION.INVALID_PERIOD',
    );
    expect(garbage.errors.map((e: { field: string }) => e.field)).toEqual(['period_start']);
    expectProblem(
      await calculate({
        subscription_id: subscriptions.c_full,
        period_start: MARCH.period_end,
        period_end: MARCH.period_start,
      }),
      422,
      'CALCULATION.INVALID_PERIOD',
    );
    expectProblem(
      await calculate({
        subscription_id: subscriptions.c_full,
        period_start: '2026-02-01T00:00:00Z',
        period_end: MARCH.period_start,
      }),
      422,
      'CALCULATION.INVALID_PERIOD',
    ); // before the subscription started
    const unknown = expectProblem(
      await calculate({ subscription_id: subscriptions.c_full, ...MARCH, discount: '5' }),
      400,
      'REQUEST.VALIDATION_FAILED',
    );
    expect(unknown.errors.map((e: { field: string }) => e.field)).toEqual(['discount']);
    for (const key of [keys.auditor, keys.ingest, keys.publishable]) {
      expectProblem(await calculate({ subscription_id: subscriptions.c_full, ...MARCH }, key), 403, 'AUTH.FORBIDDEN');
    }
    expectProblem(
      await calculate({ subscription_id: subscriptions.c_full, ...MARCH }, null),
      401,
      'AUTH.UNAUTHENTICATED',
    );
  });

  it("another tenant's subscription is 404", async () => {
    const other = (await api.request('POST', '/v1/tenants', { body: { name: 'Other' } })).body.admin_key;
    expectProblem(
      await calculate({ subscription_id: subscriptions.c_full, ...MARCH }, other),
      404,
      'SUBSCRIPTION.NOT_FOUND',
    );
  });

  it('is 503 with Retry-After when the usage projection cannot reach the head in time', async () => {
    await projector.stop();
    await backfill(api, [
      { customer_id: 'c_full', metric_key: 'calls', value: '1', timestamp: '2026-03-20T00:00:00Z' },
    ]);
    const response = await calculate({ subscription_id: subscriptions.c_full, ...MARCH });
    expectProblem(response, 503, 'CALCULATION.NOT_CAUGHT_UP');
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    projector = await startTestProjector(api);
    await projector.caughtUp();
    const after = await calculate({ subscription_id: subscriptions.c_full, ...MARCH });
    expect(amountsOf(after.body).api).toBe('2.01');
  });
});
