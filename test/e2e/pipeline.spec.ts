import Decimal from 'decimal.js';
import type { Pool } from 'pg';
import type * as CycleModule from '../../apps/projector/src/billing-cycle';
import type { EventStore } from '../../libs/ledger/src';
import { loadBuiltFile, startTestApi, type TestApi } from '../support/api';
import { startTestProjector, type TestProjector } from '../support/projector';

/*
 * The whole pipeline over real HTTP, with the projector running and the billing cycle driven on a
 * fake clock: metric -> plan -> customer -> subscription -> usage events (retries, duplicates, a
 * conflicting key) -> eventual summary and exact compute -> calculate -> the cycle drafts the invoice
 * at the period end -> the cycle dies and another takes over -> close after the grace -> a late event
 * -> a late-usage adjustment -> the next invoice carries it -> void -> credit note. The ledger is
 * checked after each money step, and every closed invoice is reproduced from the event store alone.
 *
 * Daily billing periods a few days in the past, so that the events go through live ingestion (which
 * takes timestamps up to 35 days old) and the cycle's clock can walk over whole periods.
 */
const DAY_MS = 86_400_000;
const day0 = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS);
const at = (days: number, minutes = 0) => new Date(day0.getTime() + days * DAY_MS + minutes * 60_000).toISOString();
const D0 = { period_start: at(0), period_end: at(1) };
const D1 = { period_start: at(1), period_end: at(2) };
const CUSTOMER = 'acme_corp';

describe('the billing pipeline end to end (HTTP, projector, billing cycle)', () => {
  let api: TestApi;
  let projector: TestProjector;
  let cyclePool: Pool;
  let cycleStore: EventStore;
  let cycles: typeof CycleModule;
  const running: CycleModule.BillingCycle[] = [];
  let clock = new Date(at(0, 30));
  let subscriptionId: string;
  const invoices: string[] = [];
  let lateAdjustment: string;

  const post = (path: string, body?: unknown) => api.request('POST', path, { body });
  const get = (path: string) => api.request('GET', path);
  const startCycle = () => {
    const cycle = cycles.startBillingCycle({ pool: cyclePool, store: cycleStore, now: () => clock, intervalMs: 0 });
    running.push(cycle);
    return cycle;
  };
  const tick = async (cycle: CycleModule.BillingCycle, when: string) => {
    clock = new Date(when);
    await projector.caughtUp();
    const report = await cycle.tick();
    expect(report.failed).toEqual([]);
    return report;
  };
  /** Balances by account once the projector has caught up; debits and credits always net to zero. */
  async function balances(): Promise<Record<string, string>> {
    await projector.caughtUp();
    const response = await get(`/v1/customers/${CUSTOMER}/balance`);
    expect(response.status).toBe(200);
    const rows = response.body.data as Array<{ account: string; balance: string }>;
    const net = rows.reduce((sum, row) => sum.plus(row.balance), new Decimal(0));
    expect(net.isZero()).toBe(true);
    return Object.fromEntries(rows.map((row) => [row.account, row.balance]));
  }
  const event = (key: string, value: number, timestamp: string) => ({
    customer_id: CUSTOMER,
    metric_key: 'api_calls',
    value,
    timestamp,
    idempotency_key: key,
    properties: { region: 'eu' },
  });

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    cycles = loadBuiltFile<typeof CycleModule>('apps/projector/src/billing-cycle/index');
    cyclePool = api.modules.platform.createPool(api.db.url, { max: 5, applicationName: 'abaxus-test-cycle' });
    cycleStore = new api.modules.ledger.PostgresEventStore(cyclePool, { pollIntervalMs: 50 });
  });
  afterAll(async () => {
    for (const cycle of running) await cycle.stop();
    await cycleStore?.close();
    await cyclePool?.end();
    await projector?.stop();
    await api?.close();
  });

  it('catalog: a metric, a published daily plan, a customer, a subscription, a 10-minute grace', async () => {
    expect((await post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum' })).status).toBe(201);
    const plan = await post('/v1/price-plans', {
      key: 'starter',
      name: 'Starter',
      currency: 'USD',
      billing_interval: 'day',
      charges: [
        { key: 'platform', model: 'flat_fee', amount: '1.00' },
        { key: 'calls', model: 'per_unit', metric_key: 'api_calls', unit_price: '0.01' },
      ],
      publish: true,
    });
    expect(plan.status).toBe(201);
    const customer = await post('/v1/customers', { id: CUSTOMER, name: 'Acme Corp', currency: 'USD', timezone: 'UTC' });
    expect(customer.status).toBe(201);
    const subscription = await post('/v1/subscriptions', {
      customer_id: CUSTOMER,
      plan_key: 'starter',
      start_date: D0.period_start.slice(0, 10),
      billing_anchor: 'calendar',
    });
    expect(subscription.status).toBe(201);
    subscriptionId = subscription.body.id;
    expect((await api.request('PUT', '/v1/settings', { body: { billing_grace_seconds: 600 } })).status).toBe(200);
  });

  it('usage: accepted once, retries are duplicates, a reused key with another payload is refused', async () => {
    for (const [key, value, minute] of [
      ['evt-1', 100, 60],
      ['evt-2', 250, 120],
      ['evt-3', 50, 180],
    ] as const) {
      const response = await post('/v1/events', event(key, value, at(0, minute)));
      expect(response.status).toBe(202);
      expect(response.body.status).toBe('accepted');
    }
    const retried = await post('/v1/events', event('evt-1', 100, at(0, 60)));
    expect(retried.body).toMatchObject({ status: 'duplicate', idempotency_key: 'evt-1' });
    const conflict = await post('/v1/events', event('evt-1', 999, at(0, 60)));
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('EVENT.IDEMPOTENCY_CONFLICT');
    const batch = await post('/v1/events/batch', {
      events: [event('evt-4', 40, at(0, 240)), event('evt-2', 250, at(0, 120)), event('evt-4', 40, at(0, 240))],
    });
    expect(batch.status).toBe(207);
    expect(batch.body.results.map((r: { outcome?: string }) => r.outcome)).toEqual([
      'accepted',
      'duplicate',
      'duplicate',
    ]);
    expect((await post('/v1/events', event('evt-5', 200, at(1, 60)))).status).toBe(202);
  });

  it('summary (eventual) and compute (exact) agree once the projector has caught up: 440 calls on day 0', async () => {
    const compute = await post('/v1/usage/compute', { customer_id: CUSTOMER, metric_key: 'api_calls', ...D0 });
    expect(compute.status).toBe(200);
    expect(compute.body).toMatchObject({ value: '440', event_count: '4', meta: { consistency: 'exact' } });
    await projector.caughtUp();
    const query = new URLSearchParams({ customer_id: CUSTOMER, metric_key: 'api_calls', ...D0 });
    const summary = await get(`/v1/usage/summary?${query}`);
    expect(summary.status).toBe(200);
    expect(summary.body).toMatchObject({ value: '440', meta: { consistency: 'eventual', lag_seconds: 0 } });
  });

  it('calculate prices the period exactly: 1.00 + 440 x 0.01', async () => {
    const response = await post('/v1/pricing/calculate', { subscription_id: subscriptionId, ...D0 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ subtotal: '5.40', total: '5.40' });
  });

  it('the cycle drafts the invoice when the period ends, dies, and another cycle closes it after the grace', async () => {
    const first = startCycle();
    expect(await tick(first, at(0, 30))).toMatchObject({ lease: true, drafted: 0 });
    expect(await tick(first, at(1, 1))).toMatchObject({ drafted: 1, closed: 0 });
    await projector.caughtUp();
    const listed = await get(`/v1/invoices?customer_id=${CUSTOMER}`);
    expect(listed.body.data).toEqual([expect.objectContaining({ status: 'draft', period_start: D0.period_start })]);
    invoices.push(listed.body.data[0].id);
    expect(await balances()).toEqual({}); // a draft posts nothing

    // The first cycle's process dies: its lease session ends with it, and another replica takes over.
    const { rows } = await api.db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
      [cycles.BILLING_CYCLE_LOCK],
    );
    await api.db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    for (let gone = false; !gone;) {
      gone =
        (await api.db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [rows[0].pid])).rows.length === 0;
    }
    const second = startCycle();
    expect(await tick(second, at(1, 5))).toMatchObject({ lease: true, drafted: 0, closed: 0 }); // still in grace
    expect(await tick(second, at(1, 11))).toMatchObject({ drafted: 0, closed: 1 });
    expect(await tick(second, at(1, 12))).toMatchObject({ drafted: 0, closed: 0 });
    const invoice = await get(`/v1/invoices/${invoices[0]}`);
    expect(invoice.body).toMatchObject({ status: 'closed', number: 'INV-000001', total: '5.40', ...D0 });
    const stream = await api.store.readStream(`default:invoice-${invoices[0]}`);
    expect(stream.map((e) => e.type)).toEqual(['InvoiceDrafted', 'InvoiceClosed']);
    expect(await balances()).toMatchObject({ [`receivables:${CUSTOMER}`]: '5.40', revenue: '-5.40' });
  });

  it('a late event for the closed period becomes a late-usage adjustment; the invoice does not change', async () => {
    const closed = (await get(`/v1/invoices/${invoices[0]}`)).body;
    expect((await post('/v1/events', event('evt-late', 60, at(0, 600)))).status).toBe(202);
    const second = running[1];
    const report = await tick(second, at(1, 20));
    expect(report).toMatchObject({ checked: 1, adjustments: 1 });
    expect((await get(`/v1/invoices/${invoices[0]}`)).body).toEqual(closed);
    await projector.caughtUp();
    const ledger = await api.request('GET', `/v1/customers/${CUSTOMER}/ledger`);
    const entry = ledger.body.data.find((e: { kind: string }) => e.kind === 'adjustment');
    expect(entry).toBeDefined();
    lateAdjustment = entry.reference;
    expect(await balances()).toMatchObject({
      [`receivables:${CUSTOMER}`]: '5.40',
      [`credits:${CUSTOMER}`]: '0.60', // 60 calls x 0.01, to be invoiced
      revenue: '-6.00',
    });
  });

  it('the next invoice carries the adjustment as its own entry', async () => {
    const report = await tick(running[1], at(2, 11));
    expect(report).toMatchObject({ drafted: 1, closed: 1 });
    await projector.caughtUp();
    const listed = await get(`/v1/invoices?customer_id=${CUSTOMER}&status=closed`);
    const next = listed.body.data.find((i: { period_start: string }) => i.period_start === D1.period_start);
    invoices.push(next.id);
    const invoice = (await get(`/v1/invoices/${next.id}`)).body;
    expect(invoice).toMatchObject({ number: 'INV-000002', subtotal: '3.00', adjustments_total: '0.60', total: '3.60' });
    expect(invoice.calculation.adjustments).toEqual([
      expect.objectContaining({
        adjustment_id: lateAdjustment,
        kind: 'late_usage',
        amount: '0.60',
        invoice_id: invoices[0],
      }),
    ]);
    expect(await balances()).toMatchObject({
      [`receivables:${CUSTOMER}`]: '9.00',
      [`credits:${CUSTOMER}`]: '0.00',
      revenue: '-9.00',
    });
  });

  it('every closed invoice reproduces from the event store alone', async () => {
    for (const id of invoices) {
      const response = await post(`/v1/invoices/${id}/reproduce`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ match: true, invoice_id: id, first_difference: null });
    }
  });

  it('void: the invoice stays, a credit note reverses it in the ledger', async () => {
    const voided = await post(`/v1/invoices/${invoices[0]}/void`, { reason: 'billed in error' });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({
      status: 'void',
      number: 'INV-000001',
      credit_note: { invoice_id: invoices[0], total: '5.40', reason: 'billed in error' },
    });
    expect(await balances()).toMatchObject({ [`receivables:${CUSTOMER}`]: '3.60', revenue: '-3.60' });
    // The cycle leaves a voided invoice alone: its period is not billed again.
    expect(await tick(running[1], at(2, 30))).toMatchObject({ drafted: 0, closed: 0, adjustments: 0 });
  });

  it('no period was billed twice or skipped, and the numbers have no gap', async () => {
    await projector.caughtUp();
    const listed = (await get(`/v1/invoices?customer_id=${CUSTOMER}`)).body.data as Array<{
      period_start: string;
      number: string;
    }>;
    expect(listed.map((i) => i.period_start).sort()).toEqual([D0.period_start, D1.period_start]);
    expect(listed.map((i) => i.number).sort()).toEqual(['INV-000001', 'INV-000002']);
    const assignments = await api.store.readStream('default:invoice_numbers');
    expect(assignments.map((e) => (e.data as { invoice_id: string }).invoice_id)).toEqual(invoices);
  });
});
