import { startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

/**
 * A key of tenant A gets 404 (never 403, never 200) for every resource of tenant B. Each area adds
 * its tenant-B resources to `fixtures` and its routes to `routes` below.
 */
interface TenantBResources {
  apiKeyId: string;
  metricKey: string;
  customerId: string;
  planKey: string;
  subscriptionId: string;
  usageId: string;
  invoiceId: string;
}

const B_PERIOD = { period_start: '2026-01-01T00:00:00Z', period_end: '2026-02-01T00:00:00Z' };

type Route = [
  method: string,
  path: (b: TenantBResources) => string,
  body?: unknown | ((b: TenantBResources) => unknown),
];
const PLACEHOLDERS: TenantBResources = {
  apiKeyId: ':id',
  metricKey: ':key',
  customerId: ':id',
  planKey: ':key',
  subscriptionId: ':id',
  usageId: ':id',
  invoiceId: ':id',
};

const routes: Route[] = [
  ['GET', (b) => `/v1/api-keys/${b.apiKeyId}`],
  ['DELETE', (b) => `/v1/api-keys/${b.apiKeyId}`],
  ['GET', (b) => `/v1/metrics/${b.metricKey}`],
  [
    'POST',
    (b) => `/v1/metrics/${b.metricKey}/versions`,
    { aggregation: 'max', effective_from: '2030-01-01T00:00:00Z' },
  ],
  ['POST', (b) => `/v1/metrics/${b.metricKey}/archive`],
  ['GET', (b) => `/v1/customers/${b.customerId}`],
  ['PATCH', (b) => `/v1/customers/${b.customerId}`, { name: 'Taken over' }],
  ['POST', (b) => `/v1/customers/${b.customerId}/archive`],
  ['GET', (b) => `/v1/price-plans/${b.planKey}`],
  ['GET', (b) => `/v1/price-plans/${b.planKey}/versions/1`],
  ['PATCH', (b) => `/v1/price-plans/${b.planKey}/versions/1`, { name: 'Taken over' }],
  ['POST', (b) => `/v1/price-plans/${b.planKey}/versions/1/publish`],
  ['POST', (b) => `/v1/price-plans/${b.planKey}/versions`],
  ['POST', (b) => `/v1/price-plans/${b.planKey}/archive`],
  ['GET', (b) => `/v1/subscriptions/${b.subscriptionId}`],
  ['POST', (b) => `/v1/subscriptions/${b.subscriptionId}/cancel`, { at: 'now' }],
  ['POST', (b) => `/v1/subscriptions/${b.subscriptionId}/change-plan`, { plan_key: 'b_plan', at: 'now' }],
  ['GET', (b) => `/v1/events?customer_id=${b.customerId}&metric_key=${b.metricKey}`],
  ['POST', (b) => `/v1/events/${b.usageId}/void`, { reason: 'taken over' }],
  ['GET', (b) => `/v1/usage/summary?customer_id=${b.customerId}&metric_key=${b.metricKey}`],
  [
    'POST',
    () => '/v1/usage/compute',
    {
      customer_id: 'cust_b',
      metric_key: 'b_calls',
      period_start: '2026-01-01T00:00:00Z',
      period_end: '2026-02-01T00:00:00Z',
    },
  ],
  [
    'GET',
    (b) =>
      `/v1/usage/histogram?customer_id=${b.customerId}&metric_key=${b.metricKey}&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=day`,
  ],
  ['GET', (b) => `/v1/entitlements/check?customer_id=${b.customerId}&feature=anything`],
  ['GET', (b) => `/v1/entitlements?customer_id=${b.customerId}`],
  ['POST', () => '/v1/pricing/calculate', (b: TenantBResources) => ({ subscription_id: b.subscriptionId })],
  ['POST', () => '/v1/invoices', (b: TenantBResources) => ({ subscription_id: b.subscriptionId, ...B_PERIOD })],
  ['GET', (b) => `/v1/invoices/${b.invoiceId}`],
  ['GET', (b) => `/v1/invoices/${b.invoiceId}/explain`],
  ['POST', (b) => `/v1/invoices/${b.invoiceId}/close`, {}],
  ['POST', (b) => `/v1/invoices/${b.invoiceId}/void`, { reason: 'taken over' }],
  ['POST', (b) => `/v1/invoices/${b.invoiceId}/reproduce`],
  ['GET', (b) => `/v1/customers/${b.customerId}/balance`],
  ['GET', (b) => `/v1/customers/${b.customerId}/ledger`],
];

describe('tenant isolation', () => {
  let api: TestApi;
  let projector: TestProjector;
  let keyA: string;
  let keyB: string;
  let resourcesB: TenantBResources;

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api); // invoices are drafted from exact (projected) usage
    keyA = (await api.request('POST', '/v1/tenants', { body: { name: 'Tenant A' } })).body.admin_key;
    keyB = (await api.request('POST', '/v1/tenants', { body: { name: 'Tenant B' } })).body.admin_key;
    const fixtures = async (): Promise<Omit<TenantBResources, 'invoiceId'>> => ({
      apiKeyId: (await api.request('POST', '/v1/api-keys', { key: keyB, body: { role: 'finance', kind: 'secret' } }))
        .body.id,
      metricKey: (
        await api.request('POST', '/v1/metrics', { key: keyB, body: { key: 'b_calls', name: 'B', aggregation: 'sum' } })
      ).body.key,
      customerId: (
        await api.request('POST', '/v1/customers', { key: keyB, body: { id: 'cust_b', name: 'B', currency: 'EUR' } })
      ).body.id,
      planKey: (
        await api.request('POST', '/v1/price-plans', {
          key: keyB,
          body: { key: 'b_plan', name: 'B', currency: 'EUR', billing_interval: 'month', charges: [], publish: true },
        })
      ).body.key,
      subscriptionId: (
        await api.request('POST', '/v1/subscriptions', {
          key: keyB,
          body: { customer_id: 'cust_b', plan_key: 'b_plan', start_date: '2026-01-01' },
        })
      ).body.id,
      usageId: (
        await api.request('POST', '/v1/events', {
          key: keyB,
          body: {
            customer_id: 'cust_b',
            metric_key: 'b_calls',
            value: 1,
            timestamp: new Date().toISOString(),
            idempotency_key: 'b-1',
          },
        })
      ).body.id,
    });
    const created = await fixtures();
    const invoice = await api.request('POST', '/v1/invoices', {
      key: keyB,
      body: { subscription_id: created.subscriptionId, ...B_PERIOD },
    });
    resourcesB = { ...created, invoiceId: invoice.body.id };
    // A fixture that failed to be created would make its routes 404 for the wrong reason.
    for (const value of Object.values(resourcesB)) expect(value).toEqual(expect.any(String));
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  it.each(routes.map((route) => [`${route[0]} ${route[1](PLACEHOLDERS)}`, route] as const))(
    '%s of tenant B is 404 for tenant A',
    async (_label, [method, path, body]) => {
      const payload = typeof body === 'function' ? (body as (b: TenantBResources) => unknown)(resourcesB) : body;
      const response = await api.request(method, path(resourcesB), { key: keyA, body: payload });
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      // Tenant B's resource is untouched and still visible to B.
      expect((await api.request('GET', `/v1/api-keys/${resourcesB.apiKeyId}`, { key: keyB })).body.status).toBe(
        'active',
      );
    },
  );

  it("lists never show another tenant's resources", async () => {
    const listA = await api.request('GET', '/v1/api-keys?limit=100', { key: keyA });
    expect(listA.body.data.map((k: { id: string }) => k.id)).not.toContain(resourcesB.apiKeyId);
    expect(listA.body.data).toHaveLength(1);
    await projector.caughtUp();
    expect((await api.request('GET', '/v1/invoices', { key: keyA })).body.data).toEqual([]);
    expect((await api.request('GET', '/v1/invoices', { key: keyB })).body.data).toHaveLength(1);
    const auditStreams = async (key: string) =>
      (await api.request('GET', '/v1/audit-log?limit=100', { key })).body.data.map((e: { stream: string }) => e.stream);
    const invoiceOfB = (stream: string) => stream.endsWith(`:invoice-${resourcesB.invoiceId}`);
    expect((await auditStreams(keyB)).some(invoiceOfB)).toBe(true);
    expect((await auditStreams(keyA)).some(invoiceOfB)).toBe(false);
  });
});
