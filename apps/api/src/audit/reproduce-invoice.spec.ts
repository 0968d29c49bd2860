import {
  BillingError,
  calculateSubscription,
  type BillingPeriod,
  type ClosedInvoice,
  type UsageRecordedData,
} from '#domain';
import { PostgresEventStore, ProjectionRunner, loadInvoice, recordAdjustment, type NewEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { adjustmentsProjection } from '../../../projector/src/billing/adjustments.projection';
import { appendUsage, usageRecorded, usageVoided } from '../../../projector/src/usage/testing/usage-fixtures';
import { usageProjection } from '../../../projector/src/usage/usage.projection';
import type { BillingContext } from '../billing/billing-context';
import { loadCalculationInputsFromLog } from '../billing/calculation';
import { closeInvoice, draftInvoice } from '../billing/invoice.operations';
import { createCustomer } from '../customers/customer.operations';
import { createMetric, publishMetricVersion } from '../metrics/metric.operations';
import { createPlanDraft, createPricePlan, publishPlanVersion } from '../price-plans/price-plan.operations';
import { startSubscription } from '../subscriptions/subscription.operations';
import { ReadOnlyEventStore } from './read-only-event-store';
import { reproduceInvoice } from './reproduce-invoice';

/*
 * Reproduction on a real PostgreSQL: invoices closed by the real operations (fast loader, read
 * models), then rebuilt from the event store alone. Given a closed invoice, when the catalog moves on
 * (a new plan version, a new metric version reaching back into the closed period), late usage and new
 * adjustments arrive, it still reproduces bit for bit; when the log is tampered with, the first
 * differing line and member are named.
 */
const TENANT = 'acme';
const MARCH: BillingPeriod = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
const APRIL: BillingPeriod = { start: '2026-04-01T00:00:00.000Z', end_exclusive: '2026-05-01T00:00:00.000Z' };
const CHARGES = [
  { key: 'base', model: 'flat_fee', amount: '20.00' },
  { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.01' },
  {
    key: 'api_tiered',
    model: 'tiered',
    metric_key: 'calls',
    tiers: [
      { up_to: '100', unit_price: '0.05' },
      { up_to: null, unit_price: '0.02' },
    ],
  },
];

describe('reproduceInvoice: a closed invoice rebuilt from the event store alone', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let subscriptionId: string;
  let marchInvoice: ClosedInvoice;
  let aprilDraftId: string;
  const ctx = () => ({ store, tenantId: TENANT, actor: 'system:test' });
  const billing = (): BillingContext => ({ pool: db.pool, store, tenantId: TENANT, actor: 'key_finance' });
  const use = (timestamp: string, value: string) =>
    usageRecorded({ tenant: TENANT, customer: 'c1', metric: 'calls', timestamp, value });
  const eventCount = async () => Number((await db.pool.query('SELECT count(*) AS n FROM events')).rows[0].n);

  /** Replaces one stored event's data, as someone with write access to the database could. */
  async function tamper(sql: string, params: unknown[]): Promise<void> {
    const client = await db.pool.connect();
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
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    runner = new ProjectionRunner({
      pool: db.pool,
      store,
      projections: [usageProjection, adjustmentsProjection],
      idlePollMs: 50,
    });
    await runner.start();
    await createMetric({ ...ctx(), key: 'calls', name: 'Calls', definition: { aggregation: 'sum' } });
    await createCustomer({ ...ctx(), id: 'c1', fields: { name: 'C1', currency: 'USD', timezone: 'UTC' } });
    await createPricePlan({
      ...ctx(),
      key: 'pro',
      publish: true,
      content: { name: 'Pro', currency: 'USD', billing_interval: 'month', charges: CHARGES },
    });
    const started = await startSubscription({
      ...ctx(),
      request: { customer_id: 'c1', plan_key: 'pro', start_date: '2026-03-01', billing_anchor: 'calendar' },
    });
    subscriptionId = started.subscription.subscription_id;
    const voided = use('2026-03-20T10:00:00.000Z', '500');
    const events: Array<NewEvent<UsageRecordedData>> = [
      ...Array.from({ length: 40 }, (_, i) =>
        use(`2026-03-${String(2 + (i % 27)).padStart(2, '0')}T12:00:00.000Z`, `${i + 1}.5`),
      ),
      voided,
      use('2026-04-03T00:00:00.000Z', '1000'), // April: not March's
    ];
    await appendUsage(store, events);
    await appendUsage(store, [usageVoided(TENANT, voided.data)]);
    await recordAdjustment({
      store,
      tenantId: TENANT,
      command: {
        type: 'RecordAdjustment',
        adjustment_id: 'adj_goodwill',
        customer_id: 'c1',
        amount: '-3.00',
        currency: 'USD',
        reason: 'goodwill',
        kind: 'manual',
        at: new Date('2026-03-31T00:00:00Z'),
      },
      metadata: { tenant_id: TENANT, actor: 'key_finance' },
    });
    const drafted = await draftInvoice(billing(), subscriptionId, MARCH);
    const closed = await closeInvoice(billing(), drafted.invoiceId, { tax_amount: '1.50' });
    if (closed.state.status !== 'closed') throw new Error('the March invoice did not close');
    marchInvoice = closed.state.invoice;
    aprilDraftId = (await draftInvoice(billing(), subscriptionId, APRIL)).invoiceId;
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.close();
  });

  it('rebuilds the closed invoice with the recorded checksum, reading the event store only', async () => {
    // 40 events of 1.5..40.5 = 840 calls; the voided 500 and April's 1000 do not count.
    expect(marchInvoice.calculation.line_items.map((line) => [line.charge_key, line.quantity, line.amount])).toEqual([
      ['base', '1', '20.00'],
      ['api', '840', '8.40'],
      ['api_tiered', '840', '19.80'], // 100 x 0.05 + 740 x 0.02
    ]);
    expect(marchInvoice).toMatchObject({ adjustments_total: '-3.00', tax_amount: '1.50', total: '46.70' });
    const progress: Array<[number, number]> = [];
    const before = await eventCount();
    const result = await reproduceInvoice({
      store,
      tenantId: TENANT,
      invoiceId: marchInvoice.invoice_id,
      onProgress: (read, expected) => progress.push([read, expected]),
    });
    expect(result).toEqual({
      match: true,
      invoice_id: marchInvoice.invoice_id,
      number: 'INV-000001',
      status: 'closed',
      checksum: marchInvoice.checksum,
      recomputed_checksum: marchInvoice.checksum,
      calculation_id: marchInvoice.calculation.id,
      recomputed_calculation_id: marchInvoice.calculation.id,
      as_of_position: expect.any(String),
      events_read: expect.any(Number),
      first_difference: null,
    });
    // The March usage stream (41 recorded + 1 void) is replayed whole, plus the catalog and billing facts.
    expect(result.events_read).toBeGreaterThanOrEqual(42);
    expect(progress.at(-1)).toEqual([result.events_read, expect.any(Number)]);
    expect(progress.at(-1)![1]).toBeGreaterThanOrEqual(42);
    expect(await eventCount()).toBe(before); // nothing appended
  });

  it('still reproduces after a new plan version, a meter version reaching into March, late usage and a new adjustment', async () => {
    await createPlanDraft({ ...ctx(), key: 'pro', changes: { charges: [{ ...CHARGES[1], unit_price: '0.02' }] } });
    await publishPlanVersion({ ...ctx(), key: 'pro', version: 2 });
    // Version 2 of the meter counts every event as 1 from March 15: it would change March if it applied.
    await publishMetricVersion({
      ...ctx(),
      key: 'calls',
      effectiveFrom: '2026-03-15T00:00:00Z',
      definition: { aggregation: 'count' },
    });
    await appendUsage(store, [use('2026-03-30T00:00:00.000Z', '77')]); // late: after the close
    await recordAdjustment({
      store,
      tenantId: TENANT,
      command: {
        type: 'RecordAdjustment',
        adjustment_id: 'adj_later',
        customer_id: 'c1',
        amount: '4.00',
        currency: 'USD',
        reason: 'setup',
        kind: 'manual',
        at: new Date('2026-04-02T00:00:00Z'),
      },
      metadata: { tenant_id: TENANT, actor: 'key_finance' },
    });
    // The changes are real: March priced from today's log is another calculation.
    const today = calculateSubscription(
      await loadCalculationInputsFromLog({ store, tenantId: TENANT, subscriptionId, period: MARCH }),
    );
    expect(today.checksum).not.toBe(marchInvoice.calculation.checksum);
    expect(today.line_items.find((line) => line.charge_key === 'api')!.meter_versions).toEqual([1, 2]);

    const result = await reproduceInvoice({ store, tenantId: TENANT, invoiceId: marchInvoice.invoice_id });
    expect(result).toMatchObject({ match: true, recomputed_checksum: marchInvoice.checksum, first_difference: null });
  });

  it('names the first differing line when a usage event was altered in the log', async () => {
    const [row] = (
      await db.pool.query<{ position: string; value: string }>(
        `SELECT position::text, data->>'value' AS value FROM events
          WHERE stream = 'acme:usage-c1-2026-03' AND type = 'UsageRecorded' AND data->>'value' = '10.5'`,
      )
    ).rows;
    await tamper(`UPDATE events SET data = jsonb_set(data, '{value}', '"1010.5"') WHERE position = $1`, [row.position]);
    try {
      const result = await reproduceInvoice({ store, tenantId: TENANT, invoiceId: marchInvoice.invoice_id });
      expect(result.match).toBe(false);
      expect(result.recomputed_checksum).not.toBe(marchInvoice.checksum);
      expect(result.first_difference).toEqual({
        charge_key: 'api',
        field: 'quantity',
        recorded: '840',
        recomputed: '1840',
      });
    } finally {
      await tamper(`UPDATE events SET data = jsonb_set(data, '{value}', '"10.5"') WHERE position = $1`, [row.position]);
    }
    expect((await reproduceInvoice({ store, tenantId: TENANT, invoiceId: marchInvoice.invoice_id })).match).toBe(true);
  });

  it('names the member of the invoice document that was altered in the log', async () => {
    const stream = `${TENANT}:invoice-${marchInvoice.invoice_id}`;
    const edit = (total: string) =>
      tamper(
        `UPDATE events SET data = jsonb_set(data, '{total}', to_jsonb($1::text)) WHERE stream = $2 AND type = 'InvoiceClosed'`,
        [total, stream],
      );
    await edit('0.00');
    try {
      const result = await reproduceInvoice({ store, tenantId: TENANT, invoiceId: marchInvoice.invoice_id });
      expect(result).toMatchObject({
        match: false,
        recomputed_checksum: marchInvoice.checksum, // the log's usage still gives the original invoice
        first_difference: { charge_key: null, field: 'total', recorded: '0.00', recomputed: '46.70' },
      });
    } finally {
      await edit(marchInvoice.total);
    }
    const { state } = await loadInvoice(store, TENANT, marchInvoice.invoice_id);
    expect(state.status === 'closed' && state.invoice).toEqual(marchInvoice);
  });

  it("refuses a draft (INVOICE.NOT_CLOSED) and an unknown or other tenant's invoice (INVOICE.NOT_FOUND)", async () => {
    const codeOf = (invoiceId: string, tenantId = TENANT) =>
      reproduceInvoice({ store, tenantId, invoiceId }).then(
        () => 'reproduced',
        (error: unknown) => (error instanceof BillingError ? error.code : String(error)),
      );
    expect(await codeOf(aprilDraftId)).toBe('INVOICE.NOT_CLOSED');
    expect(await codeOf('inv_nope')).toBe('INVOICE.NOT_FOUND');
    expect(await codeOf(marchInvoice.invoice_id, 'other')).toBe('INVOICE.NOT_FOUND');
  });

  it('cannot write: its store refuses appends and subscriptions', async () => {
    const readOnly = new ReadOnlyEventStore(store);
    await expect(readOnly.append('acme:anything', [])).rejects.toThrow(/read-only/);
    expect(() => readOnly.subscribeToAll(null, { onBatch: async () => undefined })).toThrow(/read-only/);
    expect(await readOnly.readStream(`${TENANT}:customer-c1`)).toHaveLength(1);
    expect(readOnly.eventsRead).toBe(1);
  });
});
