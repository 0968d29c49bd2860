import DecimalJs from 'decimal.js';

/**
 * The one decimal.js constructor of the domain. Every decimal computation goes through it so that
 * precision and output format are the same everywhere.
 *
 * - 80 significant digits: a DECIMAL(20,10) quantity times a DECIMAL(20,10) price has at most 40,
 *   a proration factor adds 10 more, so products and sums are exact; only divisions round.
 * - ROUND_HALF_UP is decimal.js's name for half away from zero (the house rounding mode, see
 *   money/rounding.ts); it only applies where an operation has to round (division at 80 digits).
 * - toExpNeg/toExpPos at the library limits: `toString()` never uses exponent notation, so a
 *   decimal always serialises as a plain string ("0.0000001", not "1e-7").
 */
export const Dec = DecimalJs.clone({
  precision: 80,
  rounding: DecimalJs.ROUND_HALF_UP,
  toExpNeg: -9e15,
  toExpPos: 9e15,
});

/** A value of the domain's decimal constructor. */
export type Dec = InstanceType<typeof Dec>;

/** A decimal carried as a plain string ("12.5", "-0.0001", "0"): the form used in JSON and events. */
export type DecimalString = string;

export const ZERO = new Dec(0);
export const ONE = new Dec(1);

/**
 * Canonical string of a decimal: plain notation, no trailing zeros, and never "-0" (decimal.js
 * keeps the sign of zero, which would make "0" and "-0" different strings for the same value).
 */
export function toDecimalString(value: Dec): DecimalString {
  if (value.isZero()) return '0';
  return value.toString();
}

/** Fixed number of decimals, rounded half away from zero, never "-0.00". */
export function toFixedString(value: Dec, decimals: number): DecimalString {
  const fixed = value.toFixed(decimals, Dec.ROUND_HALF_UP);
  return /^-0(\.0*)?$/.test(fixed) ? fixed.slice(1) : fixed;
}

/** Decimal places of a value (0 for integers), after dropping trailing zeros. */
export function scaleOf(value: Dec): number {
  return value.decimalPlaces();
}

/**
 * A trusted decimal string (already validated: stored events, our own outputs) to a Dec.
 * Untrusted input goes through `parseDecimal`.
 */
export function dec(value: DecimalString | Dec): Dec {
  return value instanceof Dec ? value : new Dec(value);
}

export function decMin(a: Dec, b: Dec): Dec {
  return a.lessThanOrEqualTo(b) ? a : b;
}

export function decMax(a: Dec, b: Dec): Dec {
  return a.greaterThanOrEqualTo(b) ? a : b;
}

export function decSum(values: Iterable<Dec>): Dec {
  let total = ZERO;
  for (const value of values) total = total.plus(value);
  return total;
}
