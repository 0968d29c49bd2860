import type { FieldError } from '../../decimal';
import { instantKey, MeteringError } from '../../metering';

/** Postgres timestamptz keeps microseconds: a finer instant could not be stored or compared in SQL. */
const MAX_FRACTION_DIGITS = 6;

/**
 * An RFC 3339 timestamp (any offset) as the UTC instant the catalog stores: `2026-03-01T05:00:00.000Z`,
 * with 6 fraction digits when it has sub-millisecond precision. Returns a FieldError naming `field`
 * for anything else (no timestamp, an impossible date, precision beyond microseconds).
 */
export function normalizeInstant(
  raw: unknown,
  field: string,
): { ok: true; value: string } | { ok: false; error: FieldError } {
  const fail = (message: string) => ({ ok: false as const, error: { field, message } });
  if (typeof raw !== 'string') return fail('must be an RFC 3339 timestamp such as "2026-03-01T00:00:00Z"');
  let key: string;
  try {
    key = instantKey(raw);
  } catch (error) {
    if (error instanceof MeteringError) return fail('must be an RFC 3339 timestamp such as "2026-03-01T00:00:00Z"');
    throw error;
  }
  // instantKey: "<epoch seconds + 1e11, 12 digits>.<9 fraction digits>".
  const [seconds, nanos] = key.split('.');
  if (/[1-9]/.test(nanos.slice(MAX_FRACTION_DIGITS))) return fail('must have at most microsecond precision');
  const date = new Date((Number(seconds) - 1e11) * 1000);
  if (Number.isNaN(date.getTime())) return fail('is out of range');
  const fraction = /^\d{3}000$/.test(nanos.slice(0, 6)) ? nanos.slice(0, 3) : nanos.slice(0, 6);
  return { ok: true, value: date.toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`) };
}

/** Comparable form of a normalized (or any RFC 3339) instant: equal instants give equal keys. */
export function instantOrder(timestamp: string | Date): string {
  return instantKey(typeof timestamp === 'string' ? timestamp : timestamp.toISOString());
}
