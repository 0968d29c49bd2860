import type { DineroCurrency } from 'dinero.js/bigint';
import * as isoCurrencies from 'dinero.js/bigint/currencies';

/**
 * An ISO 4217 currency as dinero.js describes it, with bigint amounts: money never goes through a
 * JS number, and bigint keeps amounts beyond 2^53 minor units exact.
 */
export type Currency = DineroCurrency<bigint>;

/** A currency code ("EUR") or an already resolved currency. */
export type CurrencyInput = string | Currency;

export type MoneyErrorCode =
  'MONEY.UNKNOWN_CURRENCY' | 'MONEY.NOT_MINOR_UNITS' | 'MONEY.INVALID_RATIOS' | 'MONEY.INVALID_AMOUNT';

export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'MoneyError';
  }
}

/**
 * The ISO 4217 table shipped with dinero.js (active codes, their minor-unit exponents: JPY 0,
 * USD 2, KWD 3, CLF 4). Built once into a Map so that lookups cannot reach Object.prototype
 * ("constructor", "toString").
 */
const CURRENCIES: ReadonlyMap<string, Currency> = new Map(
  Object.values(isoCurrencies as Record<string, unknown>)
    .filter(isCurrency)
    .map((currency) => [currency.code, currency]),
);

function isCurrency(value: unknown): value is Currency {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Currency).code === 'string' &&
    typeof (value as Currency).exponent === 'bigint'
  );
}

/**
 * The currency for an ISO 4217 code. Codes are exact and upper case ("usd" is rejected rather than
 * guessed), so the code stored in plans and customers has one spelling.
 */
export function currencyFor(code: string, field?: string): Currency {
  const currency = typeof code === 'string' ? CURRENCIES.get(code) : undefined;
  if (!currency) {
    const hint =
      typeof code === 'string' && CURRENCIES.has(code.toUpperCase())
        ? ` (codes are upper case: "${code.toUpperCase()}")`
        : '';
    throw new MoneyError('MONEY.UNKNOWN_CURRENCY', `"${String(code)}" is not an ISO 4217 currency code${hint}`, field);
  }
  return currency;
}

export function isCurrencyCode(code: unknown): code is string {
  return typeof code === 'string' && CURRENCIES.has(code);
}

export function resolveCurrency(currency: CurrencyInput): Currency {
  return typeof currency === 'string' ? currencyFor(currency) : currency;
}

/** Digits after the point in the currency's minor unit (USD 2, JPY 0, KWD 3). */
export function minorUnitExponent(currency: CurrencyInput): number {
  return Number(resolveCurrency(currency).exponent);
}
