import { DateTime, IANAZone } from 'luxon';

export type PeriodErrorCode =
  'PERIOD.INVALID_TIMEZONE' | 'PERIOD.INVALID_INSTANT' | 'PERIOD.INVALID_INTERVAL' | 'PERIOD.INVALID_RANGE';

export class PeriodError extends Error {
  constructor(
    readonly code: PeriodErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PeriodError';
  }
}

/** Zones found valid (a few hundred at most): luxon's check builds an Intl formatter each time. */
const validZones = new Set<string>();

/**
 * An IANA time zone name ("Europe/Berlin", "America/New_York", "UTC"), checked against the
 * runtime's zone database. Returned as given: not canonicalised, because ICU's canonical names
 * differ between Node versions ("Asia/Kolkata" vs "Asia/Calcutta") and both spellings work.
 */
export function validateTimezone(name: unknown, field = 'timezone'): string {
  if (typeof name === 'string' && validZones.has(name)) return name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 64 || !IANAZone.isValidZone(name)) {
    throw new PeriodError(
      'PERIOD.INVALID_TIMEZONE',
      `"${String(name)}" is not an IANA time zone name (e.g. "Europe/Berlin")`,
      field,
    );
  }
  validZones.add(name);
  return name;
}

/** An instant needs its offset: a local time without one would mean a different instant per zone. */
const RFC3339_INSTANT = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 instant ("2024-01-31T00:00:00Z", "…+01:00") as a luxon DateTime in `zone`. */
export function parseInstant(value: unknown, zone: string, field: string): DateTime {
  if (typeof value !== 'string' || !RFC3339_INSTANT.test(value)) {
    throw new PeriodError(
      'PERIOD.INVALID_INSTANT',
      `"${String(value)}" is not an RFC 3339 instant with an offset`,
      field,
    );
  }
  const parsed = DateTime.fromISO(value, { setZone: true });
  if (!parsed.isValid) throw new PeriodError('PERIOD.INVALID_INSTANT', `"${value}" is not a valid instant`, field);
  return parsed.setZone(zone);
}

/** The RFC 3339 UTC form used in JSON, with milliseconds, like Date.prototype.toISOString(). */
export function formatInstant(value: DateTime): string {
  return value.toUTC().toJSDate().toISOString();
}
