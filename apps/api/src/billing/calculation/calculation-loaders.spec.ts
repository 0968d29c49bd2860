import { randomUUID } from 'node:crypto';
import {
  calculateSubscription,
  canonicalJson,
  type BillingPeriod,
  type CalculationInputs,
  type UsageRecordedData,
} from '#domain';
import {
  PostgresEventStore,
  ProjectionRunner,
  closeInvoiceWithNumber,
  recordAdjustment,
  runInvoiceCommand,
  type EventMetadata,
} from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { adjustmentsProjection } from '../../../../projector/src/billing/adjustments.projection';
import { appendUsage, usageRecorded, usageVoided } from '../../../../projector/src/usage/testing/usage-fixtures';
import { usageProjection } from '../../../../projector/src/usage/usage.projection';
import { createCustomer } from '../../customers/customer.operations';
import { createMetric, publishMetricVersion } from '../../metrics/metric.operations';
import { createPricePlan } from '../../price-plans/price-plan.operations';
import { startSubscription } from '../../subscriptions/subscription.operations';
import { loadCalculationInputsFast, loadCalculationInputsFromLog, type FastInputs } from './index';

/*
 * THE CENTRAL RULE, proved on a real PostgreSQL with the real projections: the fast loader (read
 * models, exact scan) and the audit loader (event store alone) give byte-identical inputs, hence the
 * same calculation (same checksum, same calc_ id), for every charge model, with duplicates in the
 * log, voids, events before the subscription started, events of the period in the next UTC month's
 * stream, a meter version published mid-period, late events, and adjustments carried, released and
 * pending. The totals are checked by hand too, so agreeing on a wrong answer would not pass.
 */
const TENANT = 'acme';
const ctx = (store: PostgresEventStore) => ({ store, tenantId: TENANT, actor: 'system:test' });
const meta: EventMetadata = { tenant_id: TENANT, actor: 'system:test', request_id: 'req_parity' };
// America/New_York, calendar anchor: March is [Mar 1 05:00Z, Apr 1 04:00Z); started Mar 10 (04:00Z, EDT).
const MARCH: BillingPeriod = { start: '2026-03-01T05:00:00.000Z', end_exclusive: '2026-04-01T04:00:00.000Z' };

const CHARGES = [
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
];

describe('calculation loaders: fast (read models) and audit (event store alone) agree', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let subscriptionId: string;

  const use = (metric: string, timestamp: string, value: string, properties: UsageRecordedData['properties'] = {}) =>
    usageRecorded({ tenant: TENANT, customer: 'c1', metric, timestamp, value, properties });

  async function both(): Promise<{ fast: FastInputs; log: CalculationInputs }> {
    const fast = await loadCalculationInputsFast({
      pool: db.pool,
      store,
      tenantId: TENANT,
      subscriptionId,
      period: MARCH,
    });
    const log = await loadCalculationInputsFromLog({
      store,
      tenantId: TENANT,
      subscriptionId,
      period: MARCH,
      asOf: fast.as_of_position,
    });
    return { fast, log };
  }

  function expectIdentical(fast: FastInputs, log: CalculationInputs) {
    expect(canonicalJson(log)).toBe(canonicalJson(fast.inputs));
    const [a, b] = [calculateSubscription(fast.inputs), calculateSubscription(log)];
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    return a;
  }

  const amounts = (calculation: ReturnType<typeof calculateSubscription>) =>
    Object.fromEntries(calculation.line_items.map((line) => [line.charge_key, line.amount]));
  const quantity = (inputs: CalculationInputs, charge: string) =>
    inputs.usage.find((u) => u.charge_key === charge)!.quantity;

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
    await createMetric({ ...ctx(store), key: 'calls', name: 'Calls', definition: { aggregation: 'sum' } });
    // Version 2 from Mar 20: units instead of value, free-tier events not counted.
    await publishMetricVersion({
      ...ctx(store),
      key: 'calls',
      effectiveFrom: '2026-03-20T00:00:00Z',
      definition: { aggregation: 'sum', field: 'properties.units', filters: { tier: { neq: 'free' } } },
    });
    await createMetric({ ...ctx(store), key: 'seats', name: 'Seats', definition: { aggregation: 'max' } });
    await createMetric({
      ...ctx(store),
      key: 'tokens',
      name: 'Tokens',
      definition: { aggregation: 'sum', group_by: ['region'] },
    });
    await createMetric({
      ...ctx(store),
      key: 'users',
      name: 'Users',
      definition: { aggregation: 'unique_count', field: 'properties.user' },
    });
    await createMetric({
      ...ctx(store),
      key: 'latency',
      name: 'Latency',
      definition: { aggregation: 'percentile', percentile: '90' },
    });
    await createCustomer({
      ...ctx(store),
      id: 'c1',
      fields: { name: 'C1', currency: 'USD', timezone: 'America/New_York' },
    });
    await createPricePlan({
      ...ctx(store),
      key: 'all',
      publish: true,
      content: { name: 'All', currency: 'USD', billing_interval: 'month', charges: CHARGES, minimum_commitment: '200' },
    });
    const started = await startSubscription({
      ...ctx(store),
      request: {
        customer_id: 'c1',
        plan_key: 'all',
        start_date: '2026-03-10',
        billing_anchor: 'calendar',
        overrides: { charges: { p90: { unit_price: '0.25' } } },
      },
    });
    subscriptionId = started.subscription.subscription_id;
    const duplicated = use('calls', '2026-03-15T12:00:00.000Z', '50');
    const voided = use('calls', '2026-03-18T12:00:00.000Z', '30');
    await appendUsage(store, [
      use('calls', '2026-03-05T12:00:00.000Z', '1000'), // before the start: not billed
      use('calls', '2026-03-12T12:00:00.000Z', '100', { units: 7 }),
      duplicated,
      // The same idempotency key again (a KurrentDB log can hold it): the first counts.
      {
        ...use('calls', '2026-03-15T12:00:00.000Z', '999'),
        data: { ...duplicated.data, usage_id: randomUUID(), value: '999' },
      },
      voided,
      use('calls', '2026-03-22T12:00:00.000Z', '5', { units: 40, tier: 'pro' }), // version 2: units
      use('calls', '2026-03-25T12:00:00.000Z', '5', { units: 60, tier: 'free' }), // version 2 filters it out
      use('calls', '2026-04-01T02:00:00.000Z', '5', { units: 10, tier: 'pro' }), // NY March, April stream
      use('calls', '2026-04-02T12:00:00.000Z', '500', { units: 500 }), // after the period
      ...['3', '8', '5'].map((v, i) => use('seats', `2026-03-1${i + 1}T00:00:00.000Z`, v)),
      use('tokens', '2026-03-11T00:00:00.000Z', '100', { region: 'eu' }),
      use('tokens', '2026-03-12T00:00:00.000Z', '50', { region: 'eu' }),
      use('tokens', '2026-03-13T00:00:00.000Z', '300', { region: 'us' }),
      use('tokens', '2026-03-14T00:00:00.000Z', '20'),
      ...['u1', 'u2', 'u1', 'u3'].map((user, i) => use('users', `2026-03-2${i}T08:00:00.000Z`, '1', { user })),
      ...Array.from({ length: 10 }, (_, i) => use('latency', `2026-03-11T0${i}:00:00.000Z`, String((i + 1) * 10))),
    ]);
    await appendUsage(store, [usageVoided(TENANT, voided.data)]);
    await recordAdjustment({
      store,
      tenantId: TENANT,
      command: {
        type: 'RecordAdjustment',
        adjustment_id: 'adj_1',
        customer_id: 'c1',
        amount: '-10.00',
        currency: 'USD',
        reason: 'goodwill',
        kind: 'manual',
        at: new Date('2026-03-30T00:00:00Z'),
      },
      metadata: meta,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.close();
  });

  it('gives byte-identical inputs and calculations for every charge model, with the hand-computed totals', async () => {
    const { fast, log } = await both();
    const calculation = expectIdentical(fast, log);
    // calls: 100 + 50 (the duplicate and the voided 30 do not count) + 40 + 10 units under version 2.
    expect(quantity(log, 'api')).toBe('200');
    expect(log.usage.find((u) => u.charge_key === 'api')!.meter_versions).toEqual([1, 2]);
    expect(log.usage_window).toEqual({ start: '2026-03-10T04:00:00.000Z', end_exclusive: MARCH.end_exclusive });
    expect(log.proration.factor).toBe('0.7096774194'); // 22 of 31 days
    expect(log.usage.find((u) => u.charge_key === 'tokens')!.groups).toEqual([
      { group: { region: 'eu' }, quantity: '150' },
      { group: { region: 'us' }, quantity: '300' },
      { group: { region: null }, quantity: '20' }, // by group key: typed values sort before null
    ]);
    expect(amounts(calculation)).toEqual({
      base: '22.00', // 31.00 x 22/31
      api: '2.00', // 200 x 0.01
      api_tiered: '8.00', // 100 x 0.05 + 100 x 0.02 + 1
      seats: '64.00', // max 8 seats, all at 8
      bundles: '9.00', // ceil((200 - 50) / 60) = 3 packages x 3
      tokens: '7.00', // 150 x 0.02 + 300 x 0.01 + 20 x 0.05
      users: '7.00', // 3 users x 2 + 1
      p90: '22.50', // p90 of 10..100 = 90, at the override's 0.25
      minimum_commitment: '0.44', // 200 x 22/31 = 141.94, lines 141.50
    });
    expect(calculation).toMatchObject({ subtotal: '141.94', total: '131.94' });
    expect(calculation.adjustments.map((a) => [a.adjustment_id, a.amount])).toEqual([['adj_1', '-10.00']]);
    // Without asOf (the whole log, nothing new since): the same inputs again.
    const now = await loadCalculationInputsFromLog({ store, tenantId: TENANT, subscriptionId, period: MARCH });
    expect(canonicalJson(now)).toBe(canonicalJson(fast.inputs));
  });

  it('still agrees after a late event; the earlier calculation reproduces from its as_of_position', async () => {
    const before = await both();
    await appendUsage(store, [use('calls', '2026-03-28T12:00:00.000Z', '1', { units: 25, tier: 'pro' })]);
    const after = await both();
    const calculation = expectIdentical(after.fast, after.log);
    expect(quantity(after.log, 'api')).toBe('225');
    expect(calculation.id).not.toBe(calculateSubscription(before.fast.inputs).id);
    const reproduced = await loadCalculationInputsFromLog({
      store,
      tenantId: TENANT,
      subscriptionId,
      period: MARCH,
      asOf: before.fast.as_of_position,
    });
    expect(calculateSubscription(reproduced).checksum).toBe(calculateSubscription(before.fast.inputs).checksum);
  });

  it('agrees on pending adjustments as invoices carry them, are voided, and new ones arrive', async () => {
    const { fast } = await both();
    await runInvoiceCommand({
      store,
      tenantId: TENANT,
      command: {
        type: 'DraftInvoice',
        invoice_id: 'inv_p',
        calculation: calculateSubscription(fast.inputs),
        at: new Date(),
      },
      metadata: meta,
    });
    await closeInvoiceWithNumber({
      store,
      tenantId: TENANT,
      invoiceId: 'inv_p',
      customer: { id: 'c1', name: 'C1', email: null, currency: 'USD', timezone: 'America/New_York' },
      plan: {
        key: 'all',
        version: 1,
        name: 'All',
        currency: 'USD',
        billing_interval: 'month',
        charges: [],
        minimum_commitment: '200',
      },
      at: new Date(),
      metadata: meta,
    });
    await recordAdjustment({
      store,
      tenantId: TENANT,
      command: {
        type: 'RecordAdjustment',
        adjustment_id: 'adj_2',
        customer_id: 'c1',
        amount: '4.50',
        currency: 'USD',
        reason: 'setup',
        kind: 'manual',
        at: new Date(),
      },
      metadata: meta,
    });
    const carried = await both();
    expectIdentical(carried.fast, carried.log);
    expect(carried.log.adjustments.map((a) => a.adjustment_id)).toEqual(['adj_2']);
    await runInvoiceCommand({
      store,
      tenantId: TENANT,
      command: { type: 'VoidInvoice', invoice_id: 'inv_p', reason: 'test', credit_note_id: 'cn_p', at: new Date() },
      metadata: meta,
    });
    const released = await both();
    expectIdentical(released.fast, released.log);
    expect(released.log.adjustments.map((a) => a.adjustment_id)).toEqual(['adj_1', 'adj_2']);
  });
});
