import { periodContaining, prorationFactor, type BillingCycle, type BillingPeriod } from '../../periods';
import type { Charge } from '../../pricing';
import type {
  EndAt,
  PeriodProration,
  SubscriptionCancelled,
  SubscriptionPlanChanged,
  SubscriptionStarted,
} from './subscription.events';

export type SubscriptionTerms = SubscriptionStarted['data'];

/** How a subscription ends (recorded once; the end may still be in the future). */
export type SubscriptionEnd =
  | ({ reason: 'cancelled' } & Omit<SubscriptionCancelled['data'], 'subscription_id'>)
  | ({ reason: 'plan_changed' } & Omit<SubscriptionPlanChanged['data'], 'subscription_id'>);

/**
 * A subscription as the log says it is. `status` is about recorded facts only (`cancelled` may end
 * next month): whether it is live at some instant is `isLive(subscription, at)`.
 */
export type Subscription = SubscriptionTerms &
  (
    | { status: 'active'; end: null }
    | { status: 'cancelled'; end: Extract<SubscriptionEnd, { reason: 'cancelled' }> }
    | { status: 'plan_changed'; end: Extract<SubscriptionEnd, { reason: 'plan_changed' }> }
  );

const ms = (instant: string) => Date.parse(instant);
const later = (a: string, b: string) => (ms(a) >= ms(b) ? a : b);

export function billingCycleOf(
  subscription: Pick<SubscriptionTerms, 'billing_interval' | 'billing_anchor' | 'timezone'>,
): BillingCycle {
  return {
    interval: subscription.billing_interval,
    anchor: subscription.billing_anchor.at,
    timezone: subscription.timezone,
  };
}

/** When the subscription stops being live (exclusive); null: open-ended. */
export function endsAt(subscription: Subscription): string | null {
  return subscription.end === null ? null : subscription.end.ends_at;
}

/** Live at `at`: not ended by then. A subscription that starts later is live (scheduled) already. */
export function isLive(subscription: Subscription, at: Date): boolean {
  const end = endsAt(subscription);
  return end === null || ms(end) > at.getTime();
}

/** A charge or an entitlement limit of the subscription reads this metric's usage. */
export function usesMetric(subscription: Pick<Subscription, 'charges' | 'entitlements'>, metricKey: string): boolean {
  const named = (value: unknown) => (value as { metric_key?: unknown } | null)?.metric_key === metricKey;
  return subscription.charges.some(named) || Object.values(subscription.entitlements ?? {}).some(named);
}

/**
 * The billing period the subscription is in at `now` (the first one before it starts); null once
 * it has ended. `now` comes from the caller: the domain has no clock.
 */
export function currentPeriod(subscription: Subscription, now: Date): BillingPeriod | null {
  if (!isLive(subscription, now)) return null;
  return periodContaining(billingCycleOf(subscription), later(now.toISOString(), subscription.start_date));
}

/** The proration of one period for a subscription active on [activeFrom, activeTo). */
export function periodProration(
  cycle: BillingCycle,
  period: BillingPeriod,
  activeFrom: string,
  activeToExclusive: string | null,
  charges: readonly Charge[],
): PeriodProration {
  const factor = prorationFactor(period, activeFrom, activeToExclusive, cycle.timezone);
  return {
    period,
    active_from: later(activeFrom, period.start),
    active_to_exclusive:
      activeToExclusive === null || ms(activeToExclusive) >= ms(period.end_exclusive) ? null : activeToExclusive,
    factor,
    flat_fees: charges
      .filter((charge) => charge.model === 'flat_fee')
      .map((charge) => ({ charge_key: charge.key, proration_factor: factor })),
  };
}

/**
 * Where a subscription active at `now` ends when ended `at` now or at the end of its period, and the
 * proration of its last period. Before the start, "now" is the start (it never becomes active).
 */
export function endOf(
  subscription: SubscriptionTerms,
  at: EndAt,
  now: Date,
): { ends_at: string; final_period: PeriodProration } {
  const cycle = billingCycleOf(subscription);
  const effectiveNow = later(now.toISOString(), subscription.start_date);
  const period = periodContaining(cycle, effectiveNow);
  const endsAtInstant = at === 'now' ? effectiveNow : period.end_exclusive;
  return {
    ends_at: endsAtInstant,
    final_period: periodProration(cycle, period, subscription.start_date, endsAtInstant, subscription.charges),
  };
}
