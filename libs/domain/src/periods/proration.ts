import type { DateTime } from 'luxon';
import { Dec, toDecimalString, type DecimalString } from '../decimal';
import type { BillingPeriod } from './billing-period';
import { parseInstant, PeriodError, validateTimezone } from './time';

/** Decimals of a proration factor: DECIMAL(20,10), rounded half away from zero. */
export const PRORATION_SCALE = 10;

/** Number of whole local days from `start` to the first day boundary at or after `at`. */
function daysUntil(start: DateTime, at: DateTime): number {
  // Calendar days in the zone: day i is [start + i days, start + i + 1 days), 23 or 25 hours long on
  // DST-change days. The hour-based estimate is off by at most one; the loops settle it exactly.
  let i = Math.round(at.diff(start, 'hours').hours / 24);
  while (i > 0 && start.plus({ days: i - 1 }).toMillis() >= at.toMillis()) i -= 1;
  while (start.plus({ days: i }).toMillis() < at.toMillis()) i += 1;
  return i;
}

/**
 * The share of a billing period during which a subscription was active, BY DAYS:
 *   factor = active days / days in the period, as a decimal string with 10 decimals.
 * Days are the period's days in the customer's zone, counted from the period start (so a DST-change
 * day is one day, whatever its 23 or 25 hours). A PARTIAL DAY COUNTS AS A WHOLE DAY: a subscription
 * active for any part of a day is charged for that day (started at 18:00 on the 10th: the 10th counts;
 * cancelled at 09:00 on the 20th: the 20th counts). `activeFrom` / `activeToExclusive` outside the
 * period are clamped to it; null `activeToExclusive` means still active. A full period is exactly "1".
 */
export function prorationFactor(
  period: BillingPeriod,
  activeFrom: string,
  activeToExclusive: string | null,
  timezone: string,
): DecimalString {
  const zone = validateTimezone(timezone);
  const start = parseInstant(period.start, zone, 'period.start');
  const end = parseInstant(period.end_exclusive, zone, 'period.end_exclusive');
  if (end.toMillis() <= start.toMillis())
    throw new PeriodError('PERIOD.INVALID_RANGE', 'the period ends before it starts', 'period');
  const from = parseInstant(activeFrom, zone, 'active_from');
  const to = activeToExclusive === null ? end : parseInstant(activeToExclusive, zone, 'active_to_exclusive');
  const clampedFrom = from.toMillis() < start.toMillis() ? start : from;
  const clampedTo = to.toMillis() > end.toMillis() ? end : to;
  if (clampedTo.toMillis() <= clampedFrom.toMillis()) return '0';
  const periodDays = daysUntil(start, end);
  // The day containing clampedFrom starts the count: floor for the start, ceil for the end.
  let firstDay = daysUntil(start, clampedFrom);
  if (start.plus({ days: firstDay }).toMillis() > clampedFrom.toMillis()) firstDay -= 1;
  const activeDays = daysUntil(start, clampedTo) - firstDay;
  if (activeDays >= periodDays) return '1';
  return toDecimalString(new Dec(activeDays).dividedBy(periodDays).toDecimalPlaces(PRORATION_SCALE, Dec.ROUND_HALF_UP));
}
