import type { BillingPeriod, ClosedInvoice, UsageRecordedData } from '#domain';
import { PostgresEventStore, ProjectionRunner, type NewEvent } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { adjustmentsProjection } from '../../../projector/src/billing/adjustments.projection';
import { appendUsage, usageRecorded, usageVoided } from '../../../projector/src/usage/testing/usage-fixtures';
import { usageProjection } from '../../../projector/src/usage/usage.projection';
import type { BillingContext } from '../billing/billing-context';
import { closeInvoice, draftInvoice } from '../billing/invoice.operations';
import { createCustomer } from '../customers/customer.operations';
import { createMetric, publishMetricVersion } from '../metrics/metric.operations';
import { createPricePlan } from '../price-plans/price-plan.operations';
import { startSubscription } from '../subscriptions/subscription.operations';
import { reproduceInvoice } from './reproduce-invoice';

/*
 * An invoice whose usage lies in TWO monthly usage streams: the customer bills in New York, so March
 * runs from 1 March 05:00 UTC to 1 April 04:00 UTC and its last hours are in the April stream. Its
 * metric has three versions in force during March (the same aggregation, then another: two
 * segments), a matrix charge groups by region, events arrive out of timestamp order and interleave
 * between the two streams, some are voided (before the close, and one after it), one repeats an
 * idempotency key in the other stream, and late usage arrives after the close. The invoice closed by
 * the read models is rebuilt from the event store alone, bit for bit.
 */
const TENANT = 'acme';
const MARCH_NY: BillingPeriod = { start: '2026-03-01T05:00:00.000Z', end_exclusive: '2026-04-01T04:00:00.000Z' };
const CHARGES = [
  { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.01' },
  {
    key: 'by_region',
    model: 'matrix',
    metric_key: 'calls',
    dimensions: ['region'],
    prices: [{ match: { region: 'eu' }, unit_price: '0.02' }],
    default_unit_price: '0.03',
  },
];

describe('reproduceInvoice: usage in two monthly streams, several meter versions, voids and late events', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let invoice: ClosedInvoice;
  let voidedAfterClose: NewEvent<UsageRecordedData>;
  const ctx = () => ({ store, tenantId: TENANT, actor: 'system:test' });
  const billing = (): BillingContext => ({ pool: db.pool, store, tenantId: TENANT, actor: 'key_finance' });
  const use = (timestamp: string, value: string, region: string, key?: string) =>
    usageRecorded({ tenant: TENANT, customer: 'ny', metric: 'calls', timestamp, value, key, properties: { region } });

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
    await createMetric({
      ...ctx(),
      key: 'calls',
      name: 'Calls',
      definition: { aggregation: 'sum', group_by: ['region'] },
    });
    // v2 (same aggregation, one segment with v1): test traffic no longer counts from 10 March.
    await publishMetricVersion({
      ...ctx(),
      key: 'calls',
      effectiveFrom: '2026-03-10T00:00:00Z',
      definition: { aggregation: 'sum', filters: { region: { neq: 'test' } }, group_by: ['region'] },
    });
    // v3 (another aggregation, its own segment): the largest call from 31 March 12:00 UTC.
    await publishMetricVersion({
      ...ctx(),
      key: 'calls',
      effectiveFrom: '2026-03-31T12:00:00Z',
      definition: { aggregation: 'max', group_by: ['region'] },
    });
    await createCustomer({
      ...ctx(),
      id: 'ny',
      fields: { name: 'NY', currency: 'USD', timezone: 'America/New_York' },
    });
    await createPricePlan({
      ...ctx(),
      key: 'usage',
      publish: true,
      content: { name: 'Usage', currency: 'USD', billing_interval: 'month', charges: CHARGES },
    });
    const { subscription } = await startSubscription({
      ...ctx(),
      request: { customer_id: 'ny', plan_key: 'usage', start_date: '2026-03-01', billing_anchor: 'calendar' },
    });

    const voidedEarly = use('2026-03-20T00:00:00.000Z', '400', 'eu');
    const voidedInApril = use('2026-04-01T02:00:00.000Z', '300', 'us');
    voidedAfterClose = use('2026-03-21T00:00:00.000Z', '9', 'eu');
    const events: Array<NewEvent<UsageRecordedData>> = [
      use('2026-03-05T00:00:00.000Z', '10', 'eu'),
      use('2026-04-01T03:00:00.000Z', '7', 'us'), // April stream, March period (v3: max)
      use('2026-03-05T12:00:00.000Z', '5', 'test'), // v1: test counts
      use('2026-03-31T13:00:00.000Z', '50', 'eu'), // v3
      voidedEarly,
      use('2026-03-12T00:00:00.000Z', '6', 'test'), // v2: filtered out (still in the checksum)
      use('2026-03-01T04:00:00.000Z', '1000', 'eu'), // 28 Feb in New York: not March's
      voidedInApril,
      use('2026-03-02T00:00:00.000Z', '2.5', 'us', 'dup-key'),
      use('2026-04-01T01:00:00.000Z', '8', 'ap', 'dup-key'), // the key again, in the April stream: never counts
      use('2026-03-15T00:00:00.000Z', '3.25', 'us'),
      use('2026-04-01T04:00:00.000Z', '999', 'eu'), // April in New York
      voidedAfterClose,
    ];
    for (const event of events) await appendUsage(store, [event]); // one append each: the streams interleave
    await appendUsage(store, [usageVoided(TENANT, voidedEarly.data), usageVoided(TENANT, voidedInApril.data)]);

    const drafted = await draftInvoice(billing(), subscription.subscription_id, MARCH_NY);
    const closed = await closeInvoice(billing(), drafted.invoiceId, { tax_amount: '0.00' });
    if (closed.state.status !== 'closed') throw new Error('the March invoice did not close');
    invoice = closed.state.invoice;
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.close();
  });

  it('closes with the usage of both streams, metered by every version in force', () => {
    const api = invoice.calculation.line_items.find((line) => line.charge_key === 'api')!;
    // Segment v1+v2 (sum): 10 + 5 (test, v1) + 2.5 + 3.25 + 9 = 29.75; segment v3 (max): 50.
    expect(api).toMatchObject({ quantity: '79.75', amount: '0.80', meter_versions: [1, 2, 3] });
    // eu 10 + 9 + max 50 = 69 at 0.02, us 2.5 + 3.25 + max 7 = 12.75 and test 5 at 0.03.
    const byRegion = invoice.calculation.line_items.find((line) => line.charge_key === 'by_region')!;
    expect(byRegion.amount).toBe('1.91');
  });

  it('reproduces bit for bit, then again after late usage, a late void and a new meter version', async () => {
    const first = await reproduceInvoice({ store, tenantId: TENANT, invoiceId: invoice.invoice_id });
    expect(first).toMatchObject({ match: true, recomputed_checksum: invoice.checksum, first_difference: null });

    await appendUsage(store, [
      use('2026-03-25T00:00:00.000Z', '40', 'eu'), // late: after the close, in the March stream
      use('2026-04-01T03:30:00.000Z', '60', 'eu'), // late: April stream, March period
    ]);
    await appendUsage(store, [usageVoided(TENANT, voidedAfterClose.data)]);
    await publishMetricVersion({
      ...ctx(),
      key: 'calls',
      effectiveFrom: '2026-03-31T20:00:00Z', // inside March in New York: it would change the invoice
      definition: { aggregation: 'count', group_by: ['region'] },
    });
    const again = await reproduceInvoice({ store, tenantId: TENANT, invoiceId: invoice.invoice_id });
    expect(again).toMatchObject({ match: true, recomputed_checksum: invoice.checksum, first_difference: null });
    // The streams were read past the close (late events, voids), up to as_of_position only.
    expect(again.events_read).toBeGreaterThan(first.events_read);
  });
});
