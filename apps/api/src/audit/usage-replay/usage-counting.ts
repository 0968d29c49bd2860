import { Dec, instantKey, toDecimalString, type Metric, type MetricVersion } from '#domain';
import type { UsageLogEvent } from './usage-log-reader';

/*
 * The per-event rules of the domain's countedUsageEvents and chargeUsageOf (libs/domain
 * billing/calculate/log-usage.ts), for one event at a time. The replay applies them while it reads
 * instead of on an array of every event; streaming-usage.spec.ts checks, on generated logs, that the
 * result is exactly the domain's.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** numeric(20,10), as the read model stores values. */
const DECIMAL_20_10 = /^-?\d{1,10}(\.\d{1,10})?$/;
/** Already what toDecimalString gives: no leading zeros, no trailing fractional zeros ("-0" aside). */
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** A UsageRecorded the read model would store: its usage id (lowercase) and instantKey of its timestamp. */
export interface Countable {
  usageId: string;
  at: string;
}

/** recordedData of the domain: null for a malformed UsageRecorded (the projection skips it). */
export function countable(event: UsageLogEvent): Countable | null {
  const usageId = event.usage_id ?? event.id;
  if (!UUID.test(usageId) || event.customer_id === null || event.metric_key === null) return null;
  if (event.idempotency_key === null || event.value === null || !DECIMAL_20_10.test(event.value)) return null;
  if (event.timestamp === null) return null;
  const at = instantKeyOf(event.timestamp);
  return at === null ? null : { usageId: usageId.toLowerCase(), at };
}

/** `0` … `9` as char codes. */
const ZERO = 48;
const digitsAt = (text: string, from: number, count: number): number => {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
};
const SEPARATORS: ReadonlyArray<[number, string]> = [
  [4, '-'],
  [7, '-'],
  [10, 'T'],
  [13, ':'],
  [16, ':'],
];

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * The domain's instantKey, or null where it throws. Timestamps as ingestion stores them
 * (`2026-03-01T05:00:00.000Z`: UTC, up to 9 fraction digits) are keyed here without a regular
 * expression or a Date (a replay keys every event); any other form goes to instantKey itself.
 * usage-counting.spec.ts checks the two agree.
 */
export function instantKeyOf(timestamp: string): string | null {
  const length = timestamp.length;
  const fast =
    length >= 20 &&
    length <= 30 &&
    length !== 21 &&
    timestamp.charCodeAt(length - 1) === 90 && // Z
    (length === 20 || timestamp[19] === '.') &&
    SEPARATORS.every(([at, separator]) => timestamp[at] === separator);
  if (fast) {
    const [year, month, day] = [digitsAt(timestamp, 0, 4), digitsAt(timestamp, 5, 2), digitsAt(timestamp, 8, 2)];
    const [hour, minute, second] = [digitsAt(timestamp, 11, 2), digitsAt(timestamp, 14, 2), digitsAt(timestamp, 17, 2)];
    const fraction = length === 20 ? '' : timestamp.slice(20, length - 1);
    const valid =
      year >= 0 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysInMonth(year, month) &&
      hour >= 0 &&
      hour <= 23 &&
      minute >= 0 &&
      minute <= 59 &&
      second >= 0 &&
      second <= 59 &&
      (fraction === '' || digitsAt(fraction, 0, fraction.length) >= 0);
    if (!valid) return null;
    const epochSeconds = daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    return `${String(epochSeconds + 1e11).padStart(12, '0')}.${fraction.padEnd(9, '0')}`;
  }
  try {
    return instantKey(timestamp);
  } catch {
    return null;
  }
}

/**
 * toDecimalString(new Dec(value)) without a decimal.js object when the text is canonical already
 * (almost every stored value): the checksum line of each event needs it.
 */
export function canonicalDecimal(value: string): string {
  return CANONICAL_DECIMAL.test(value) && value !== '-0' ? value : toDecimalString(new Dec(value));
}

/** data.properties as the domain meters it: an object, or {} for anything else. */
export function propertiesRecord(raw: unknown): Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

/**
 * versionInForce with the versions' instants keyed once: the last version whose effective_from is at
 * or before `at` (an instantKey), version 1 otherwise.
 */
export function versionLookup(metric: Pick<Metric, 'versions'>): (at: string) => MetricVersion {
  const { versions } = metric;
  if (versions.length === 0) throw new Error('a metric has at least one version');
  const keys = versions.map((version) => (version.effective_from === null ? null : instantKey(version.effective_from)));
  return (at) => {
    for (let index = versions.length - 1; index > 0; index--) {
      const key = keys[index];
      if (key !== null && key <= at) return versions[index];
    }
    return versions[0];
  };
}
