import type { TestApi } from '../support/api';

/*
 * The payload recipe of every public route: a VALID request (path params, query, body) against
 * resources seeded first, so hostile requests reach real code paths (existing resources with bad
 * fields), not only 404s. Routes come from the app's own OpenAPI document: a documented route with
 * no recipe here and not on SKIPPED fails the spec, so a new endpoint cannot escape the fuzzer.
 */

const DAY_MS = 86_400_000;
/** UTC midnight three days ago: daily periods in the past, events young enough for live ingestion. */
const day0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
export const at = (days: number, minutes = 0) => new Date(day0 + days * DAY_MS + minutes * 60_000).toISOString();
export const D0 = { period_start: at(0), period_end: at(1) };
const D1 = { period_start: at(1), period_end: at(2) };

export interface FuzzContext {
  api: TestApi;
  ids: Record<string, string>;
  /** A fresh suffix: valid creates that must not collide with earlier ones. */
  unique(): string;
}

export interface Recipe {
  params?: (ctx: FuzzContext) => Record<string, string>;
  query?: (ctx: FuzzContext) => Record<string, string>;
  /** A valid body; called for every request (fresh keys where the route needs them). */
  body?: (ctx: FuzzContext) => Record<string, unknown>;
  /**
   * The valid request changes its target for good (archive, close, void, revoke…): hostile
   * requests never use the valid path params, which serve only the final valid request.
   */
  destructive?: boolean;
}

/** Documented routes deliberately not fuzzed, with the reason. */
export const SKIPPED: Record<string, string> = {};

const event = (ctx: FuzzContext, key = `fz-${ctx.unique()}`) => ({
  customer_id: ctx.ids.customer,
  metric_key: ctx.ids.metric,
  value: '1.5',
  timestamp: new Date(Date.now() - 3_600_000).toISOString(),
  idempotency_key: key,
  properties: { region: 'eu', tier: 1 },
});
const PLAN = {
  name: 'Fuzz plan',
  currency: 'USD',
  billing_interval: 'day',
  charges: [
    { key: 'platform', model: 'flat_fee', amount: '1.00' },
    { key: 'calls', model: 'per_unit', metric_key: 'fz_metric', unit_price: '0.01' },
  ],
  entitlements: {
    seats: { type: 'limit', value: '10' },
    analytics: { type: 'boolean', value: true },
  },
};
const customerBody = (id: string) => ({ id, name: `Customer ${id}`, currency: 'USD', timezone: 'UTC' });
const key = (ctx: FuzzContext) => ({ key: ctx.ids.metric });
const customer = (ctx: FuzzContext) => ({ id: ctx.ids.customer });
const invoice = (ctx: FuzzContext) => ({ id: ctx.ids.invoice });

export const RECIPES: Record<string, Recipe> = {
  'GET /healthz': {},
  'GET /readyz': {},
  'POST /v1/api-keys': { body: (ctx) => ({ name: `fuzz ${ctx.unique()}`, role: 'ingest', kind: 'secret' }) },
  'GET /v1/api-keys': { query: () => ({ limit: '5' }) },
  'GET /v1/api-keys/{id}': { params: (ctx) => ({ id: ctx.ids.apiKey }) },
  'DELETE /v1/api-keys/{id}': { params: (ctx) => ({ id: ctx.ids.apiKeyToRevoke }), destructive: true },
  'POST /v1/tenants': { body: (ctx) => ({ name: `fuzz-tenant-${ctx.unique()}` }) },
  'POST /v1/metrics': { body: (ctx) => ({ key: `fz_m_${ctx.unique()}`, name: 'Fuzz metric', aggregation: 'sum' }) },
  'GET /v1/metrics': { query: () => ({ limit: '5', include_archived: 'true' }) },
  'POST /v1/metrics/{key}/versions': {
    params: (ctx) => ({ key: ctx.ids.metricVersioned }),
    body: () => ({ aggregation: 'max', effective_from: new Date(Date.now() + 60_000).toISOString() }),
    destructive: true,
  },
  'POST /v1/metrics/{key}/archive': { params: (ctx) => ({ key: ctx.ids.metricToArchive }), destructive: true },
  'GET /v1/metrics/{key}': { params: key },
  'POST /v1/customers': { body: (ctx) => customerBody(`fz_c_${ctx.unique()}`) },
  'GET /v1/customers': { query: () => ({ limit: '5', include_archived: 'false' }) },
  'PATCH /v1/customers/{id}': {
    params: (ctx) => ({ id: ctx.ids.customerToPatch }),
    body: (ctx) => ({ name: `Renamed ${ctx.unique()}`, metadata: { crm: 'x1' } }),
    destructive: true,
  },
  'GET /v1/customers/{id}': { params: customer },
  'POST /v1/customers/{id}/archive': { params: (ctx) => ({ id: ctx.ids.customerToArchive }), destructive: true },
  'POST /v1/events': { body: (ctx) => event(ctx) },
  'GET /v1/events': {
    query: (ctx) => ({ customer_id: ctx.ids.customer, metric_key: ctx.ids.metric, from: at(0), to: at(5), limit: '5' }),
  },
  'POST /v1/events/batch': { body: (ctx) => ({ events: [event(ctx), event(ctx)] }) },
  'POST /v1/events/backfill': { body: (ctx) => ({ reason: 'fuzz backfill', events: [event(ctx)] }) },
  'POST /v1/events/{id}/void': {
    params: (ctx) => ({ id: ctx.ids.eventToVoid }),
    body: () => ({ reason: 'fuzz void' }),
    destructive: true,
  },
  'GET /v1/usage/summary': {
    query: (ctx) => ({ customer_id: ctx.ids.customer, metric_key: ctx.ids.metric, ...D0 }),
  },
  'POST /v1/usage/compute': { body: (ctx) => ({ customer_id: ctx.ids.customer, metric_key: ctx.ids.metric, ...D0 }) },
  'GET /v1/usage/histogram': {
    query: (ctx) => ({
      customer_id: ctx.ids.customer,
      metric_key: ctx.ids.metric,
      from: at(0),
      to: at(2),
      granularity: 'day',
    }),
  },
  'POST /v1/price-plans': { body: (ctx) => ({ ...PLAN, key: `fz_p_${ctx.unique()}`, publish: true }) },
  'GET /v1/price-plans': { query: () => ({ limit: '5' }) },
  'GET /v1/price-plans/{key}': { params: (ctx) => ({ key: ctx.ids.plan }) },
  'GET /v1/price-plans/{key}/versions/{n}': { params: (ctx) => ({ key: ctx.ids.plan, n: '1' }) },
  'PATCH /v1/price-plans/{key}/versions/{n}': {
    params: (ctx) => ({ key: ctx.ids.planDraft, n: '1' }),
    body: (ctx) => ({ name: `Draft ${ctx.unique()}`, minimum_commitment: '5.00' }),
    destructive: true,
  },
  'POST /v1/price-plans/{key}/versions/{n}/publish': {
    params: (ctx) => ({ key: ctx.ids.planToPublish, n: '1' }),
    destructive: true,
  },
  'POST /v1/price-plans/{key}/versions': {
    params: (ctx) => ({ key: ctx.ids.planVersioned }),
    body: () => ({ name: 'Second version', charges: PLAN.charges }),
    destructive: true,
  },
  'POST /v1/price-plans/{key}/archive': { params: (ctx) => ({ key: ctx.ids.planToArchive }), destructive: true },
  'POST /v1/subscriptions': {
    body: (ctx) => ({
      customer_id: ctx.ids.customerToSubscribe,
      plan_key: ctx.ids.plan,
      start_date: at(0).slice(0, 10),
    }),
  },
  'GET /v1/subscriptions': { query: (ctx) => ({ customer_id: ctx.ids.customer, limit: '5' }) },
  'GET /v1/subscriptions/{id}': { params: (ctx) => ({ id: ctx.ids.subscription }) },
  'POST /v1/subscriptions/{id}/cancel': {
    params: (ctx) => ({ id: ctx.ids.subscriptionToCancel }),
    body: () => ({ at: 'period_end' }),
    destructive: true,
  },
  'POST /v1/subscriptions/{id}/change-plan': {
    params: (ctx) => ({ id: ctx.ids.subscriptionToChange }),
    body: (ctx) => ({ plan_key: ctx.ids.planOther, at: 'period_end' }),
    destructive: true,
  },
  'GET /v1/entitlements/check': { query: (ctx) => ({ customer_id: ctx.ids.customer, feature: 'seats' }) },
  'GET /v1/entitlements': { query: (ctx) => ({ customer_id: ctx.ids.customer }) },
  'POST /v1/pricing/calculate': { body: (ctx) => ({ subscription_id: ctx.ids.subscription, ...D0 }) },
  'POST /v1/invoices': { body: (ctx) => ({ subscription_id: ctx.ids.subscription, ...D0 }) },
  'GET /v1/invoices': { query: (ctx) => ({ customer_id: ctx.ids.customer, status: 'closed', limit: '5' }) },
  // Half past midnight: no daily period ends then, so a fuzzed `close: true` closes nothing seeded.
  // (A midnight in the future would close the unfinished periods of every subscription: allowed today.)
  'POST /v1/invoices/bulk': { body: () => ({ period_end: at(30, 30), close: false }) },
  'GET /v1/invoices/{id}': { params: invoice },
  'GET /v1/invoices/{id}/explain': { params: invoice, query: () => ({ line: 'calls', limit: '5' }) },
  'POST /v1/invoices/{id}/close': {
    params: (ctx) => ({ id: ctx.ids.invoiceToClose }),
    body: () => ({}),
    destructive: true,
  },
  'POST /v1/invoices/{id}/void': {
    params: (ctx) => ({ id: ctx.ids.invoiceToVoid }),
    body: () => ({ reason: 'fuzz void' }),
    destructive: true,
  },
  'POST /v1/adjustments': {
    body: (ctx) => ({ customer_id: ctx.ids.customerBilled, amount: '-1.25', currency: 'USD', reason: 'fuzz credit' }),
  },
  'GET /v1/customers/{id}/balance': { params: customer },
  'GET /v1/customers/{id}/ledger': { params: customer, query: () => ({ limit: '5' }) },
  'GET /v1/settings': {},
  'PUT /v1/settings': { body: () => ({ billing_grace_seconds: 600 }) },
  'POST /v1/invoices/{id}/reproduce': { params: invoice },
  'GET /v1/audit-log': { query: () => ({ limit: '5', type: 'InvoiceClosed', since: at(-30) }) },
};

async function ok(ctx: FuzzContext, method: string, path: string, body?: unknown): Promise<Record<string, string>> {
  const response = await ctx.api.request(method, path, { body });
  if (response.status >= 300) {
    throw new Error(`seed ${method} ${path} answered ${response.status}: ${JSON.stringify(response.body)}`);
  }
  return response.body as Record<string, string>;
}

/** The resources the recipes point at; `waitForProjector` before anything that reads read models. */
export async function seed(ctx: FuzzContext, waitForProjector: () => Promise<void>): Promise<void> {
  const { ids } = ctx;
  ids.apiKey = (await ok(ctx, 'POST', '/v1/api-keys', { name: 'fuzz', role: 'auditor', kind: 'secret' })).id;
  ids.apiKeyToRevoke = (await ok(ctx, 'POST', '/v1/api-keys', { role: 'ingest', kind: 'secret' })).id;
  for (const [name, metricKey] of [
    ['metric', 'fz_metric'],
    ['metricVersioned', 'fz_metric_versioned'],
    ['metricToArchive', 'fz_metric_archive'],
  ]) {
    await ok(ctx, 'POST', '/v1/metrics', { key: metricKey, name: metricKey, aggregation: 'sum' });
    ids[name] = metricKey;
  }
  for (const [name, planKey, publish] of [
    ['plan', 'fz_plan', true],
    ['planOther', 'fz_plan_other', true],
    ['planVersioned', 'fz_plan_versioned', true],
    ['planToArchive', 'fz_plan_archive', true],
    ['planDraft', 'fz_plan_draft', false],
    ['planToPublish', 'fz_plan_publish', false],
  ] as const) {
    await ok(ctx, 'POST', '/v1/price-plans', { ...PLAN, key: planKey, publish });
    ids[name] = planKey;
  }
  for (const name of [
    'customer',
    'customerToPatch',
    'customerToArchive',
    'customerToSubscribe',
    'customerToCancel',
    'customerToChange',
    'customerBilled',
  ]) {
    ids[name] = `fz_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
    await ok(ctx, 'POST', '/v1/customers', customerBody(ids[name]));
  }
  const subscribe = async (customerId: string) =>
    (
      await ok(ctx, 'POST', '/v1/subscriptions', {
        customer_id: customerId,
        plan_key: ids.plan,
        start_date: at(0).slice(0, 10),
      })
    ).id;
  ids.subscription = await subscribe(ids.customer);
  ids.subscriptionToCancel = await subscribe(ids.customerToCancel);
  ids.subscriptionToChange = await subscribe(ids.customerToChange);
  ids.subscriptionBilled = await subscribe(ids.customerBilled);
  await ok(ctx, 'POST', '/v1/events', { ...event(ctx, 'fz-seed-1'), timestamp: at(0, 60) });
  ids.eventToVoid = (await ok(ctx, 'POST', '/v1/events', { ...event(ctx, 'fz-seed-void'), timestamp: at(0, 90) })).id;
  await waitForProjector();
  ids.invoice = (await ok(ctx, 'POST', '/v1/invoices', { subscription_id: ids.subscription, ...D0 })).id;
  await ok(ctx, 'POST', `/v1/invoices/${ids.invoice}/close`, {});
  ids.invoiceToClose = (await ok(ctx, 'POST', '/v1/invoices', { subscription_id: ids.subscriptionBilled, ...D0 })).id;
  ids.invoiceToVoid = (await ok(ctx, 'POST', '/v1/invoices', { subscription_id: ids.subscriptionBilled, ...D1 })).id;
  await ok(ctx, 'POST', `/v1/invoices/${ids.invoiceToVoid}/close`, {});
  await waitForProjector();
}

/** Reads of the seeded resources no fuzzed request may change (destructive recipes use their own). */
export function seededReads(ctx: FuzzContext): string[] {
  const { ids } = ctx;
  return [
    `/v1/metrics/${ids.metric}`,
    `/v1/price-plans/${ids.plan}`,
    `/v1/price-plans/${ids.plan}/versions/1`,
    `/v1/customers/${ids.customer}`,
    `/v1/subscriptions/${ids.subscription}`,
    `/v1/invoices/${ids.invoice}`,
    `/v1/api-keys/${ids.apiKey}`,
    `/v1/customers/${ids.customer}/balance`,
  ];
}
