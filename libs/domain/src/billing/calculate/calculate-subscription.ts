import type { Metric } from '../../catalog/metrics';
import { versionsInPeriod } from '../../usage/period-usage';
import { endsAt, type Subscription } from '../../catalog/subscriptions';
import { applyMinimumCommitment, priceCharge, type Charge, type PricedLine, type UsageCharge } from '../../pricing';
import { BillingError } from '../billing.errors';
import { calculationLineOf, sealCalculation, type Calculation, type CalculationLine } from '../calculation';
import type { CalculationInputs, ChargeUsage, SubscriptionPricing } from './calculation-inputs';
import { carriedAdjustments, type PendingAdjustment } from './pending-adjustments';
import type { SubscriptionPeriod } from './subscription-period';

/** What a loader must measure for each usage charge: its metric over the usage window, by its dimensions. */
export interface UsageMeasure {
  key: string;
  metric_key: string;
  /** Matrix charges: group by these properties. */
  dimensions?: readonly string[];
}

/** The usage charges of a subscription (every model but flat_fee), in charge order. */
export function usageMeasuresOf(charges: readonly Charge[]): UsageMeasure[] {
  return charges
    .filter((charge): charge is UsageCharge => charge.model !== 'flat_fee')
    .map((charge) =>
      charge.model === 'matrix'
        ? { key: charge.key, metric_key: charge.metric_key, dimensions: [...charge.dimensions] }
        : { key: charge.key, metric_key: charge.metric_key },
    );
}

export interface CalculationSources {
  subscription: Subscription;
  /** subscriptionPeriod(subscription, requested period). */
  billing: SubscriptionPeriod;
  /** At least every metric a usage charge names. */
  metrics: ReadonlyMap<string, Pick<Metric, 'key' | 'versions'>>;
  /** One per usage measure, in any order. */
  usage: readonly ChargeUsage[];
  /** The customer's pending adjustments, in any order and currency. */
  pending: readonly PendingAdjustment[];
}

function pricingOf(subscription: Subscription): SubscriptionPricing {
  return {
    subscription_id: subscription.subscription_id,
    customer_id: subscription.customer_id,
    plan_key: subscription.plan_key,
    plan_version: subscription.plan_version,
    currency: subscription.currency,
    timezone: subscription.timezone,
    billing_interval: subscription.billing_interval,
    billing_anchor: subscription.billing_anchor,
    start_date: subscription.start_date,
    ends_at: endsAt(subscription),
    charges: subscription.charges,
    minimum_commitment: subscription.minimum_commitment,
  };
}

/**
 * The inputs both loaders build from what they read: the fast one and the audit one differ only in
 * how they measured `usage` and found `pending`, so everything else is shaped here, once.
 */
export function calculationInputsOf(sources: CalculationSources): CalculationInputs {
  const { subscription, billing } = sources;
  const measures = usageMeasuresOf(subscription.charges);
  const window = billing.usage_window;
  const metricKeys = [...new Set(measures.map((measure) => measure.metric_key))].sort();
  const metrics = metricKeys.map((key) => {
    const metric = sources.metrics.get(key);
    if (!metric)
      throw new BillingError('CALCULATION.INVALID', `metric ${key} of the subscription's charges is unknown`);
    return { key, versions: versionsInPeriod(metric, window.start, window.end_exclusive) };
  });
  const usage = measures.map((measure) => {
    const measured = sources.usage.find((entry) => entry.charge_key === measure.key);
    if (!measured) throw new BillingError('CALCULATION.INVALID', `no usage measured for charge ${measure.key}`);
    return measured;
  });
  return {
    subscription: pricingOf(subscription),
    period: billing.period,
    proration: billing.proration,
    usage_window: window,
    metrics,
    usage,
    adjustments: carriedAdjustments(sources.pending, subscription.currency),
  };
}

/**
 * THE calculation: pure, deterministic, no I/O and no clock. Prices every charge of the subscription
 * for the period (flat fees prorated by the recorded proration, usage charges on the measured usage,
 * overrides already in the charges), appends the minimum-commitment true-up (prorated the same way),
 * carries the pending adjustments, and seals the result (checksum and `calc_` id). Same inputs, same
 * calculation, byte for byte, on any machine.
 */
export function calculateSubscription(inputs: CalculationInputs): Calculation {
  const { subscription, proration } = inputs;
  const { currency } = subscription;
  const usageOf = new Map(inputs.usage.map((usage) => [usage.charge_key, usage]));
  const flatFactors = new Map(proration.flat_fees.map((fee) => [fee.charge_key, fee.proration_factor]));
  const priced: PricedLine[] = subscription.charges.map((charge) => {
    if (charge.model === 'flat_fee') {
      return priceCharge(charge, '0', currency, { proration_factor: flatFactors.get(charge.key) ?? proration.factor });
    }
    const usage = usageOf.get(charge.key);
    if (!usage) throw new BillingError('CALCULATION.INVALID', `no usage for charge ${charge.key}`);
    return priceCharge(charge, charge.model === 'matrix' ? (usage.groups ?? []) : usage.quantity, currency);
  });
  const lines = applyMinimumCommitment(priced, subscription.minimum_commitment, currency, {
    proration_factor: proration.factor,
  });
  const metered = new Set(subscription.charges.filter((c) => c.model !== 'flat_fee').map((c) => c.key));
  const line_items: CalculationLine[] = lines.map((line) => {
    const usage = metered.has(line.charge_key) ? usageOf.get(line.charge_key)! : null;
    return calculationLineOf(line, {
      metric_key: usage?.metric_key ?? null,
      meter_versions: usage?.meter_versions ?? [],
      usage_checksum: usage?.usage_checksum ?? null,
    });
  });
  return sealCalculation({
    customer_id: subscription.customer_id,
    subscription_id: subscription.subscription_id,
    currency,
    period_start: inputs.period.start,
    period_end: inputs.period.end_exclusive,
    plan_key: subscription.plan_key,
    plan_version: subscription.plan_version,
    line_items,
    adjustments: inputs.adjustments,
  });
}
