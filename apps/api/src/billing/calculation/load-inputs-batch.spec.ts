import {
  calculateSubscription,
  canonicalJson,
  type BillingPeriod,
  type CalculationInputs,
  type UsageRecordedData,
} from '#domain';
import { PostgresEventStore, ProjectionRunner, recordAdjustment, type EventMetadata } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../../../test/support/database';
import { adjustmentsProjection } from '../../../../projector/src/billing/adjustments.projection';
import { appendUsage, usageRecorded, usageVoided } from '../../../../projector/src/usage/testing/usage-fixtures';
import { usageProjection } from '../../../../projector/src/usage/usage.projection';
import { createCustomer } from '../../customers/customer.operations';
import { createMetric, publishMetricVersion } from '../../metrics/metric.operations';
import { createPricePlan } from '../../price-plans/price-plan.operations';
import { startSubscription } from '../../subscriptions/subscription.operations';
import {
  calculateCharges,
  loadCalculationInputsBatch,
  loadCalculationInputsFromLog,
  scanUsageOfCustomers,
  type BatchOutcome,
} from './index';
import { withSharedSnapshot } from '../../usage/shared-snapshot';
import { scanUsage } from '../../usage/usage-reader';
import { loadMetricAsOf } from './billing-catalog';

/*
 * THE BATCH LOADER'S RULE, on a real PostgreSQL with the real projections: for every subscription
 * period of a batch it returns byte for byte the inputs the one-subscription path returns
 * (calculateCharges, behind POST /v1/pricing/calculate), hence the same usage checksums, calculation
 * checksum and calc_ id, and what the audit loader reproduces from the log at its as_of_position.
 * Customers in four timezones with mid-period starts (proration), every charge model (the batched
 * grouped scan for sum/count/avg/min/max, scanUsage per customer for matrix, unique_count and
 * percentile), a meter version published mid-period, duplicates and voids, a customer without
 * usage, pending adjustments on some customers; an unknown subscription and a bad period fail alone.
 */
const TENANT = 'acme';
const ctx = (store: PostgresEventStore) => ({ store, tenantId: TENANT, actor: 'system:test' });
const meta: EventMetadata = { tenant_id: TENANT, actor: 'system:test', request_id: 'req_batch' };

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
  { key: 'jobs', model: 'per_unit', metric_key: 'jobs', unit_price: '0.3' },
  { key: 'cpu', model: 'per_unit', metric_key: 'cpu', unit_price: '2' },
  { key: 'floor', model: 'per_unit', metric_key: 'floor', unit_price: '1' },
];

/** [customer, timezone, subscription start]: March periods of different lengths and prorations. */
const CUSTOMERS = [
  ['c1', 'America/New_York', '2026-03-10'],
  ['c2', 'UTC', '2026-03-01'],
  ['c3', 'Asia/Tokyo', '2026-03-17'],
  ['c4', 'Europe/Paris', '2026-03-01'],
  ['c5', 'UTC', '2026-02-20'],
] as const;

/** Where March 1 and April 1 start in UTC, per customer timezone (DST: New York from Mar 8, Paris from Mar 29). */
const OFFSETS: Record<string, [string, string]> = {
  c1: ['05:00', '04:00'],
  c3: ['-09:00', '-09:00'],
  c4: ['-01:00', '-02:00'],
};

describe('batch calculation loader: the same inputs as the one-subscription path, for many at once', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  const subscriptions = new Map<string, string>();
  const periods = new Map<string, BillingPeriod>();

  const use = (
    customer: string,
    metric: string,
    timestamp: string,
    value: string,
    properties: UsageRecordedData['properties'] = {},
  ) => usageRecorded({ tenant: TENANT, customer, metric, timestamp, value, properties });

  /** Each customer's usage: the same shapes, shifted by customer so that no two bills are alike. */
  function usageOf(customer: string, n: number) {
    const day = (d: number) => String(d).padStart(2, '0');
    return [
      use(customer, 'calls', '2026-03-05T12:00:00.000Z', '1000'),
      use(customer, 'calls', `2026-03-${day(12 + n)}T12:00:00.000Z`, String(100 + n), { units: 7 + n }),
      use(customer, 'calls', '2026-03-22T12:00:00.000Z', '5', { units: 40 * n, tier: 'pro' }),
      use(customer, 'calls', '2026-03-25T12:00:00.000Z', '5', { units: 60, tier: 'free' }),
      use(customer, 'calls', '2026-04-01T02:00:00.000Z', '5', { units: 10, tier: 'pro' }),
      ...['3', '8', String(4 + n)].map((v, i) => use(customer, 'seats', `2026-03-2${i + 1}T00:00:00.000Z`, v)),
      use(customer, 'tokens', '2026-03-21T00:00:00.000Z', String(100 * n), { region: 'eu' }),
      use(customer, 'tokens', '2026-03-23T00:00:00.000Z', '300', { region: n % 2 === 0 ? 'us' : 'ap' }),
      use(customer, 'tokens', '2026-03-24T00:00:00.000Z', '20'),
      ...['u1', 'u2', 'u1', `u${n}`].map((user, i) =>
        use(customer, 'users', `2026-03-2${i}T08:00:00.000Z`, '1', { user }),
      ),
      ...Array.from({ length: 6 + n }, (_, i) =>
        use(customer, 'latency', `2026-03-2${i % 8}T0${i % 10}:00:00.000Z`, String((i + 1) * 10)),
      ),
      ...Array.from({ length: n }, (_, i) => use(customer, 'jobs', `2026-03-2${i}T10:00:00.000Z`, '1')),
      use(customer, 'cpu', '2026-03-20T10:00:00.000Z', '1.5'),
      use(customer, 'cpu', '2026-03-26T10:00:00.000Z', String(n)),
      use(customer, 'floor', '2026-03-27T10:00:00.000Z', `${n}.25`),
      use(customer, 'floor', '2026-03-28T10:00:00.000Z', '9'),
    ];
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
    await createMetric({ ...ctx(store), key: 'calls', name: 'Calls', definition: { aggregation: 'sum' } });
    await publishMetricVersion({
      ...ctx(store),
      key: 'calls',
      effectiveFrom: '2026-03-20T00:00:00Z',
      definition: { aggregation: 'sum', field: 'properties.units', filters: { tier: { neq: 'free' } } },
    });
    const metric = (key: string, definition: Record<string, unknown>) =>
      createMetric({ ...ctx(store), key, name: key, definition: definition as never });
    await metric('seats', { aggregation: 'max' });
    await metric('tokens', { aggregation: 'sum', group_by: ['region'] });
    await metric('users', { aggregation: 'unique_count', field: 'properties.user' });
    await metric('latency', { aggregation: 'percentile', percentile: '90' });
    await metric('jobs', { aggregation: 'count' });
    await metric('cpu', { aggregation: 'avg' });
    await metric('floor', { aggregation: 'min' });
    await createPricePlan({
      ...ctx(store),
      key: 'all',
      publish: true,
      content: { name: 'All', currency: 'USD', billing_interval: 'month', charges: CHARGES, minimum_commitment: '200' },
    });
    for (const [n, [customer, timezone, start]] of CUSTOMERS.entries()) {
      await createCustomer({ ...ctx(store), id: customer, fields: { name: customer, currency: 'USD', timezone } });
      const started = await startSubscription({
        ...ctx(store),
        request: { customer_id: customer, plan_key: 'all', start_date: start, billing_anchor: 'calendar' },
      });
      subscriptions.set(customer, started.subscription.subscription_id);
      // The March period in the customer's timezone (c5 started in February: its second period).
      const [march, april] = OFFSETS[customer] ?? ['00:00', '00:00'];
      periods.set(customer, { start: toUtc('2026-03-01', march), end_exclusive: toUtc('2026-04-01', april) });
      // c4 has no usage at all.
      if (customer !== 'c4') await appendUsage(store, usageOf(customer, n + 1));
    }
    const voided = use('c2', 'calls', '2026-03-18T12:00:00.000Z', '30');
    await appendUsage(store, [voided]);
    await appendUsage(store, [usageVoided(TENANT, voided.data)]);
    for (const [id, customer, amount] of [
      ['adj_1', 'c1', '-10.00'],
      ['adj_2', 'c2', '4.50'],
      ['adj_3', 'c2', '-1.25'],
    ] as const) {
      await recordAdjustment({
        store,
        tenantId: TENANT,
        command: {
          type: 'RecordAdjustment',
          adjustment_id: id,
          customer_id: customer,
          amount,
          currency: 'USD',
          reason: 'goodwill',
          kind: 'manual',
          at: new Date('2026-03-30T00:00:00Z'),
        },
        metadata: meta,
      });
    }
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.close();
  });

  const items = () =>
    CUSTOMERS.map(([customer]) => ({ subscriptionId: subscriptions.get(customer)!, period: periods.get(customer)! }));

  async function batch(): Promise<BatchOutcome[]> {
    return loadCalculationInputsBatch({ pool: db.pool, store, tenantId: TENANT, items: items() });
  }

  it('gives each subscription byte-identical inputs and the same calculation as calculateCharges', async () => {
    const outcomes = await batch();
    expect(outcomes.map((outcome) => outcome.error)).toEqual(CUSTOMERS.map(() => undefined));
    for (const [index, [customer]] of CUSTOMERS.entries()) {
      const { inputs, as_of_position } = outcomes[index].inputs!;
      const single = await calculateCharges({
        pool: db.pool,
        store,
        tenantId: TENANT,
        subscriptionId: subscriptions.get(customer)!,
        period: periods.get(customer)!,
        metadata: meta,
      });
      expect(canonicalJson(inputs)).toBe(canonicalJson(single.inputs));
      const calculation = calculateSubscription(inputs);
      expect(calculation.checksum).toBe(single.calculation.checksum);
      expect(calculation.id).toBe(single.calculation.id);
      // The auditor's replay from the log alone, as of the batch's checkpoint: the same inputs again.
      const replayed: CalculationInputs = await loadCalculationInputsFromLog({
        store,
        tenantId: TENANT,
        subscriptionId: subscriptions.get(customer)!,
        period: periods.get(customer)!,
        asOf: as_of_position,
      });
      expect(canonicalJson(replayed)).toBe(canonicalJson(inputs));
    }
  });

  it('prices what was used, by hand: so agreeing on a wrong answer would not pass', async () => {
    const [c1, c2, , c4] = (await batch()).map((outcome) => outcome.inputs!.inputs);
    const quantity = (inputs: CalculationInputs, charge: string) =>
      inputs.usage.find((u) => u.charge_key === charge)!.quantity;
    // c1 (n = 1, from Mar 10 in New York): not the 1000 of Mar 5; 101 on the 13th, then 40 units
    // under version 2, and 10 units at Apr 1 02:00Z, still March in New York.
    expect(quantity(c1, 'api')).toBe('151');
    expect([quantity(c1, 'seats'), quantity(c1, 'jobs'), quantity(c1, 'cpu'), quantity(c1, 'floor')]).toEqual([
      '8',
      '1',
      '1.25',
      '1.25',
    ]);
    expect(c1.proration.factor).toBe('0.7096774194'); // 22 of 31 days
    expect(c1.adjustments.map((a) => a.adjustment_id)).toEqual(['adj_1']);
    // c2 (n = 2, all March in UTC): 1000 + 102 calls + 80 units; the voided 30 does not count.
    expect(quantity(c2, 'api')).toBe('1182');
    expect(c2.adjustments.map((a) => a.adjustment_id)).toEqual(['adj_2', 'adj_3']);
    // c4: no usage at all, every charge at 0, and the checksum of no events.
    expect(c4.usage.map((u) => u.quantity)).toEqual(c4.usage.map(() => '0'));
    expect(c4.adjustments).toEqual([]);
  });

  it('the grouped scan gives each customer what scanUsage gives it, checksum and counts included', async () => {
    const window = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-02T00:00:00.000Z' };
    const customers = ['c1', 'c2', 'c3', 'c4', 'c5', 'nobody'];
    // calls meters properties (version 2: units, a filter on tier); the others read no property (an
    // index-only scan without them): both shapes must agree with scanUsage.
    for (const key of ['calls', 'seats', 'jobs', 'cpu', 'floor']) {
      const metric = (await loadMetricAsOf(store, TENANT, key))!;
      await withSharedSnapshot(db.pool, 1, async ([client]) => {
        const batched = (await scanUsageOfCustomers(client, TENANT, metric, window, customers))!;
        expect([...batched.keys()].sort()).toEqual([...customers].sort());
        for (const customerId of customers) {
          const single = await scanUsage([client], { tenantId: TENANT, customerId, metricKey: key }, metric, window);
          expect(batched.get(customerId)).toEqual(single);
        }
        expect(Number(batched.get('c2')!.event_count)).toBeGreaterThan(0);
      });
    }
    // A metric that cannot be scanned in one pass is left to scanUsage.
    const users = (await loadMetricAsOf(store, TENANT, 'users'))!;
    await withSharedSnapshot(db.pool, 1, async ([client]) => {
      expect(await scanUsageOfCustomers(client, TENANT, users, window, customers)).toBeNull();
    });
  });

  it('an unknown subscription or a bad period fails alone; the others are read as usual', async () => {
    const good = items();
    const outcomes = await loadCalculationInputsBatch({
      pool: db.pool,
      store,
      tenantId: TENANT,
      items: [
        good[0],
        { subscriptionId: 'sub_doesnotexist', period: good[0].period },
        {
          subscriptionId: good[1].subscriptionId,
          period: { start: '2026-03-02T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' },
        },
        good[1],
      ],
    });
    expect(outcomes.map((outcome) => (outcome.error as { code?: string } | undefined)?.code ?? 'ok')).toEqual([
      'ok',
      'SUBSCRIPTION.NOT_FOUND',
      'CALCULATION.INVALID_PERIOD',
      'ok',
    ]);
    const again = await batch();
    expect(canonicalJson(outcomes[3].inputs!.inputs)).toBe(canonicalJson(again[1].inputs!.inputs));
  });
});

/** Midnight of `date` in a zone `offset` hours from UTC ("05:00": UTC-5 ... given as the UTC time of day). */
function toUtc(date: string, offset: string): string {
  const negative = offset.startsWith('-');
  const [h, m] = offset.replace('-', '').split(':').map(Number);
  const ms = Date.parse(`${date}T00:00:00.000Z`) + (negative ? -1 : 1) * (h * 60 + m) * 60_000;
  return new Date(ms).toISOString();
}
