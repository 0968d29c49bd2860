import { Dec, type DecimalString } from '../decimal';
import { MoneyError, resolveCurrency, type CurrencyInput } from './currency';
import { fromMinorUnits, toMinorUnits } from './money';

/**
 * THE splitting helper: divides a minor-unit amount into parts proportional to `ratios` with the
 * largest remainder (Hamilton) method. The parts always sum exactly to the whole, and each part is
 * its exact share rounded down or up to a minor unit, never further away.
 *
 * Why not dinero's `allocate`: dinero v2 floors every share and then hands the leftover units to
 * the parts with the LARGEST RATIOS, not the largest remainders, so a part whose exact share is a
 * whole number of cents can still receive an extra cent (0.10 split 2:1:1 gives 0.06/0.02/0.02
 * although the first share is exactly 0.05). On an invoice that shows as a tier priced wrongly. OpenMeter's
 * `currencyx.AllocateByWeight` uses the largest remainder method for the same reason; we follow it,
 * including its tie-break: equal remainders go to the earlier part, so results are deterministic.
 *
 * Ratios are non-negative decimal strings with at least one positive; zero ratios always get zero.
 * A negative amount is split like its absolute value, then negated (a credit splits like a charge).
 */
export function allocate(
  amount: DecimalString,
  ratios: readonly DecimalString[],
  currency: CurrencyInput,
): DecimalString[] {
  const resolved = resolveCurrency(currency);
  const whole = toMinorUnits(amount, resolved);
  const weights = ratioUnits(ratios);
  const parts = largestRemainder(whole < 0n ? -whole : whole, weights);
  return parts.map((part) => fromMinorUnits(whole < 0n ? -part : part, resolved));
}

/** Ratios as integers on one common scale ("0.5", "2" -> 5n, 20n), validated. */
function ratioUnits(ratios: readonly DecimalString[]): bigint[] {
  if (ratios.length === 0) throw new MoneyError('MONEY.INVALID_RATIOS', 'at least one ratio is required');
  const values = ratios.map((ratio, index) => {
    let value: Dec;
    try {
      value = new Dec(ratio);
    } catch {
      throw new MoneyError('MONEY.INVALID_RATIOS', `ratio ${index} ("${String(ratio)}") is not a decimal`);
    }
    if (!value.isFinite() || value.isNegative()) {
      throw new MoneyError(
        'MONEY.INVALID_RATIOS',
        `ratio ${index} ("${String(ratio)}") must be a non-negative decimal`,
      );
    }
    return value;
  });
  if (values.every((value) => value.isZero())) {
    throw new MoneyError('MONEY.INVALID_RATIOS', 'at least one ratio must be positive');
  }
  const scale = Math.max(...values.map((value) => value.decimalPlaces()));
  const factor = new Dec(10).pow(scale);
  return values.map((value) => BigInt(value.times(factor).toFixed(0)));
}

/** Hamilton apportionment of a non-negative integer over non-negative integer weights. */
export function largestRemainder(whole: bigint, weights: readonly bigint[]): bigint[] {
  const total = weights.reduce((sum, weight) => sum + weight, 0n);
  const floors = weights.map((weight) => (whole * weight) / total);
  const remainders = weights.map((weight) => (whole * weight) % total);
  let leftover = whole - floors.reduce((sum, part) => sum + part, 0n);
  // leftover < number of non-zero remainders (the remainders sum to leftover * total, each < total),
  // so only parts with a fractional share receive a unit and none receives two.
  const order = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of order) {
    if (leftover === 0n) break;
    floors[index] += 1n;
    leftover -= 1n;
  }
  return floors;
}
