import {
  billingCycleOf,
  endsAt,
  periodProration,
  type PeriodProration,
  type Subscription,
} from '../../catalog/subscriptions';
import { periodContaining, type BillingPeriod } from '../../periods';
import { BillingError } from '../billing.errors';

export interface SubscriptionPeriod {
  /** The period as the subscription's cycle writes it (RFC 3339 UTC with milliseconds). */
  period: BillingPeriod;
  proration: PeriodProration;
  /** [active from, active until) within the period: where its usage is billed. */
  usage_window: BillingPeriod;
}

const ms = (instant: string) => Date.parse(instant);
const samePeriod = (a: BillingPeriod, b: BillingPeriod) =>
  ms(a.start) === ms(b.start) && ms(a.end_exclusive) === ms(b.end_exclusive);

function invalidPeriod(message: string, field: 'period_start' | 'period_end' = 'period_start'): BillingError {
  return new BillingError('CALCULATION.INVALID_PERIOD', message, [{ field, message }]);
}

/**
 * One billing period of a subscription: it must be a period of the subscription's cycle (in the
 * customer's zone) in which the subscription is active. Its proration is the one the subscription
 * recorded for it (SubscriptionStarted.first_period, the final period of its cancellation or plan
 * change), else the whole period ("1"). Throws CALCULATION.INVALID_PERIOD naming the field at fault.
 */
export function subscriptionPeriod(subscription: Subscription, requested: BillingPeriod): SubscriptionPeriod {
  if (Number.isNaN(ms(requested.start)) || Number.isNaN(ms(requested.end_exclusive))) {
    throw invalidPeriod('period_start and period_end must be RFC 3339 instants');
  }
  if (ms(requested.end_exclusive) <= ms(requested.start)) {
    throw invalidPeriod('period_end must be later than period_start', 'period_end');
  }
  const cycle = billingCycleOf(subscription);
  const period = periodContaining(cycle, new Date(ms(requested.start)).toISOString());
  if (ms(period.start) !== ms(requested.start)) {
    throw invalidPeriod(
      `not the start of a billing period of subscription ${subscription.subscription_id} ` +
        `(the period containing it is ${period.start} to ${period.end_exclusive})`,
    );
  }
  if (ms(period.end_exclusive) !== ms(requested.end_exclusive)) {
    throw invalidPeriod(`the billing period starting at ${period.start} ends at ${period.end_exclusive}`, 'period_end');
  }
  const end = endsAt(subscription);
  if (ms(subscription.start_date) >= ms(period.end_exclusive) || (end !== null && ms(end) <= ms(period.start))) {
    throw invalidPeriod(
      `subscription ${subscription.subscription_id} is not active in this period ` +
        `(active from ${subscription.start_date}${end === null ? '' : ` until ${end}`})`,
    );
  }
  const proration = recordedProration(subscription, period) ?? {
    ...periodProration(cycle, period, subscription.start_date, end, subscription.charges),
  };
  return {
    period,
    proration,
    usage_window: {
      start: proration.active_from,
      end_exclusive: proration.active_to_exclusive ?? period.end_exclusive,
    },
  };
}

/** The proration the subscription's events recorded for this period (the final one wins: it saw the start too). */
function recordedProration(subscription: Subscription, period: BillingPeriod): PeriodProration | null {
  if (subscription.end !== null && samePeriod(subscription.end.final_period.period, period)) {
    return subscription.end.final_period;
  }
  return samePeriod(subscription.first_period.period, period) ? subscription.first_period : null;
}
