import { add, dinero, halfAwayFromZero, toDecimal, transformScale, type Dinero } from 'dinero.js/bigint';
import { Dec, toDecimalString, type DecimalString } from '../decimal';
import { MoneyError, resolveCurrency, type Currency, type CurrencyInput } from './currency';

/**
 * The one rounding mode for money: half away from zero ("commercial rounding": 0.125 -> 0.13,
 * -0.125 -> -0.13). Chosen deliberately over half-even:
 * - it is what the reference billing engines do: OpenMeter `pkg/currencyx` rounds with
 *   alpacadecimal/shopspring `Round` (half away from zero), Lago uses Ruby BigDecimal's default
 *   ROUND_HALF_UP (away from zero), Stripe rounds line items to the nearest cent with halves up
 *   (1.5 cents -> 2 cents, "Decimal amounts" docs);
 * - it is PostgreSQL's `round(numeric, n)`, so an SQL cross-check rounds the same way;
 * - it is symmetric, so a credit note for -x rounds to exactly minus the invoice line for x.
 * Half-even only pays off when many already-rounded halves are summed again, and we round once per
 * line instead.
 */
export const ROUNDING_MODE = 'HALF_AWAY_FROM_ZERO' as const;

export type Money = Dinero<bigint>;

/** Splits a canonical decimal into an integer of 10^-scale units: "-12.345" -> (-12345n, 3). */
function scaledDigits(amount: DecimalString | Dec): { units: bigint; scale: number } {
  if (typeof amount === 'string' && !/^-?\d+(\.\d+)?$/.test(amount)) {
    throw new MoneyError('MONEY.INVALID_AMOUNT', `"${amount}" is not a plain decimal amount`);
  }
  // Canonical form first: trailing zeros do not count as precision ("12.300" is 2 decimals).
  const text = toDecimalString(typeof amount === 'string' ? new Dec(amount) : amount);
  const [integer, fraction = ''] = text.split('.');
  return { units: BigInt(integer + fraction), scale: fraction.length };
}

/** An exact amount as a dinero object, at the amount's own scale (never below the currency's). */
export function toMoney(amount: DecimalString | Dec, currency: CurrencyInput): Money {
  const resolved = resolveCurrency(currency);
  const { units, scale } = scaledDigits(amount);
  const exponent = Number(resolved.exponent);
  const target = Math.max(scale, exponent);
  return dinero({ amount: units * 10n ** BigInt(target - scale), currency: resolved, scale: BigInt(target) });
}

/** Dinero's decimal output, with the sign of zero dropped ("-0.00" -> "0.00"). */
function decimalOf(money: Money): DecimalString {
  const text = toDecimal(money);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * THE rounding helper: an exact amount to the currency's minor unit, half away from zero.
 * Returns exactly `exponent` decimals ("12.30" USD, "5" JPY, "1.250" KWD). Every money amount that
 * leaves the pricing engine has been through here exactly once.
 */
export function roundToMinor(amount: DecimalString | Dec, currency: CurrencyInput): DecimalString {
  const resolved = resolveCurrency(currency);
  return decimalOf(transformScale(toMoney(amount, resolved), resolved.exponent, halfAwayFromZero));
}

/** An amount already in minor-unit precision, as an integer count of minor units (USD "12.30" -> 1230n). */
export function toMinorUnits(amount: DecimalString | Dec, currency: CurrencyInput): bigint {
  const resolved = resolveCurrency(currency);
  const exponent = Number(resolved.exponent);
  const { units, scale } = scaledDigits(amount);
  if (scale > exponent) {
    throw new MoneyError(
      'MONEY.NOT_MINOR_UNITS',
      `${String(amount)} has more decimals than ${resolved.code} allows (${exponent}); round it with roundToMinor first`,
    );
  }
  return units * 10n ** BigInt(exponent - scale);
}

/** Minor units back to the JSON money string with exactly the currency's decimals. */
export function fromMinorUnits(minorUnits: bigint, currency: CurrencyInput): DecimalString {
  const resolved = resolveCurrency(currency);
  return decimalOf(dinero({ amount: minorUnits, currency: resolved, scale: resolved.exponent }));
}

/**
 * The decimal string used for money in JSON: exactly the currency's decimals ("10" USD -> "10.00").
 * Formatting never rounds: an amount finer than the minor unit is an error (round it first).
 */
export function formatMoney(amount: DecimalString | Dec, currency: CurrencyInput): DecimalString {
  return fromMinorUnits(toMinorUnits(amount, currency), currency);
}

/** Exact sum of minor-unit amounts in one currency, formatted. An empty list sums to zero. */
export function sumMoney(amounts: Iterable<DecimalString>, currency: CurrencyInput): DecimalString {
  const resolved: Currency = resolveCurrency(currency);
  let total = dinero({ amount: 0n, currency: resolved, scale: resolved.exponent });
  for (const amount of amounts) {
    total = add(
      total,
      dinero({ amount: toMinorUnits(amount, resolved), currency: resolved, scale: resolved.exponent }),
    );
  }
  return decimalOf(total);
}
