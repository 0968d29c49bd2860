import { DateTime } from 'luxon';
import { formatInstant, parseInstant, PeriodError, validateTimezone } from './time';

export const BILLING_INTERVALS = ['day', 'week', 'month', 'year'] as const;
export type BillingInterval = (typeof BILLING_INTERVALS)[number];

export interface BillingCycle {
  interval: BillingInterval;
  /** RFC 3339 instant: where periods start. Its wall-clock date and time in `timezone` repeat every interval. */
  anchor: string;
  /** IANA zone of the customer: periods are calendar periods there. */
  timezone: string;
}

/** [start, end_exclusive), both RFC 3339 UTC instants. */
export interface BillingPeriod {
  start: string;
  end_exclusive: string;
}

const UNIT: Readonly<Record<BillingInterval, 'days' | 'weeks' | 'months' | 'years'>> = {
  day: 'days',
  week: 'weeks',
  month: 'months',
  year: 'years',
};

interface Cycle {
  unit: 'days' | 'weeks' | 'months' | 'years';
  anchor: DateTime;
  zone: string;
}

function readCycle(cycle: BillingCycle): Cycle {
  if (!BILLING_INTERVALS.includes(cycle.interval)) {
    throw new PeriodError(
      'PERIOD.INVALID_INTERVAL',
      `interval must be one of ${BILLING_INTERVALS.join(', ')}`,
      'interval',
    );
  }
  const zone = validateTimezone(cycle.timezone);
  return { unit: UNIT[cycle.interval], anchor: parseInstant(cycle.anchor, zone, 'anchor'), zone };
}

/**
 * Start of period k (k = 0 starts at the anchor), always computed FROM THE ANCHOR, never from the
 * previous period: luxon clamps a month-end day to the last day of a shorter month, so an anchor on
 * Jan 31 gives Feb 28 (29 in leap years) and then Mar 31 again, without drifting to the 28th.
 * Adding days/weeks/months/years in the zone keeps the wall-clock time across DST changes, so a
 * daily period on a DST-change day lasts 23 or 25 hours. A wall-clock time that does not exist
 * that day (inside a spring-forward gap) moves forward by the gap, as luxon resolves it.
 */
function startOf(cycle: Cycle, k: number): DateTime {
  return cycle.anchor.plus({ [cycle.unit]: k });
}

/** Index of the period containing `at`: start(k) <= at < start(k + 1). */
function indexContaining(cycle: Cycle, at: DateTime): number {
  let k = Math.floor(at.diff(cycle.anchor, cycle.unit).get(cycle.unit));
  // diff is calendar-aware but month-end clamping and DST can leave it one off either way.
  while (startOf(cycle, k).toMillis() > at.toMillis()) k -= 1;
  while (startOf(cycle, k + 1).toMillis() <= at.toMillis()) k += 1;
  return k;
}

function periodAt(cycle: Cycle, k: number): BillingPeriod {
  return { start: formatInstant(startOf(cycle, k)), end_exclusive: formatInstant(startOf(cycle, k + 1)) };
}

/**
 * The billing period containing the instant `at`, in the customer's time zone. Calendar periods
 * are anniversary periods with an anchor at a calendar boundary (see calendarAnchor); instants
 * before the anchor fall in earlier periods of the same cycle.
 */
export function periodContaining(cycle: BillingCycle, at: string): BillingPeriod {
  const parsed = readCycle(cycle);
  return periodAt(parsed, indexContaining(parsed, parseInstant(at, parsed.zone, 'at')));
}

/** The period right after `period` (which must be a period of this cycle). */
export function nextPeriod(cycle: BillingCycle, period: BillingPeriod): BillingPeriod {
  return periodContaining(cycle, period.end_exclusive);
}

/** The period right before `period` (which must be a period of this cycle). */
export function previousPeriod(cycle: BillingCycle, period: BillingPeriod): BillingPeriod {
  const parsed = readCycle(cycle);
  const k = indexContaining(parsed, parseInstant(period.start, parsed.zone, 'start'));
  return periodAt(parsed, k - 1);
}

/**
 * An anchor for CALENDAR periods in a zone: local midnight at a calendar boundary (1 January 2000,
 * or Monday 3 January 2000 for ISO weeks), so periods are calendar days, Monday-weeks, months and years.
 */
export function calendarAnchor(interval: BillingInterval, timezone: string): string {
  const zone = validateTimezone(timezone);
  const day = interval === 'week' ? 3 : 1;
  return formatInstant(DateTime.fromObject({ year: 2000, month: 1, day }, { zone }));
}
