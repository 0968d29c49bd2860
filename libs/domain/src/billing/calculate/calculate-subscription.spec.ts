import type { MetricVersion } from '../../catalog/metrics';
import { endOf, periodProration, type Subscription, type SubscriptionTerms } from '../../catalog/subscriptions';
import { periodContaining, type BillingCycle } from '../../periods';
import type { Charge } from '../../pricing';
import { usageChecksum } from '../../usage/usage-checksum';
import type { AdjustmentRecorded } from '../adjustments/adjustment.events';
import { BillingError } from '../billing.errors';
import { canonicalJson } from '../canonical-json';
import { fixtureCalculation } from '../testing/billing-fixtures';
import { calculateSubscription, calculationInputsOf } from './calculate-subscription';
import { chargeUsageOf, countedUsageEvents, type LoggedUsageEvent } from './log-usage';
import { pendingAdjustmentOf, pendingAdjustmentsOf } from './pending-adjustments';
import { subscriptionPeriod } from './subscription-period';

const ANCHOR = '2026-01-01T00:00:00.000Z';
const CYCLE: BillingCycle = { interval: 'month', anchor: ANCHOR, timezone: 'UTC' };
const CHARGES: Charge[] = [
  { key: 'base', model: 'flat_fee', amount: '30.00' },
  { key: 'api', model: 'per_unit', metric_key: 'calls', unit_price: '0.5' },
];
const MARCH = { start: '2026-03-01T00:00:00.000Z', end_exclusive: '2026-04-01T00:00:00.000Z' };
const APRIL = { start: '2026-04-01T00:00:00.000Z', end_exclusive: '2026-05-01T00:00:00.000Z' };

/** A calendar-monthly UTC subscription started at `start`, optionally cancelled "now" at `cancelledAt`. */
function subscription(start: string, cancelledAt?: string): Subscription {
  const terms: SubscriptionTerms = {
    subscription_id: 'sub_1',
    customer_id: 'c1',
    plan_key: 'pro',
    plan_version: 2,
    currency: 'USD',
    timezone: 'UTC',
    billing_interval: 'month',
    start_date: start,
    billing_anchor: { kind: 'calendar', at: ANCHOR },
    charges: CHARGES,
    overrides: { charges: {} },
    minimum_commitment: '40',
    entitlements: {},
    previous_subscription_id: null,
    first_period: periodProration(CYCLE, periodContaining(CYCLE, start), start, null, CHARGES),
    created_at: start,
  };
  if (cancelledAt === undefined) return { ...terms, status: 'active', end: null };
  const { ends_at, final_period } = endOf(terms, 'now', new Date(cancelledAt));
  return {
    ...terms,
    status: 'cancelled',
    end: { reason: 'cancelled', at: 'now', ends_at, cancelled_at: cancelledAt, final_period },
  };
}

function periodError(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof BillingError && error.code === 'CALCULATION.INVALID_PERIOD')
      return error.errors.map((e) => e.field);
    throw error;
  }
  throw new Error('expected CALCULATION.INVALID_PERIOD');
}

describe('subscriptionPeriod', () => {
  const started = subscription('2026-03-10T00:00:00.000Z');
  const cancelled = subscription('2026-03-10T00:00:00.000Z', '2026-04-15T12:00:00.000Z');

  it('a partial first period: the recorded proration, usage from the start', () => {
    const { period, proration, usage_window } = subscriptionPeriod(started, {
      start: '2026-03-01T00:00:00Z',
      end_exclusive: '2026-04-01T00:00:00Z',
    });
    expect(period).toEqual(MARCH); // written as the cycle writes it
    expect(proration).toBe(started.first_period);
    expect(proration.factor).toBe('0.7096774194'); // 22 of 31 days
    expect(usage_window).toEqual({ start: '2026-03-10T00:00:00.000Z', end_exclusive: MARCH.end_exclusive });
  });

  it('a whole period is "1"; the final period of a cancellation is its recorded one, usage until the end', () => {
    expect(subscriptionPeriod(started, APRIL).proration.factor).toBe('1');
    expect(subscriptionPeriod(started, APRIL).usage_window).toEqual(APRIL);
    const final = subscriptionPeriod(cancelled, APRIL);
    expect(final.proration).toBe(cancelled.end!.final_period);
    expect(final.proration.factor).toBe('0.5'); // Apr 1-15 of 30 days (the 15th counts)
    expect(final.usage_window).toEqual({ start: APRIL.start, end_exclusive: '2026-04-15T12:00:00.000Z' });
  });

  it('refuses what is not a billing period of the subscription in which it is active', () => {
    expect(
      periodError(() => subscriptionPeriod(started, { start: '2026-03-05T00:00:00Z', end_exclusive: APRIL.start })),
    ).toEqual(['period_start']);
    expect(
      periodError(() => subscriptionPeriod(started, { start: MARCH.start, end_exclusive: '2026-04-02T00:00:00Z' })),
    ).toEqual(['period_end']);
    expect(periodError(() => subscriptionPeriod(started, { start: APRIL.start, end_exclusive: MARCH.start }))).toEqual([
      'period_end',
    ]);
    expect(
      periodError(() => subscriptionPeriod(started, { start: '2026-02-01T00:00:00Z', end_exclusive: MARCH.start })),
    ).toEqual(['period_start']); // before it started
    expect(
      periodError(() =>
        subscriptionPeriod(cancelled, { start: APRIL.end_exclusive, end_exclusive: '2026-06-01T00:00:00Z' }),
      ),
    ).toEqual(['period_start']); // after it ended
  });
});

describe('usage from the log', () => {
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const recorded = (
    key: string,
    value: string,
    timestamp = '2026-03-15T00:00:00.000Z',
    usageId = id(),
  ): LoggedUsageEvent => ({
    id: usageId,
    type: 'UsageRecorded',
    data: {
      usage_id: usageId,
      customer_id: 'c1',
      metric_key: 'calls',
      value,
      timestamp,
      idempotency_key: key,
      properties: {},
    },
  });
  const voided = (event: LoggedUsageEvent): LoggedUsageEvent => ({
    id: id(),
    type: 'UsageVoided',
    data: {
      usage_id: event.id.toUpperCase(),
      customer_id: 'c1',
      metric_key: 'calls',
      timestamp: '2026-03-15T00:00:00.000Z',
      reason: 'x',
    },
  });
  const values = (events: LoggedUsageEvent[]) => countedUsageEvents(events).map((e) => e.value);

  it('counts the first event of a key and of an id, in log order', () => {
    const first = recorded('k1', '1');
    expect(values([first, recorded('k1', '2'), recorded('k2', '3', undefined, first.id)])).toEqual(['1']);
  });

  it('a void removes the counted event; its key and id stay taken; a void of an unknown id changes nothing', () => {
    const a = recorded('ka', '1');
    const b = recorded('kb', '2');
    expect(values([a, b, voided(a)])).toEqual(['2']);
    expect(values([a, voided(a), recorded('ka', '5'), recorded('kz', '6', undefined, a.id)])).toEqual([]);
    expect(values([voided(recorded('kc', '9')), b])).toEqual(['2']);
  });

  it('skips what the read model could not store', () => {
    const bad = recorded('kd', '1');
    expect(
      values([{ ...bad, data: { ...(bad.data as object), value: '1e3' } }, recorded('ke', '12345678901')]),
    ).toEqual([]);
  });

  it('meters by the version in force at each timestamp; the checksum covers every event of the window', () => {
    const metric = {
      key: 'calls',
      versions: [
        {
          version: 1,
          effective_from: null,
          published_at: ANCHOR,
          aggregation: 'sum',
          field: 'value',
          filters: {},
          group_by: [],
        },
        {
          version: 2,
          effective_from: '2026-03-20T00:00:00.000Z',
          published_at: ANCHOR,
          aggregation: 'sum',
          field: 'value',
          filters: { tier: { eq: 'pro' } },
          group_by: [],
        },
      ] as MetricVersion[],
    };
    const events = countedUsageEvents([
      recorded('v1', '10', '2026-03-05T00:00:00.000Z'),
      recorded('v2-free', '20', '2026-03-25T00:00:00.000Z'),
      recorded('outside', '40', '2026-04-01T00:00:00.000Z'),
    ]);
    const usage = chargeUsageOf({ key: 'api', metric_key: 'calls' }, metric, MARCH, events);
    expect(usage).toMatchObject({ charge_key: 'api', quantity: '10', groups: null, meter_versions: [1, 2] });
    const inWindow = events.slice(0, 2).map((e) => ({ usage_id: e.usage_id, timestamp: e.timestamp, value: e.value }));
    expect(usage.usage_checksum).toBe(usageChecksum([1, 2], inWindow));
  });
});

describe('pendingAdjustmentsOf', () => {
  const recorded = (adjustment_id: string, customer_id = 'c1'): { type: string; data: AdjustmentRecorded['data'] } => ({
    type: 'AdjustmentRecorded',
    data: {
      adjustment_id,
      customer_id,
      amount: '-5.00',
      currency: 'USD',
      reason: 'r',
      kind: 'manual',
      invoice_id: null,
      line: null,
      recorded_at: ANCHOR,
    },
  });
  const closed = (invoice_id: string, ...ids: string[]) => ({
    type: 'InvoiceClosed',
    data: {
      invoice_id,
      customer_id: 'c1',
      calculation: { adjustments: ids.map((adjustment_id) => ({ adjustment_id })) },
    },
  });
  const voided = (invoice_id: string) => ({ type: 'InvoiceVoided', data: { invoice_id } });
  const pending = (...facts: Array<{ type: string; data: unknown }>) =>
    pendingAdjustmentsOf(facts, 'c1').map((a) => a.adjustment_id);

  it('pending until an invoice closes with it; its void makes it pending again; the first carrier keeps it', () => {
    expect(pending(recorded('a'), recorded('b'), recorded('x', 'c2'))).toEqual(['a', 'b']);
    expect(pending(recorded('a'), recorded('b'), closed('inv_1', 'a'))).toEqual(['b']);
    expect(pending(recorded('a'), closed('inv_1', 'a'), voided('inv_1'))).toEqual(['a']);
    expect(pending(recorded('a'), closed('inv_1', 'a'), closed('inv_2', 'a'), voided('inv_2'))).toEqual([]);
    // Known from an invoice before its own event (another stream): pending only once recorded, and carried.
    expect(pending(closed('inv_1', 'a'), recorded('a'))).toEqual([]);
  });
});

describe('calculateSubscription', () => {
  const sub = subscription('2026-03-10T00:00:00.000Z');
  const billing = subscriptionPeriod(sub, MARCH);
  const metric = { key: 'calls', versions: fixtureMetricVersions() };
  const usage = [
    {
      charge_key: 'api',
      metric_key: 'calls',
      quantity: '12',
      groups: null,
      meter_versions: [1],
      usage_checksum: usageChecksum([1], []),
    },
  ];
  const adjustment = (adjustment_id: string, currency = 'USD') =>
    pendingAdjustmentOf({ ...recordedAdjustment(adjustment_id), currency });
  const inputs = (pending = [adjustment('adj_b'), adjustment('adj_a'), adjustment('adj_eur', 'EUR')]) =>
    calculationInputsOf({ subscription: sub, billing, metrics: new Map([['calls', metric]]), usage, pending });

  it('prices by hand: prorated flat fee, usage, prorated commitment true-up, adjustments in id order', () => {
    const calculation = calculateSubscription(inputs());
    expect(calculation.line_items.map((l) => [l.charge_key, l.quantity, l.amount])).toEqual([
      ['base', '0.7096774194', '21.29'], // 30.00 x 22/31
      ['api', '12', '6.00'],
      ['minimum_commitment', '1', '1.10'], // 40 x 22/31 = 28.39
    ]);
    expect(calculation.adjustments.map((a) => a.adjustment_id)).toEqual(['adj_a', 'adj_b']); // EUR is not carried
    expect(calculation).toMatchObject({ subtotal: '28.39', total: '18.39', period_start: MARCH.start });
  });

  it('is a pure function of its inputs: the order adjustments were read in changes nothing', () => {
    const a = calculateSubscription(inputs([adjustment('adj_a'), adjustment('adj_b')]));
    const b = calculateSubscription(inputs([adjustment('adj_b'), adjustment('adj_a')]));
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(b.id).toBe(a.id);
    expect(a.id).not.toBe(fixtureCalculation().id);
  });

  it('refuses inputs without the usage of a usage charge', () => {
    expect(() => calculateSubscription({ ...inputs(), usage: [] })).toThrow(BillingError);
    expect(() => calculationInputsOf({ subscription: sub, billing, metrics: new Map(), usage, pending: [] })).toThrow(
      /metric calls/,
    );
  });
});

function fixtureMetricVersions(): MetricVersion[] {
  return [
    {
      version: 1,
      effective_from: null,
      published_at: ANCHOR,
      aggregation: 'sum',
      field: 'value',
      filters: {},
      group_by: [],
    },
  ];
}

function recordedAdjustment(adjustment_id: string): AdjustmentRecorded['data'] {
  return {
    adjustment_id,
    customer_id: 'c1',
    amount: '-5.00',
    currency: 'USD',
    reason: 'credit',
    kind: 'manual',
    invoice_id: null,
    line: null,
    recorded_at: ANCHOR,
  };
}
