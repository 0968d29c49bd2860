import { billingCycleOf, endsAt, nextPeriod, periodContaining, type BillingPeriod, type Subscription } from '#domain';

/** A billing period of a subscription whose usage window has ended: its invoice can be drafted. */
export interface EndedPeriod {
  period: BillingPeriod;
  /** Where the subscription's usage in the period ends: the period end, or its own end when earlier. */
  usage_end: string;
}

/** A subscription on a daily cycle for 25 years has ~9,000 periods; anything past this is a bug. */
const MAX_PERIODS = 20_000;
const ms = (instant: string) => Date.parse(instant);

/**
 * The subscription's billing periods whose usage window has ended by `now`, oldest first: from the
 * period containing its start to the last one that ended, including an ended subscription's final,
 * partial period (its window ends at the subscription's end, which may be before the period's end, so
 * the final invoice is due when the subscription ends). Periods in which it is not active (it ended
 * before they start, or the window is empty) are skipped. Pure: `now` comes from the caller.
 */
export function endedPeriods(subscription: Subscription, now: Date): EndedPeriod[] {
  const cycle = billingCycleOf(subscription);
  const end = endsAt(subscription);
  const endMs = end === null ? Number.POSITIVE_INFINITY : ms(end);
  const startMs = ms(subscription.start_date);
  const ended: EndedPeriod[] = [];
  let period = periodContaining(cycle, subscription.start_date);
  for (let count = 0; count < MAX_PERIODS; count++) {
    if (ms(period.start) >= endMs) return ended;
    const usageEndMs = Math.min(ms(period.end_exclusive), endMs);
    if (usageEndMs > now.getTime()) return ended;
    if (Math.max(ms(period.start), startMs) < usageEndMs) {
      ended.push({ period, usage_end: new Date(usageEndMs).toISOString() });
    }
    period = nextPeriod(cycle, period);
  }
  throw new Error(`subscription ${subscription.subscription_id}: more than ${MAX_PERIODS} billing periods`);
}

/** When the next period of the subscription ends (its usage window), after those already ended; null: never. */
export function nextPeriodEnd(subscription: Subscription, now: Date): string | null {
  const cycle = billingCycleOf(subscription);
  const end = endsAt(subscription);
  const endMs = end === null ? Number.POSITIVE_INFINITY : ms(end);
  const from = Math.max(now.getTime(), ms(subscription.start_date));
  const period = periodContaining(cycle, new Date(from).toISOString());
  const usageEndMs = Math.min(ms(period.end_exclusive), endMs);
  if (ms(period.start) >= endMs || usageEndMs <= now.getTime()) return null;
  return new Date(usageEndMs).toISOString();
}
