import { randomUUID } from 'node:crypto';
import { eventually, startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';
import { backfill, created, expectProblem, issueKeys, type Keys, type UsageInput } from './testing/billing-http';

/*
 * Invoices, adjustments and the customer ledger over HTTP, on real PostgreSQL with the projector (and
 * its journal poster) in-process. The tests run in order: one customer's story from draft to void,
 * with the ledger balances checked after each step (receivables = closed invoices - credit notes -
 * payments; credits = adjustments not yet invoiced).
 */
const MARCH = { period_start: '2026-03-01T00:00:00Z', period_end: '2026-04-01T00:00:00Z' };
const APRIL = { period_start: '2026-04-01T00:00:00Z', period_end: '2026-05-01T00:00:00Z' };
const PLAN = {
  key: 'pro',
  name: 'Pro',
  currency: 'USD',
  billing_interval: 'month',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '20.00' },
    { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.10' },
  ],
};

const calls = (customer: string, count: number, value: string, day = 2): UsageInput[] =>
  Array.from({ length: count }, (_, i) => ({
    customer_id: customer,
    metric_key: 'calls',
    value,
    // Distinct instants, so (timestamp, id) order is timestamp order.
    timestamp: new Date(Date.UTC(2026, 2, day, 0, i)).toISOString(),
  }));

describe('invoices, adjustments and the customer ledger', () => {
  let api: TestApi;
  let projector: TestProjector;
  let keys: Keys;
  const subscriptions: Record<string, string> = {};
  const invoices: Record<string, string> = {};
  let c1Events: string[] = [];
  let adjustmentId: string;

  const post = (path: string, body?: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const get = (path: string, key?: string | null) => api.request('GET', path, { key });
  const draft = (customer: string, period = MARCH, key?: string) =>
    post('/v1/invoices', { subscription_id: subscriptions[customer], ...period }, key);

  /** The customer's balances by account, after the projector has caught up. */
  async function balances(customer: string): Promise<Record<string, string>> {
    await projector.caughtUp();
    const response = await get(`/v1/customers/${customer}/balance`);
    expect(response.status).toBe(200);
    return Object.fromEntries(
      response.body.data.map((row: { account: string; balance: string }) => [row.account, row.balance]),
    );
  }

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    keys = await issueKeys(api);
    await created(api, '/v1/metrics', { key: 'calls', name: 'Calls', aggregation: 'sum' });
    await created(api, '/v1/price-plans', { ...PLAN, publish: true });
    for (const customer of ['c1', 'c2', 'c3', 'c4']) {
      await created(api, '/v1/customers', {
        id: customer,
        name: `Customer ${customer}`,
        currency: 'USD',
        timezone: 'UTC',
      });
      const response = await created(api, '/v1/subscriptions', {
        customer_id: customer,
        plan_key: 'pro',
        start_date: '2026-03-01',
      });
      subscriptions[customer] = response.body.id;
    }
    c1Events = await backfill(api, calls('c1', 25, '2'));
    await backfill(api, [...calls('c2', 5, '10'), ...calls('c3', 1, '10')]);
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  it('drafts the invoice of a subscription period, idempotently', async () => {
    const first = await draft('c1', MARCH, keys.finance);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: expect.stringMatching(/^inv_[0-9a-f]{24}$/),
      status: 'draft',
      number: null,
      customer_id: 'c1',
      period_start: '2026-03-01T00:00:00.000Z',
      period_end: '2026-04-01T00:00:00.000Z',
      subtotal: '25.00', // 20.00 + 50 calls x 0.10
      total: '25.00',
    });
    invoices.c1 = first.body.id;
    const again = await draft('c1');
    expect(again.body).toMatchObject({ id: invoices.c1, status: 'draft' });
    expect(again.body.calculation.id).toBe(first.body.calculation.id);
    const stream = await api.store.readStream(`default:invoice-${invoices.c1}`);
    expect(stream.map((e) => e.type)).toEqual(['InvoiceDrafted']);
  });

  it('a draft follows its usage: reading it recalculates it (late events count, voided ones stop counting)', async () => {
    const [late] = await backfill(api, calls('c1', 1, '10', 20));
    c1Events.push(late);
    const voided = c1Events.shift()!;
    expect((await post(`/v1/events/${voided}/void`, { reason: 'test' })).status).toBe(200);
    const response = await get(`/v1/invoices/${invoices.c1}`, keys.auditor);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'draft', total: '25.80', refreshed_at: expect.any(String) }); // 58 calls
    const stream = await api.store.readStream(`default:invoice-${invoices.c1}`);
    expect(stream.map((e) => e.type)).toEqual(['InvoiceDrafted', 'InvoiceDraftRefreshed']);
  });

  it('explain lists the definitions, the arithmetic and exactly the events behind a line, page by page', async () => {
    const explained = await get(`/v1/invoices/${invoices.c1}/explain`, keys.auditor);
    expect(explained.status).toBe(200);
    const api_ = explained.body.lines.find((l: { charge_key: string }) => l.charge_key === 'api');
    expect(api_).toMatchObject({
      metric_key: 'calls',
      quantity: '58',
      amount: '5.80',
      aggregations: ['sum'],
      charge: { model: 'per_unit', unit_price: '0.1' },
      metric_versions: [{ version: 1, aggregation: 'sum', field: 'value', effective_from: null }],
      breakdown: [expect.objectContaining({ quantity: '58', unit_price: '0.1', amount: '5.80' })],
      usage_checksum: expect.stringMatching(/^sha256:/),
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await get(`/v1/invoices/${invoices.c1}/explain?line=api&limit=7${query}`, keys.auditor);
      expect(page.status).toBe(200);
      expect(page.body.events.data.length).toBeLessThanOrEqual(7);
      for (const event of page.body.events.data) {
        expect(event).toMatchObject({ meter_version: 1, late: true });
        seen.push(event.id);
      }
      cursor = page.body.events.next_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(4); // 25 events: 7 + 7 + 7 + 4
    expect(seen).toEqual(c1Events); // every counted event once, in (timestamp, id) order; the voided one not
    const base = await get(`/v1/invoices/${invoices.c1}/explain?line=base`);
    expect(base.body.events).toEqual({ line: 'base', data: [], next_cursor: null });
    expectProblem(await get(`/v1/invoices/${invoices.c1}/explain?line=nope`), 400, 'REQUEST.VALIDATION_FAILED');
  });

  it('a manual adjustment moves the balance and appears on the next calculation as its own line', async () => {
    const response = await post(
      '/v1/adjustments',
      { customer_id: 'c1', amount: '-5', currency: 'USD', reason: 'goodwill' },
      keys.finance,
    );
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      id: expect.stringMatching(/^adj_/),
      amount: '-5.00',
      kind: 'manual',
      recorded_by: expect.stringMatching(/^key_/),
      journal_entry_id: expect.any(String),
      status: 'pending',
    });
    adjustmentId = response.body.id;
    const [event] = await api.store.readStream(`default:adjustment-${adjustmentId}`);
    expect(event.metadata.actor).toBe(response.body.recorded_by);
    expect(await balances('c1')).toEqual({ 'credits:c1': '-5.00', revenue: '5.00' });
    const refreshed = await get(`/v1/invoices/${invoices.c1}`);
    expect(refreshed.body.calculation.adjustments).toEqual([
      {
        adjustment_id: adjustmentId,
        kind: 'manual',
        amount: '-5.00',
        reason: 'goodwill',
        invoice_id: null,
        charge_key: null,
      },
    ]);
    expect(refreshed.body).toMatchObject({ subtotal: '25.80', adjustments_total: '-5.00', total: '20.80' });
  });

  it('closes two invoices concurrently with gapless numbers, snapshots and checksums', async () => {
    invoices.c2 = (await draft('c2')).body.id;
    const [one, two] = await Promise.all([
      post(`/v1/invoices/${invoices.c1}/close`, { tax_amount: '2.08' }, keys.finance),
      post(`/v1/invoices/${invoices.c2}/close`, {}),
    ]);
    expect([one.status, two.status]).toEqual([200, 200]);
    expect([one.body.number, two.body.number].sort()).toEqual(['INV-000001', 'INV-000002']);
    expect(one.body).toMatchObject({
      status: 'closed',
      subtotal: '25.80',
      adjustments_total: '-5.00',
      tax_amount: '2.08',
      total: '22.88',
      checksum: expect.stringMatching(/^sha256:/),
      customer: { id: 'c1', name: 'Customer c1', currency: 'USD', timezone: 'UTC' },
      plan: { key: 'pro', version: 1, name: 'Pro', billing_interval: 'month' },
      closed_at: expect.any(String),
    });
    expect(two.body).toMatchObject({ status: 'closed', total: '25.00' });
    // The adjustment moved from credits to the receivable the invoice carries.
    expect(await balances('c1')).toEqual({
      'credits:c1': '0.00',
      'receivables:c1': '22.88',
      revenue: '-20.80',
      tax_payable: '-2.08',
    });
    expect((await balances('c2'))['receivables:c2']).toBe('25.00');
  });

  it('closing twice is idempotent; any change to a closed invoice is 409 INVOICE.CLOSED', async () => {
    const first = await get(`/v1/invoices/${invoices.c1}`);
    const again = await post(`/v1/invoices/${invoices.c1}/close`, { tax_amount: '2.08' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expectProblem(await post(`/v1/invoices/${invoices.c1}/close`, { tax_amount: '3.00' }), 409, 'INVOICE.CLOSED');
    expectProblem(await post(`/v1/invoices/${invoices.c1}/close`, {}), 409, 'INVOICE.CLOSED');
    // Drafting its period again answers the closed invoice; late usage never changes it.
    await backfill(api, calls('c1', 1, '100', 25));
    expect((await draft('c1')).body).toEqual(first.body);
    expect((await get(`/v1/invoices/${invoices.c1}`)).body).toEqual(first.body);
    const stream = await api.store.readStream(`default:invoice-${invoices.c1}`);
    expect(stream.map((e) => e.type)).toEqual([
      'InvoiceDrafted',
      'InvoiceDraftRefreshed',
      'InvoiceDraftRefreshed',
      'InvoiceClosed',
    ]);
  });

  it('a payment settles the receivable', async () => {
    await api.modules.ledger.runInvoiceCommand({
      store: api.store,
      tenantId: 'default',
      command: { type: 'RecordPayment', invoice_id: invoices.c2, payment_id: 'pay_1', amount: '25.00', at: new Date() },
      metadata: { tenant_id: 'default', actor: 'system:test' },
    });
    expect(await balances('c2')).toEqual({ cash: '25.00', 'receivables:c2': '0.00', revenue: '-25.00' });
    expect((await get(`/v1/invoices/${invoices.c2}`)).body.status).toBe('paid');
  });

  it('void: the invoice stays, a credit note reverses it, the balance goes back and the adjustment is pending again', async () => {
    const voided = await post(`/v1/invoices/${invoices.c1}/void`, { reason: 'wrong plan' }, keys.finance);
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({
      id: invoices.c1,
      status: 'void',
      number: expect.stringMatching(/^INV-00000[12]$/),
      total: '22.88',
      void: { reason: 'wrong plan', credit_note_id: expect.stringMatching(/^cn_/) },
      credit_note: { total: '22.88', invoice_id: invoices.c1 },
    });
    expect((await post(`/v1/invoices/${invoices.c1}/void`, { reason: 'again' })).body).toEqual(voided.body);
    expectProblem(await post(`/v1/invoices/${invoices.c2}/void`, { reason: 'x' }), 409, 'INVOICE.ALREADY_PAID');
    invoices.c3 = (await draft('c3')).body.id;
    expectProblem(await post(`/v1/invoices/${invoices.c3}/void`, { reason: 'x' }), 409, 'INVOICE.NOT_CLOSED');
    expect(await balances('c1')).toEqual({
      'credits:c1': '-5.00',
      'receivables:c1': '0.00',
      revenue: '5.00',
      tax_payable: '0.00',
    });
    const april = await post('/v1/pricing/calculate', { subscription_id: subscriptions.c1, ...APRIL });
    expect(april.body.adjustments.map((a: { adjustment_id: string }) => a.adjustment_id)).toEqual([adjustmentId]);
    expect(april.body.total).toBe('15.00'); // 20.00 base, no April usage, -5.00 carried
  });

  it('bulk drafts, then closes, every subscription period ending at an instant, once', async () => {
    const body = { period_end: '2026-04-01T00:00:00Z' };
    const first = await post('/v1/invoices/bulk', body, keys.finance);
    expect(first.status).toBe(200);
    // c1 void and c2 paid are closed already, c3 was drafted before, c4 is new.
    expect(first.body).toEqual({
      period_end: '2026-04-01T00:00:00.000Z',
      subscriptions: 4,
      drafted: 1,
      refreshed: 0,
      unchanged: 1,
      closed: 0,
      already_closed: 2,
      failed: [],
    });
    expect((await post('/v1/invoices/bulk', body)).body).toMatchObject({ drafted: 0, unchanged: 2, already_closed: 2 });
    const closing = await post('/v1/invoices/bulk', { ...body, close: true });
    expect(closing.body).toMatchObject({ subscriptions: 4, drafted: 0, closed: 2, already_closed: 2, failed: [] });
    expect((await post('/v1/invoices/bulk', { ...body, close: true })).body).toMatchObject({
      closed: 0,
      already_closed: 4,
    });
    await projector.caughtUp();
    const listed = await get('/v1/invoices?limit=100');
    expect(listed.body.data).toHaveLength(4);
    expect(listed.body.data.map((i: { number: string }) => i.number).sort()).toEqual([
      'INV-000001',
      'INV-000002',
      'INV-000003',
      'INV-000004',
    ]);
    // Nothing is due for April yet: no subscription period ends at April 2.
    expect((await post('/v1/invoices/bulk', { period_end: '2026-04-02T00:00:00Z' })).body.subscriptions).toBe(0);
  });

  it('lists invoices by customer and status, a page at a time', async () => {
    const closed = await get('/v1/invoices?status=closed&limit=1');
    const next = await get(`/v1/invoices?status=closed&limit=1&cursor=${closed.body.next_cursor}`);
    expect([...closed.body.data, ...next.body.data].map((i: { customer_id: string }) => i.customer_id).sort()).toEqual([
      'c3',
      'c4',
    ]);
    expect(next.body.next_cursor).toBeNull();
    const mine = await get('/v1/invoices?customer_id=c1', keys.auditor);
    expect(mine.body.data).toMatchObject([{ id: invoices.c1, status: 'void', total: '22.88' }]);
    expectProblem(await get('/v1/invoices?status=lost'), 400, 'REQUEST.VALIDATION_FAILED');
  });

  it("pages through a customer's journal in posting order", async () => {
    const entries: Array<{ kind: string; sequence: number }> = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await get(`/v1/customers/c1/ledger?limit=1${query}`, keys.auditor);
      expect(page.status).toBe(200);
      entries.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    expect(entries.map((e) => [e.kind, e.sequence])).toEqual([
      ['adjustment', 0],
      ['invoice', 1],
      ['credit_note', 2],
    ]);
  });

  it("the projector's journal poster posts the entry of a fact no command posted (a crash after the append)", async () => {
    await api.store.append('default:adjustment-adj_orphan', [
      {
        id: randomUUID(),
        type: 'AdjustmentRecorded',
        data: {
          adjustment_id: 'adj_orphan',
          customer_id: 'c4',
          amount: '-1.00',
          currency: 'USD',
          reason: 'posted by nobody',
          kind: 'manual',
          invoice_id: null,
          line: null,
          recorded_at: new Date().toISOString(),
        },
        metadata: { tenant_id: 'default', actor: 'system:test' },
      },
    ]);
    await eventually(async () => {
      const ledger = await get('/v1/customers/c4/ledger?limit=100');
      return ledger.body.data.some((entry: { reference: string }) => entry.reference === 'adj_orphan');
    }, 'the journal poster to post adj_orphan');
    expect((await balances('c4'))['credits:c4']).toBe('-1.00');
  });

  it('auditors read; only finance and admin write; publishable and ingest keys get nothing', async () => {
    for (const path of [
      `/v1/invoices/${invoices.c1}`,
      `/v1/invoices/${invoices.c1}/explain`,
      '/v1/invoices',
      '/v1/customers/c1/balance',
      '/v1/customers/c1/ledger',
    ]) {
      expect((await get(path, keys.auditor)).status).toBe(200);
      expectProblem(await get(path, keys.ingest), 403, 'AUTH.FORBIDDEN');
      expectProblem(await get(path, keys.publishable), 403, 'AUTH.FORBIDDEN');
    }
    const writes: Array<[string, unknown]> = [
      ['/v1/invoices', { subscription_id: subscriptions.c1, ...APRIL }],
      [`/v1/invoices/${invoices.c3}/close`, {}],
      [`/v1/invoices/${invoices.c3}/void`, { reason: 'x' }],
      ['/v1/invoices/bulk', { period_end: '2026-04-01T00:00:00Z' }],
      ['/v1/adjustments', { customer_id: 'c1', amount: '1', currency: 'USD', reason: 'x' }],
    ];
    for (const [path, body] of writes) {
      for (const key of [keys.auditor, keys.ingest, keys.publishable]) {
        expectProblem(await post(path, body, key), 403, 'AUTH.FORBIDDEN');
      }
    }
  });

  it('answers 4xx naming what is wrong', async () => {
    expectProblem(await get('/v1/invoices/inv_nope'), 404, 'INVOICE.NOT_FOUND');
    expectProblem(await get('/v1/invoices/inv_nope/explain'), 404, 'INVOICE.NOT_FOUND');
    expectProblem(await post('/v1/invoices/inv_nope/close', {}), 404, 'INVOICE.NOT_FOUND');
    expectProblem(await post('/v1/invoices/inv_nope/void', { reason: 'x' }), 404, 'INVOICE.NOT_FOUND');
    expectProblem(await post('/v1/invoices', { subscription_id: 'sub_nope', ...MARCH }), 404, 'SUBSCRIPTION.NOT_FOUND');
    const period = expectProblem(
      await post('/v1/invoices', {
        subscription_id: subscriptions.c1,
        period_start: MARCH.period_start,
        period_end: APRIL.period_end,
      }),
      422,
      'CALCULATION.INVALID_PERIOD',
    );
    expect(period.errors.map((e: { field: string }) => e.field)).toEqual(['period_end']);
    expectProblem(
      await post('/v1/invoices', { subscription_id: subscriptions.c1, ...MARCH, lines: [] }),
      400,
      'REQUEST.VALIDATION_FAILED',
    );
    expectProblem(await post(`/v1/invoices/${invoices.c3}/void`, {}), 400, 'REQUEST.VALIDATION_FAILED');
    const tax = expectProblem(
      await post(`/v1/invoices/${invoices.c3}/close`, { tax_amount: '1.001' }),
      422,
      'INVOICE.INVALID',
    );
    expect(tax.errors.map((e: { field: string }) => e.field)).toEqual(['tax_amount']);
    expectProblem(await get('/v1/customers/nobody/balance'), 404, 'CUSTOMER.NOT_FOUND');
    expectProblem(await get('/v1/customers/nobody/ledger'), 404, 'CUSTOMER.NOT_FOUND');
    const adjustment = (body: Record<string, unknown>) =>
      post('/v1/adjustments', { customer_id: 'c1', amount: '1.00', currency: 'USD', reason: 'x', ...body });
    for (const [body, field] of [
      [{ customer_id: 'nobody' }, 'customer_id'],
      [{ currency: 'EUR' }, 'currency'],
      [{ amount: '0' }, 'amount'],
      [{ amount: '1.001' }, 'amount'],
      [{ amount: 'ten' }, 'amount'],
      [{ invoice_id: 'inv_000000000000000000000000' }, 'invoice_id'],
      [{ invoice_id: invoices.c3 }, 'invoice_id'], // a draft
    ] as const) {
      const problem = expectProblem(await adjustment(body), 422, 'ADJUSTMENT.INVALID');
      expect(problem.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });
});
