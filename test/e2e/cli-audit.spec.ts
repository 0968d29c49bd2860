import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { backfill, created } from '../../apps/api/src/billing/testing/billing-http';
import { startTestApi, type TestApi } from '../support/api';
import { serverUrl } from '../support/database';
import { runCli } from '../support/process';
import { startTestProjector, type TestProjector } from '../support/projector';

/*
 * The finance and audit commands of `abaxus` as operators run them: real child processes (the build)
 * against a real database that the API and projector (in this process) share. Each command must do
 * what its HTTP route does, with the CLI user as the actor; `audit reproduce` runs as a database role
 * that may read the events table and nothing else.
 */
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
const MARCH = { period_start: '2026-03-01T00:00:00Z', period_end: '2026-04-01T00:00:00Z' };
const APRIL = { period_start: '2026-04-01T00:00:00Z', period_end: '2026-05-01T00:00:00Z' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CLI JSON output, asserted field by field
type Json = any;

describe('abaxus finance and audit commands', () => {
  let api: TestApi;
  let projector: TestProjector;
  let usageIds: string[];
  let invoiceId: string;
  let draftId: string;
  let auditorUrl: string;
  const auditorRole = `abaxus_auditor_${randomBytes(4).toString('hex')}`;
  const startedAt = new Date().toISOString();

  async function abaxus(
    args: string[],
    options: { url?: string; json?: boolean } = {},
  ): Promise<{ code: number | string; output: string; json: () => Json }> {
    const proc = runCli([...(options.json === false ? [] : ['--json']), ...args], {
      DATABASE_URL: options.url ?? api.db.url,
      EVENT_STORE_URL: '',
      LOG_LEVEL: 'silent',
    });
    const code = await proc.exited;
    const output = proc.output();
    return { code, output, json: () => JSON.parse(output) };
  }

  /** The exit code, with the command's output in the failure message. */
  function expectExit(result: { code: number | string; output: string }, code: number): void {
    if (result.code !== code) throw new Error(`exit code ${result.code}, expected ${code}; output:\n${result.output}`);
  }

  /** Actor and request id of the tenant's events of a type, in log order, from the store itself. */
  async function origins(type: string): Promise<Array<{ actor: string; request_id: string }>> {
    const { rows } = await api.db.pool.query(
      `SELECT metadata->>'actor' AS actor, metadata->>'request_id' AS request_id FROM events
        WHERE tenant_id = 'default' AND type = $1 ORDER BY position`,
      [type],
    );
    return rows;
  }

  /** Edits a stored event, as someone with write access to the database could (the log forbids it). */
  async function tamper(sql: string, params: unknown[]): Promise<void> {
    const client = await api.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE events DISABLE TRIGGER events_append_only');
      await client.query(sql, params);
      await client.query('ALTER TABLE events ENABLE TRIGGER events_append_only');
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    await created(api, '/v1/metrics', { key: 'calls', name: 'Calls', aggregation: 'sum' });
    await created(api, '/v1/price-plans', { ...PLAN, publish: true });
    await created(api, '/v1/customers', { id: 'c1', name: 'C1', currency: 'USD', timezone: 'UTC' });
    const subscription = await created(api, '/v1/subscriptions', {
      customer_id: 'c1',
      plan_key: 'pro',
      start_date: '2026-03-01',
    });
    usageIds = await backfill(
      api,
      Array.from({ length: 30 }, (_, i) => ({
        customer_id: 'c1',
        metric_key: 'calls',
        value: '3',
        timestamp: new Date(Date.UTC(2026, 2, 2 + (i % 25), 8, i)).toISOString(),
      })),
    );
    const draft = (period: typeof MARCH) =>
      created(api, '/v1/invoices', { subscription_id: subscription.body.id, ...period });
    invoiceId = (await draft(MARCH)).body.id;
    draftId = (await draft(APRIL)).body.id;
    // An auditor's database role: it may read the event store's table, nothing else.
    await api.db.pool.query(`CREATE ROLE ${auditorRole} LOGIN PASSWORD 'audit-only'`);
    await api.db.pool.query(`GRANT CONNECT ON DATABASE "${api.db.name}" TO ${auditorRole}`);
    await api.db.pool.query(`GRANT USAGE ON SCHEMA public TO ${auditorRole}`);
    await api.db.pool.query(`GRANT SELECT ON events TO ${auditorRole}`);
    const url = new URL(api.db.url);
    url.username = auditorRole;
    url.password = 'audit-only';
    auditorUrl = url.toString();
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close(); // drops the database, and with it the role's grants
    // Roles belong to the cluster, not to the database.
    const client = new Client({ connectionString: serverUrl() });
    await client.connect();
    await client.query(`DROP ROLE IF EXISTS ${auditorRole}`).finally(() => client.end());
  });

  it('adjustments create records a manual credit with the CLI user as its actor', async () => {
    const result = await abaxus([
      'adjustments',
      'create',
      '--tenant',
      'default',
      '--customer',
      'c1',
      '--amount',
      '-5',
      '--currency',
      'USD',
      '--reason',
      'goodwill after the outage',
    ]);
    expectExit(result, 0);
    expect(result.json()).toMatchObject({
      id: expect.stringMatching(/^adj_/),
      customer_id: 'c1',
      amount: '-5.00',
      currency: 'USD',
      reason: 'goodwill after the outage',
      recorded_by: expect.stringMatching(/^cli:/),
      status: 'pending',
    });
    expect(await origins('AdjustmentRecorded')).toEqual([
      { actor: expect.stringMatching(/^cli:./), request_id: expect.stringMatching(/^cli-/) },
    ]);
  }, 60_000);

  it('refuses an adjustment in another currency, naming the field, with exit code 1', async () => {
    const result = await abaxus(
      [
        'adjustments',
        'create',
        '--tenant',
        'default',
        '--customer',
        'c1',
        '--amount',
        '1',
        '--currency',
        'EUR',
        '--reason',
        'x',
      ],
      { json: false },
    );
    expectExit(result, 1);
    expect(result.output).toMatch(/ADJUSTMENT\.INVALID/);
    expect(result.output).toMatch(/currency: must be the customer's currency USD/);
    expect(await origins('AdjustmentRecorded')).toHaveLength(1);
  }, 60_000);

  it('events void voids a usage event once; voiding again answers the first void', async () => {
    const first = await abaxus(['events', 'void', usageIds[0], '--tenant', 'default', '--reason', 'sent twice']);
    expectExit(first, 0);
    expect(first.json()).toMatchObject({
      id: usageIds[0],
      status: 'voided',
      reason: 'sent twice',
      voided_by: expect.stringMatching(/^cli:/),
    });
    const again = await abaxus(['events', 'void', usageIds[0], '--tenant', 'default', '--reason', 'other reason']);
    expectExit(again, 0);
    expect(again.json()).toEqual(first.json());
    expect(await origins('UsageVoided')).toEqual([
      { actor: expect.stringMatching(/^cli:/), request_id: expect.stringMatching(/^cli-/) },
    ]);
    const unknown = await abaxus(['events', 'void', 'not-an-id', '--tenant', 'default', '--reason', 'x']);
    expectExit(unknown, 1);
    expect(unknown.output).toMatch(/EVENT\.NOT_FOUND/);
  }, 60_000);

  it('invoices close closes the draft with the next number, carrying the adjustment; closing again is a no-op', async () => {
    await projector.caughtUp(); // the close's calculation reads the read models at the log head
    const result = await abaxus(['invoices', 'close', invoiceId, '--tenant', 'default', '--tax-amount', '2']);
    expectExit(result, 0);
    // 29 events x 3 calls (one voided) x 0.10 + 20.00 = 28.70; - 5.00 + 2.00 tax.
    expect(result.json()).toMatchObject({
      id: invoiceId,
      status: 'closed',
      number: 'INV-000001',
      subtotal: '28.70',
      adjustments_total: '-5.00',
      tax_amount: '2.00',
      total: '25.70',
    });
    const again = await abaxus(['invoices', 'close', invoiceId, '--tenant', 'default', '--tax-amount', '2.00']);
    expectExit(again, 0);
    expect(again.json()).toMatchObject({ number: 'INV-000001', checksum: result.json().checksum });
    expect(await origins('InvoiceClosed')).toEqual([
      { actor: expect.stringMatching(/^cli:/), request_id: expect.stringMatching(/^cli-/) },
    ]);
    const http = await api.request('GET', `/v1/invoices/${invoiceId}`);
    expect(http.body).toMatchObject({ status: 'closed', number: 'INV-000001', total: '25.70' });
  }, 60_000);

  it('audit reproduce rebuilds the invoice as a role that can read only the events table', async () => {
    const checksum = (await api.request('GET', `/v1/invoices/${invoiceId}`)).body.checksum;
    const denied = await api.db.pool.query(`SELECT has_table_privilege($1, 'invoices', 'SELECT') AS ok`, [auditorRole]);
    expect(denied.rows[0].ok).toBe(false);
    const result = await abaxus(['audit', 'reproduce', invoiceId, '--tenant', 'default'], { url: auditorUrl });
    expectExit(result, 0);
    expect(result.json()).toMatchObject({
      match: true,
      invoice_id: invoiceId,
      number: 'INV-000001',
      checksum,
      recomputed_checksum: checksum,
      first_difference: null,
    });
    expect(result.json().events_read).toBeGreaterThanOrEqual(31); // 30 usage events and the void, at least
    const human = await abaxus(['audit', 'reproduce', invoiceId, '--tenant', 'default'], {
      url: auditorUrl,
      json: false,
    });
    expectExit(human, 0);
    expect(human.output).toMatch(/^INV-000001 .*: MATCH after \d+ events/);
  }, 60_000);

  it('audit reproduce refuses a draft (exit 1) and exits 2 naming the difference when the log was altered', async () => {
    const draft = await abaxus(['audit', 'reproduce', draftId, '--tenant', 'default'], { url: auditorUrl });
    expectExit(draft, 1);
    expect(draft.output).toMatch(/INVOICE\.NOT_CLOSED/);
    const [usage] = usageIds.slice(1);
    const edit = (value: string) =>
      tamper(
        `UPDATE events SET data = jsonb_set(data, '{value}', to_jsonb($1::text)) WHERE id = $2 AND type = 'UsageRecorded'`,
        [value, usage],
      );
    await edit('13');
    try {
      const altered = await abaxus(['audit', 'reproduce', invoiceId, '--tenant', 'default'], { url: auditorUrl });
      expectExit(altered, 2);
      expect(altered.json()).toMatchObject({
        match: false,
        first_difference: { charge_key: 'api', field: 'quantity', recorded: '87', recomputed: '97' },
      });
    } finally {
      await edit('3');
    }
  }, 60_000);

  it('audit log lists who did what since an instant, by actor and tenant', async () => {
    await projector.caughtUp();
    const actor = (await origins('InvoiceClosed'))[0].actor;
    const result = await abaxus(['audit', 'log', '--since', startedAt, '--actor', actor, '--tenant', 'default']);
    expectExit(result, 0);
    const page = result.json();
    expect(page.meta).toMatchObject({ order: 'newest_first', excluded_types: ['UsageRecorded'] });
    // The CLI's commands, newest first. (Their journal entries, LedgerEntryPosted, carry the CLI user
    // or the journal poster's actor, whichever posted first.)
    expect(page.data.map((entry: Json) => entry.type).filter((type: string) => type !== 'LedgerEntryPosted')).toEqual([
      'InvoiceClosed',
      'InvoiceNumberAssigned',
      'InvoiceDraftRefreshed',
      'ChargesCalculated',
      'UsageVoided',
      'AdjustmentRecorded',
    ]);
    expect(page.data.every((entry: Json) => entry.actor === actor && entry.tenant_id === 'default')).toBe(true);
    // Every tenant (the operator's view) holds the same entries here: one tenant has events.
    const everyTenant = await abaxus(['audit', 'log', '--since', startedAt, '--actor', actor]);
    expect(everyTenant.json().data).toEqual(page.data);
    const human = await abaxus(['audit', 'log', '--since', startedAt, '--type', 'InvoiceClosed'], { json: false });
    expect(human.output).toMatch(new RegExp(`InvoiceClosed  ${actor}  default:invoice-${invoiceId}  cli-`));
    const bad = await abaxus(['audit', 'log', '--since', 'last tuesday']);
    expectExit(bad, 1);
    expect(bad.output).toMatch(/REQUEST\.VALIDATION_FAILED[\s\S]*since:/);
  }, 60_000);
});
