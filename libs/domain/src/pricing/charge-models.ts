import { Dec, decMax, decMin, toDecimalString, ZERO } from '../decimal';
import type {
  BreakdownRow,
  CustomFormulaCharge,
  FlatFeeCharge,
  GroupedUsage,
  MatrixCharge,
  PackageCharge,
  PerUnitCharge,
  Tier,
} from './charge';
import { PricingError } from './charge';
import { cachedFormula } from './formula';

/*
 * The charge models, each computing its breakdown rows with EXACT amounts (no rounding yet).
 * price-charge.ts rounds the line once and allocates the rounded amount back over these rows.
 */

export type ExactRow = Omit<BreakdownRow, 'amount'> & { exact: Dec };

/** A row with every field present, in the order of BreakdownRow (stored events read the same everywhere). */
const row = (fields: Partial<ExactRow> & Pick<ExactRow, 'kind' | 'quantity' | 'exact'>): ExactRow => ({
  kind: fields.kind,
  tier: fields.tier ?? null,
  from: fields.from ?? null,
  up_to: fields.up_to ?? null,
  group: fields.group ?? null,
  quantity: fields.quantity,
  unit_price: fields.unit_price ?? null,
  flat_fee: fields.flat_fee ?? null,
  exact: fields.exact,
});

export function flatFeeRows(charge: FlatFeeCharge, prorationFactor: Dec): ExactRow[] {
  return [
    row({
      kind: 'flat_fee',
      quantity: toDecimalString(prorationFactor),
      unit_price: charge.amount,
      exact: prorationFactor.times(charge.amount),
    }),
  ];
}

export function perUnitRows(charge: PerUnitCharge, usage: Dec): ExactRow[] {
  return [
    row({
      kind: 'unit',
      quantity: toDecimalString(usage),
      unit_price: charge.unit_price,
      exact: usage.times(charge.unit_price),
    }),
  ];
}

function tierRow(tiers: readonly Tier[], index: number, quantity: Dec): ExactRow {
  const tier = tiers[index];
  const from = index === 0 ? '0' : (tiers[index - 1].up_to as string);
  const flatFee = tier.flat_fee ?? null;
  return row({
    kind: 'tier',
    tier: index + 1,
    from,
    up_to: tier.up_to,
    quantity: toDecimalString(quantity),
    unit_price: tier.unit_price,
    flat_fee: flatFee,
    exact: quantity.times(tier.unit_price).plus(flatFee ?? 0),
  });
}

/**
 * Graduated tiers: tier i covers (up_to[i-1], up_to[i]], so usage is continuous across a boundary
 * (100.5 falls in the tier above up_to 100) and each unit is priced by the tier it falls in.
 * A tier's flat_fee is charged once when usage reaches the tier (usage > its lower bound); the
 * FIRST tier's flat fee is charged even at zero usage, as OpenMeter does (it bills the first
 * tier's flat price when the quantity is 0) and unlike Lago, whose graduated model skips every
 * flat fee at zero usage. A tier that is not reached has no row.
 */
export function graduatedRows(tiers: readonly Tier[], usage: Dec): ExactRow[] {
  const rows: ExactRow[] = [];
  let lower = ZERO;
  for (let index = 0; index < tiers.length; index++) {
    const upTo = tiers[index].up_to;
    const upper = upTo === null ? usage : decMin(usage, new Dec(upTo));
    rows.push(tierRow(tiers, index, decMax(upper.minus(lower), ZERO)));
    // The next tier is reached only by usage strictly above this tier's up_to.
    if (upTo === null || usage.lessThanOrEqualTo(upTo)) break;
    lower = new Dec(upTo);
  }
  return rows;
}

/**
 * Volume tiers: ALL units at the unit price of the tier the total falls in (same (lower, up_to]
 * bounds), plus that tier's flat fee only, so a total can fall as usage rises past a boundary.
 * Zero usage falls in the first tier (its flat fee is charged), as in OpenMeter; Lago charges
 * nothing at zero usage.
 */
export function volumeRows(tiers: readonly Tier[], usage: Dec): ExactRow[] {
  const index = tiers.findIndex((tier) => tier.up_to === null || usage.lessThanOrEqualTo(tier.up_to));
  // Validation guarantees an open-ended last tier, so findIndex always succeeds.
  return [tierRow(tiers, index, usage)];
}

/**
 * Package: after free_units, every STARTED package is charged (ceil), an exact multiple is not
 * bumped (200 units in packages of 100 is 2 packages), and zero usage costs nothing. Same as
 * Lago's package model and OpenMeter's package price.
 */
export function packageRows(charge: PackageCharge, usage: Dec): ExactRow[] {
  const billable = decMax(usage.minus(charge.free_units ?? 0), ZERO);
  const size = new Dec(charge.package_size);
  // Integer division and remainder are exact on decimals, so the ceil never misreads a multiple.
  const whole = billable.dividedToIntegerBy(size);
  const packages = billable.modulo(size).isZero() ? whole : whole.plus(1);
  return [
    row({
      kind: 'package',
      quantity: toDecimalString(packages),
      unit_price: charge.package_price,
      exact: packages.times(charge.package_price),
    }),
  ];
}

/** Matrix: each usage group priced by the price whose match equals its dimension values, or the default. */
export function matrixRows(charge: MatrixCharge, usage: GroupedUsage): ExactRow[] {
  return usage.map(({ group, quantity }) => {
    const values = Object.fromEntries(charge.dimensions.map((dimension) => [dimension, group[dimension] ?? null]));
    const price = charge.prices.find((candidate) =>
      charge.dimensions.every((dimension) => candidate.match[dimension] === values[dimension]),
    );
    const unitPrice = price?.unit_price ?? charge.default_unit_price ?? null;
    if (unitPrice === null) {
      throw new PricingError(
        'PRICING.UNPRICED_GROUP',
        `charge ${charge.key}: no price matches the group ${JSON.stringify(values)} and there is no default_unit_price`,
      );
    }
    const units = new Dec(quantity);
    return row({
      kind: 'group',
      group: values,
      quantity: toDecimalString(units),
      unit_price: unitPrice,
      exact: units.times(unitPrice),
    });
  });
}

/**
 * custom_formula: the formula's value is the amount. A negative value is charged as zero: a usage
 * charge never credits the customer (credits are adjustments), and "usage - 100" below 100 units
 * should cost nothing rather than pay out.
 */
export function formulaRows(charge: CustomFormulaCharge, usage: Dec): ExactRow[] {
  const value = cachedFormula(charge.formula).evaluate(usage);
  return [row({ kind: 'formula', quantity: toDecimalString(usage), exact: decMax(value, ZERO) })];
}
