import { Dec, decSum, ONE, toDecimalString, ZERO, type DecimalString } from '../decimal';
import { allocate, formatMoney, resolveCurrency, roundToMinor, type Currency, type CurrencyInput } from '../money';
import { PricingError, type BreakdownRow, type Charge, type GroupedUsage, type PricedLine } from './charge';
import {
  flatFeeRows,
  formulaRows,
  graduatedRows,
  matrixRows,
  packageRows,
  perUnitRows,
  volumeRows,
  type ExactRow,
} from './charge-models';
import { parseCharge } from './validate-charge';

export interface PriceChargeOptions {
  /** Share of the period the charge was active, 0-1 (periods/prorationFactor). Applies to flat_fee only. */
  proration_factor?: DecimalString;
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

function usageQuantity(charge: Charge, usage: DecimalString | GroupedUsage): Dec {
  if (typeof usage !== 'string' || !PLAIN_DECIMAL.test(usage)) {
    throw new PricingError(
      'PRICING.INVALID_USAGE',
      `charge ${charge.key} (${charge.model}) needs usage as a decimal string`,
    );
  }
  const quantity = new Dec(usage);
  if (quantity.isNegative() && !quantity.isZero()) {
    throw new PricingError('PRICING.INVALID_USAGE', `charge ${charge.key}: usage ${usage} is negative`);
  }
  return quantity;
}

function groupedUsage(charge: Charge, usage: DecimalString | GroupedUsage): GroupedUsage {
  if (!Array.isArray(usage)) {
    throw new PricingError(
      'PRICING.INVALID_USAGE',
      `charge ${charge.key} (matrix) needs usage grouped by its dimensions`,
    );
  }
  for (const entry of usage) usageQuantity(charge, entry.quantity);
  return usage;
}

function prorationOf(options: PriceChargeOptions): Dec {
  const raw = options.proration_factor;
  if (raw === undefined) return ONE;
  const factor = PLAIN_DECIMAL.test(raw) ? new Dec(raw) : null;
  if (factor === null || factor.isNegative() || factor.greaterThan(1)) {
    throw new PricingError(
      'PRICING.INVALID_PRORATION',
      `proration_factor must be a decimal from 0 to 1, got "${raw}"`,
      'proration_factor',
    );
  }
  return factor;
}

function exactRows(
  charge: Charge,
  usage: DecimalString | GroupedUsage,
  options: PriceChargeOptions,
): { quantity: Dec; rows: ExactRow[] } {
  switch (charge.model) {
    case 'flat_fee': {
      const factor = prorationOf(options);
      return { quantity: factor, rows: flatFeeRows(charge, factor) };
    }
    case 'per_unit': {
      const quantity = usageQuantity(charge, usage);
      return { quantity, rows: perUnitRows(charge, quantity) };
    }
    case 'tiered':
    case 'volume': {
      const quantity = usageQuantity(charge, usage);
      return {
        quantity,
        rows: charge.model === 'tiered' ? graduatedRows(charge.tiers, quantity) : volumeRows(charge.tiers, quantity),
      };
    }
    case 'package': {
      const quantity = usageQuantity(charge, usage);
      return { quantity, rows: packageRows(charge, quantity) };
    }
    case 'matrix': {
      const groups = groupedUsage(charge, usage);
      return { quantity: decSum(groups.map((group) => new Dec(group.quantity))), rows: matrixRows(charge, groups) };
    }
    case 'custom_formula': {
      const quantity = usageQuantity(charge, usage);
      return { quantity, rows: formulaRows(charge, quantity) };
    }
    default: {
      const unknown: never = charge;
      throw new PricingError('PRICING.INVALID_CHARGE', `unknown charge model ${String((unknown as Charge).model)}`);
    }
  }
}

/** The rows' amounts: the rounded subtotal split over the rows in proportion to their exact amounts. */
function allocateRows(rows: ExactRow[], subtotal: DecimalString, currency: Currency): BreakdownRow[] {
  const ratios = rows.map((r) => toDecimalString(r.exact));
  const parts = ratios.every((ratio) => ratio === '0')
    ? rows.map(() => roundToMinor(ZERO, currency))
    : allocate(subtotal, ratios, currency);
  return rows.map(({ exact: _exact, ...fields }, index) => ({ ...fields, amount: parts[index] }));
}

function adjustmentRow(kind: 'minimum_adjustment' | 'maximum_adjustment', amount: DecimalString): BreakdownRow {
  return {
    kind,
    tier: null,
    from: null,
    up_to: null,
    group: null,
    quantity: '1',
    unit_price: null,
    flat_fee: null,
    amount,
  };
}

/**
 * Prices one charge for one period's usage: a decimal string, or grouped usage for a matrix.
 *
 * Rounding happens ONCE per line: the exact amount (after min/max) is rounded half away from zero
 * to the currency's minor unit. Stripe also rounds at the line level; OpenMeter rounds each tier
 * row before summing, which can make a line differ from ours by a minor unit per tier. The rounded
 * amount is then split over the breakdown rows by largest remainder, so the rows ALWAYS sum to the
 * line amount. min_amount / max_amount appear as their own rows (the difference between the
 * rounded usage subtotal and the rounded, clamped line amount).
 */
export function priceCharge(
  charge: Charge,
  usage: DecimalString | GroupedUsage,
  currency: CurrencyInput,
  options: PriceChargeOptions = {},
): PricedLine {
  const resolved = resolveCurrency(currency);
  const { errors } = parseCharge(charge);
  if (errors.length > 0) {
    throw new PricingError(
      'PRICING.INVALID_CHARGE',
      errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      undefined,
      errors,
    );
  }
  const { quantity, rows } = exactRows(charge, usage, options);
  const exactSubtotal = decSum(rows.map((r) => r.exact));
  let exactLine = exactSubtotal;
  const min = charge.min_amount ?? null;
  const max = charge.max_amount ?? null;
  if (min !== null && exactLine.lessThan(min)) exactLine = new Dec(min);
  if (max !== null && exactLine.greaterThan(max)) exactLine = new Dec(max);
  const subtotal = roundToMinor(exactSubtotal, resolved);
  const amount = roundToMinor(exactLine, resolved);
  const breakdown = allocateRows(rows, subtotal, resolved);
  const difference = new Dec(amount).minus(subtotal);
  if (!difference.isZero()) {
    const kind = difference.isNegative() ? 'maximum_adjustment' : 'minimum_adjustment';
    breakdown.push(adjustmentRow(kind, formatMoney(difference, resolved)));
  }
  return { charge_key: charge.key, model: charge.model, quantity: toDecimalString(quantity), amount, breakdown };
}
