import { startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';
import { backfill, created, expectProblem } from '../billing/testing/billing-http';

/*
 * The audit routes over HTTP, on real PostgreSQL with the projector in-process: POST
 * /v1/invoices/:id/reproduce (who may, drafts, unknown ids, and, last, with the projector stopped and
 * every read model dropped) and GET /v1/audit-log (actors and request ids of real commands, filters,
 * newest-first keyset pages, refusals).
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

/** Instants as comparable text: milliseconds written as microseconds. */
const sortable = (instant: string) => (instant.length === 24 ? instant.replace('Z', '000Z') : instant);

interface Key {
  id: string;
  key: string;
}
interface Entry {
  event_id: string;
  type: string;
  stream: string;
  actor: string;
  request_id: string | null;
  recorded_at: string;
}

describe('audit routes', () => {
  let api: TestApi;
  let projector: TestProjector;
  const keys: Record<'finance' | 'auditor' | 'ingest', Key> = {} as never;
  let invoiceId: string;
  let draftId: string;

  const post = (path: string, key?: string, headers?: Record<string, string>) =>
    api.request('POST', path, { key, headers });
  const auditLog = async (query: string, key = keys.auditor.key) => {
    const response = await api.request('GET', `/v1/audit-log${query}`, { key });
    expect(response.status).toBe(200);
    return response.body as { data: Entry[]; next_cursor: string | null; meta: Record<string, unknown> };
  };

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    for (const role of ['finance', 'auditor', 'ingest'] as const) {
      const issued = await api.request('POST', '/v1/api-keys', { body: { role, kind: 'secret', name: role } });
      keys[role] = { id: issued.body.id, key: issued.body.key };
    }
    await created(api, '/v1/metrics', { key: 'calls', name: 'Calls', aggregation: 'sum' });
    await created(api, '/v1/price-plans', { ...PLAN, publish: true });
    await created(api, '/v1/customers', { id: 'c1', name: 'C1', currency: 'USD', timezone: 'UTC' });
    const subscription = await created(api, '/v1/subscriptions', {
      customer_id: 'c1',
      plan_key: 'pro',
      start_date: '2026-03-01',
    });
    await backfill(
      api,
      Array.from({ length: 30 }, (_, i) => ({
        customer_id: 'c1',
        metric_key: 'calls',
        value: '3',
        timestamp: new Date(Date.UTC(2026, 2, 2 + (i % 25), 9, i)).toISOString(),
      })),
    );
    const draft = (period: typeof MARCH) =>
      api.request('POST', '/v1/invoices', {
        key: keys.finance.key,
        body: { subscription_id: subscription.body.id, ...period },
        headers: { 'x-request-id': 'req-draft' },
      });
    invoiceId = (await draft(MARCH)).body.id;
    const closed = await api.request('POST', `/v1/invoices/${invoiceId}/close`, {
      key: keys.finance.key,
      body: { tax_amount: '1.00' },
      headers: { 'x-request-id': 'req-close' },
    });
    expect(closed.body).toMatchObject({ status: 'closed', number: 'INV-000001', total: '30.00' }); // 20 + 90 x 0.10 + 1
    draftId = (await draft(APRIL)).body.id;
    await projector.caughtUp();
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  describe('POST /v1/invoices/:id/reproduce', () => {
    it('rebuilds the closed invoice from the log with the recorded checksum, for auditors, finance and admins', async () => {
      const invoice = (await api.request('GET', `/v1/invoices/${invoiceId}`, { key: keys.auditor.key })).body;
      for (const key of [keys.auditor.key, keys.finance.key, api.adminKey]) {
        const response = await post(`/v1/invoices/${invoiceId}/reproduce`, key);
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({
          match: true,
          invoice_id: invoiceId,
          number: 'INV-000001',
          checksum: invoice.checksum,
          recomputed_checksum: invoice.checksum,
          first_difference: null,
        });
        expect(response.body.events_read).toBeGreaterThanOrEqual(30);
      }
    });

    it('refuses ingest keys (403), drafts (409 INVOICE.NOT_CLOSED) and unknown invoices (404)', async () => {
      expectProblem(await post(`/v1/invoices/${invoiceId}/reproduce`, keys.ingest.key), 403, 'AUTH.FORBIDDEN');
      const draft = expectProblem(
        await post(`/v1/invoices/${draftId}/reproduce`, keys.auditor.key),
        409,
        'INVOICE.NOT_CLOSED',
      );
      expect(draft.detail).toMatch(/draft/);
      expectProblem(
        await post('/v1/invoices/inv_000000000000000000000000/reproduce', keys.auditor.key),
        404,
        'INVOICE.NOT_FOUND',
      );
    });
  });

  describe('GET /v1/audit-log', () => {
    it('says who did what, when: the actor and request id of each command, newest first, without usage events', async () => {
      const page = await auditLog('?limit=100');
      expect(page.meta).toMatchObject({
        consistency: 'eventual',
        order: 'newest_first',
        excluded_types: ['UsageRecorded'],
      });
      const closed = page.data.find((entry) => entry.type === 'InvoiceClosed');
      expect(closed).toMatchObject({
        stream: `default:invoice-${invoiceId}`,
        actor: keys.finance.id,
        request_id: 'req-close',
      });
      const number = page.data.find((entry) => entry.type === 'InvoiceNumberAssigned');
      expect(number).toMatchObject({ actor: keys.finance.id, request_id: 'req-close' });
      expect(page.data.filter((entry) => entry.type === 'InvoiceDrafted').map((e) => e.actor)).toEqual([
        keys.finance.id,
        keys.finance.id,
      ]);
      expect(page.data.some((entry) => entry.type === 'UsageRecorded')).toBe(false);
      const times = page.data.map((entry) => sortable(entry.recorded_at));
      expect([...times].sort().reverse()).toEqual(times);
      // Everything the tenant's log holds but usage is listed: compare with the store itself.
      const { rows } = await api.db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE tenant_id = 'default' AND type <> 'UsageRecorded'`,
      );
      expect(page.data).toHaveLength(rows[0].n);
    });

    it('filters by actor, type (a list), stream (with or without its tenant) and time, on the log time', async () => {
      const byActor = await auditLog(`?actor=${keys.finance.id}&limit=100`);
      expect(byActor.data.length).toBeGreaterThan(0);
      expect(byActor.data.every((entry) => entry.actor === keys.finance.id)).toBe(true);
      const byType = await auditLog('?type=InvoiceClosed,InvoiceNumberAssigned&limit=100');
      expect(byType.data.map((entry) => entry.type).sort()).toEqual(['InvoiceClosed', 'InvoiceNumberAssigned']);
      const stream = await auditLog(`?stream=invoice-${invoiceId}`);
      expect(stream.data.map((entry) => entry.type)).toEqual(['InvoiceClosed', 'InvoiceDrafted']);
      expect((await auditLog(`?stream=default:invoice-${invoiceId}`)).data).toEqual(stream.data);
      const all = (await auditLog('?limit=100')).data;
      const middle = all[Math.floor(all.length / 2)];
      const since = (await auditLog(`?since=${middle.recorded_at}&limit=100`)).data;
      const until = (await auditLog(`?until=${middle.recorded_at}&limit=100`)).data;
      expect(sortable(since.at(-1)!.recorded_at) >= sortable(middle.recorded_at)).toBe(true);
      expect(until.every((entry) => sortable(entry.recorded_at) < sortable(middle.recorded_at))).toBe(true);
      expect(since.length + until.length).toBe(all.length);
    });

    it('pages with a cursor: every entry once, in the same order as one big page', async () => {
      const all = (await auditLog('?limit=100')).data;
      const walked: Entry[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await auditLog(query);
        expect(page.data.length).toBeLessThanOrEqual(3);
        walked.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(walked).toEqual(all);
    });

    it('a cursor continues only its own filters: another actor or type is 400 naming cursor; a new limit is fine', async () => {
      const first = await auditLog('?type=ApiKeyIssued&limit=1');
      expect(first.next_cursor).not.toBeNull();
      const next = await auditLog(`?type=ApiKeyIssued&limit=2&cursor=${first.next_cursor}`);
      expect(next.data.length).toBeGreaterThan(0);
      expect(next.data.every((entry) => entry.type === 'ApiKeyIssued')).toBe(true);
      for (const other of ['?type=InvoiceClosed', '?type=ApiKeyIssued&actor=cli:nobody', '']) {
        const refused = expectProblem(
          await api.request('GET', `/v1/audit-log${other}${other ? '&' : '?'}cursor=${first.next_cursor}`, {
            key: keys.auditor.key,
          }),
          400,
          'REQUEST.VALIDATION_FAILED',
        );
        expect(refused.errors).toEqual([
          { field: 'cursor', message: expect.stringMatching(/another list or with other filters/) },
        ]);
      }
      // The same window written with another offset is the same query.
      const since = encodeURIComponent('2020-01-01T00:00:00Z');
      const windowed = await auditLog(`?type=ApiKeyIssued&since=${since}&limit=1`);
      const shifted = encodeURIComponent('2020-01-01T02:00:00+02:00');
      const continued = await auditLog(`?type=ApiKeyIssued&since=${shifted}&limit=1&cursor=${windowed.next_cursor}`);
      expect(continued.data[0]).toEqual((await auditLog('?type=ApiKeyIssued&limit=2')).data[1]);
    });

    it('is for auditors and admins; refuses usage events, bad instants and foreign cursors by field', async () => {
      expectProblem(await api.request('GET', '/v1/audit-log', { key: keys.finance.key }), 403, 'AUTH.FORBIDDEN');
      expect((await api.request('GET', '/v1/audit-log')).status).toBe(200); // admin
      const usage = expectProblem(
        await api.request('GET', '/v1/audit-log?type=UsageRecorded', { key: keys.auditor.key }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(usage.errors).toEqual([{ field: 'type', message: expect.stringMatching(/not in the audit log/) }]);
      const since = expectProblem(
        await api.request('GET', '/v1/audit-log?since=yesterday', { key: keys.auditor.key }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(since.errors).toEqual([{ field: 'since', message: expect.any(String) }]);
      const cursor = expectProblem(
        await api.request('GET', '/v1/audit-log?cursor=bm90LWEtY3Vyc29y', { key: keys.auditor.key }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(cursor.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    });
  });

  // Last: it stops the projector and drops the read models of this database.
  it('reproduces with the projector stopped and every read model, cache and write-side table dropped', async () => {
    await projector.stop();
    const { rows: views } = await api.db.pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.views WHERE table_schema = 'public'`,
    );
    const { rows: tables } = await api.db.pool.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables
        WHERE schemaname = 'public' AND tablename NOT IN ('events', 'streams', 'schema_migrations')`,
    );
    expect(views.map((v) => v.name)).toEqual(expect.arrayContaining(['invoices', 'usage_events', 'audit_log']));
    for (const { name } of views) await api.db.pool.query(`DROP VIEW "${name}" CASCADE`);
    for (const { name } of tables) await api.db.pool.query(`DROP TABLE IF EXISTS "${name}" CASCADE`);
    // The read models are really gone: what reads them fails now.
    expect((await api.request('GET', '/v1/invoices')).status).toBeGreaterThanOrEqual(500);
    expectProblem(await api.request('GET', '/v1/audit-log'), 503, 'SERVICE.UNAVAILABLE');

    const response = await post(`/v1/invoices/${invoiceId}/reproduce`, keys.auditor.key);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ match: true, number: 'INV-000001', first_difference: null });
    expect(response.body.recomputed_checksum).toBe(response.body.checksum);
  });
});
