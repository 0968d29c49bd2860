import { Dec, type DecimalString, type FieldError } from '../decimal';
import { formatMoney, isCurrencyCode, type CurrencyInput } from '../money';
import { isChecksum } from './checksum';

/**
 * Field checks shared by calculations, invoices and adjustments. They return FieldError[] (empty:
 * valid) so one error can name every bad field, as the catalog validators do.
 */

/** Ids chosen by callers (invoice, adjustment, payment ids): also safe inside stream names. */
export const BILLING_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

export type MoneySign = 'non_negative' | 'positive' | 'non_zero' | 'any';

export function idProblems(value: unknown, field: string): FieldError[] {
  return typeof value === 'string' && BILLING_ID_PATTERN.test(value)
    ? []
    : [{ field, message: 'must be 1-64 characters of [A-Za-z0-9_.-], starting with a letter or digit' }];
}

export function textProblems(value: unknown, field: string, maxLength: number): FieldError[] {
  if (typeof value !== 'string' || value.trim().length === 0) return [{ field, message: 'must be a non-blank string' }];
  return value.length > maxLength ? [{ field, message: `must have at most ${maxLength} characters` }] : [];
}

export function nullableText(value: unknown, field: string, maxLength: number): FieldError[] {
  return value === null ? [] : textProblems(value, field, maxLength);
}

export function instantProblems(value: unknown, field: string): FieldError[] {
  return typeof value === 'string' && RFC3339_UTC.test(value) && !Number.isNaN(Date.parse(value))
    ? []
    : [{ field, message: 'must be an RFC 3339 UTC instant (…Z)' }];
}

export function currencyProblems(value: unknown, field: string): FieldError[] {
  return isCurrencyCode(value) ? [] : [{ field, message: 'must be an upper-case ISO 4217 currency code' }];
}

export function checksumProblems(value: unknown, field: string, nullable = false): FieldError[] {
  if (nullable && value === null) return [];
  return isChecksum(value) ? [] : [{ field, message: 'must be "sha256:" and 64 lowercase hex digits' }];
}

/**
 * Money in its one JSON spelling: a decimal string with exactly the currency's minor-unit decimals
 * ("12.30" USD, "5" JPY), as roundToMinor / formatMoney write it. Any other spelling of the same
 * value would change a checksum, so it is refused rather than normalized.
 */
export function moneyProblems(
  value: unknown,
  currency: CurrencyInput,
  field: string,
  sign: MoneySign = 'any',
): FieldError[] {
  if (typeof value !== 'string' || !PLAIN_DECIMAL.test(value)) {
    return [{ field, message: 'must be a decimal string' }];
  }
  let canonical: string;
  try {
    canonical = formatMoney(value, currency);
  } catch {
    return [{ field, message: 'has more decimals than the currency allows' }];
  }
  if (canonical !== value) return [{ field, message: `must be written "${canonical}"` }];
  const amount = new Dec(value);
  const wrongSign =
    (sign === 'non_negative' && amount.isNegative() && !amount.isZero()) ||
    (sign === 'positive' && !amount.greaterThan(0)) ||
    (sign === 'non_zero' && amount.isZero());
  return wrongSign ? [{ field, message: `must be ${sign.replace('_', '-')}` }] : [];
}

/** A canonical non-negative decimal string (quantities): no sign, no exponent. */
export function quantityProblems(value: unknown, field: string): FieldError[] {
  return typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)
    ? []
    : [{ field, message: 'must be a non-negative decimal string' }];
}

/** a - b for money strings of one currency, written as money. */
export function moneyDifference(a: DecimalString, b: DecimalString, currency: CurrencyInput): DecimalString {
  return formatMoney(new Dec(a).minus(b), currency);
}

/** -a for a money string. */
export function negateMoney(amount: DecimalString, currency: CurrencyInput): DecimalString {
  return formatMoney(new Dec(amount).negated(), currency);
}
