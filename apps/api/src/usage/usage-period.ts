import { calendarAnchor, normalizeInstant, periodContaining, type BillingInterval, type FieldError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import type { UsagePeriod } from './usage-reader';

/** How a summary's period was chosen (reported in `meta.period_basis`). */
export type PeriodBasis = 'request' | 'subscription' | 'calendar_month';

/** Longest period a usage query may cover: a yearly billing period and then some. */
export const MAX_PERIOD_DAYS = 400;
const DAY_MS = 86_400_000;

export interface SubscriptionCycle {
  subscription_id: string;
  billing_interval: string;
  anchor_at: string;
  timezone: string;
  start_date: Date;
  ends_at: Date | null;
}

export interface CustomerBilling {
  timezone: string;
  /** Subscriptions not ended at the time of the request. */
  live: SubscriptionCycle[];
}

function invalid(errors: FieldError[]): ApiProblem {
  return new ApiProblem('REQUEST.VALIDATION_FAILED', `invalid fields: ${errors.map((e) => e.field).join(', ')}`, {
    errors,
  });
}

/**
 * A period given as two RFC 3339 instants (any offset; microseconds at most), as UTC, validated:
 * start before end, at most MAX_PERIOD_DAYS long. Names the request's own fields in errors.
 */
export function requestedPeriod(
  rawStart: unknown,
  rawEnd: unknown,
  fields: [string, string] = ['period_start', 'period_end'],
): UsagePeriod {
  const start = normalizeInstant(rawStart, fields[0]);
  const end = normalizeInstant(rawEnd, fields[1]);
  const errors = [start, end].flatMap((result) => (result.ok ? [] : [result.error]));
  if (errors.length > 0 || !start.ok || !end.ok) throw invalid(errors);
  const span = Date.parse(end.value) - Date.parse(start.value);
  if (span <= 0) {
    throw new ApiProblem('USAGE.INVALID_PERIOD', `${fields[1]} must be later than ${fields[0]}`, {
      errors: [{ field: fields[1], message: `must be later than ${fields[0]}` }],
    });
  }
  if (span > MAX_PERIOD_DAYS * DAY_MS) {
    throw new ApiProblem('USAGE.INVALID_PERIOD', `a usage period covers at most ${MAX_PERIOD_DAYS} days`, {
      errors: [{ field: fields[1], message: `must be at most ${MAX_PERIOD_DAYS} days after ${fields[0]}` }],
    });
  }
  return { start: start.value, end: end.value };
}

/**
 * The subscription whose period is "current": among the live ones, the latest that has started,
 * else the next to start (its first period is then the current one, as the subscriptions domain says).
 */
function currentSubscription(live: readonly SubscriptionCycle[], now: Date): SubscriptionCycle | undefined {
  const started = live.filter((s) => s.start_date <= now).sort((a, b) => +b.start_date - +a.start_date);
  if (started.length > 0) return started[0];
  return [...live].sort((a, b) => +a.start_date - +b.start_date)[0];
}

/**
 * The current billing period of the customer: the one its live subscription is in at `now`; without
 * a live subscription, the calendar month in the customer's time zone (and the response says so).
 */
export function currentPeriod(
  billing: CustomerBilling,
  now: Date,
): { period: UsagePeriod; basis: PeriodBasis; subscription_id?: string } {
  const subscription = currentSubscription(billing.live, now);
  if (subscription !== undefined) {
    const at = subscription.start_date > now ? subscription.start_date : now;
    const period = periodContaining(
      {
        interval: subscription.billing_interval as BillingInterval,
        anchor: subscription.anchor_at,
        timezone: subscription.timezone,
      },
      at.toISOString(),
    );
    return {
      period: { start: period.start, end: period.end_exclusive },
      basis: 'subscription',
      subscription_id: subscription.subscription_id,
    };
  }
  const month = periodContaining(
    { interval: 'month', anchor: calendarAnchor('month', billing.timezone), timezone: billing.timezone },
    now.toISOString(),
  );
  return { period: { start: month.start, end: month.end_exclusive }, basis: 'calendar_month' };
}
