import { Dec, type DecimalString } from '../decimal';
import { formatMoney, resolveCurrency, roundToMinor, sumMoney, type CurrencyInput } from '../money';
import { PricingError, type PricedLine } from './charge';

export const MINIMUM_COMMITMENT_KEY = 'minimum_commitment';
const PLAIN_NON_NEGATIVE = /^\d+(\.\d+)?$/;

export interface MinimumCommitmentOptions {
  /** Share of the period covered, 0-1, for a partial first or last period. Default 1. */
  proration_factor?: DecimalString;
}

/**
 * Plan-level minimum commitment: when the lines of a period sum to less than the commitment, a
 * true-up line for the shortfall is appended (the lines themselves are never changed). No
 * commitment, or lines that reach it, return the lines as they are. The commitment is prorated by
 * the factor, then rounded once like any line.
 */
export function applyMinimumCommitment(
  lines: readonly PricedLine[],
  commitment: DecimalString | null | undefined,
  currency: CurrencyInput,
  options: MinimumCommitmentOptions = {},
): PricedLine[] {
  if (commitment === null || commitment === undefined) return [...lines];
  const resolved = resolveCurrency(currency);
  const factorText = options.proration_factor ?? '1';
  if (!PLAIN_NON_NEGATIVE.test(commitment)) {
    throw new PricingError(
      'PRICING.INVALID_COMMITMENT',
      `minimum_commitment must be a non-negative decimal, got "${commitment}"`,
      'minimum_commitment',
    );
  }
  if (!PLAIN_NON_NEGATIVE.test(factorText) || new Dec(factorText).greaterThan(1)) {
    throw new PricingError(
      'PRICING.INVALID_PRORATION',
      `proration_factor must be a decimal from 0 to 1, got "${factorText}"`,
      'proration_factor',
    );
  }
  const factor = new Dec(factorText);
  const target = roundToMinor(factor.times(commitment), resolved);
  const total = sumMoney(
    lines.map((line) => line.amount),
    resolved,
  );
  const shortfall = new Dec(target).minus(total);
  if (!shortfall.greaterThan(0)) return [...lines];
  const amount = formatMoney(shortfall, resolved);
  return [
    ...lines,
    {
      charge_key: MINIMUM_COMMITMENT_KEY,
      model: 'minimum_commitment',
      quantity: '1',
      amount,
      breakdown: [
        {
          kind: 'commitment_true_up',
          tier: null,
          from: null,
          up_to: null,
          group: null,
          quantity: '1',
          unit_price: target,
          flat_fee: null,
          amount,
        },
      ],
    },
  ];
}
