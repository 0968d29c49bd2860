import { Dec, toFixedString, type DecimalString } from '../../decimal';
import { BillingError } from '../billing.errors';
import type { Calculation, CalculationLine } from '../calculation';
import type { AdjustmentLine } from './adjustment.events';

export interface LateUsageDifference {
  charge_key: string;
  /** recomputed - original, in the lines' minor units; never zero. */
  amount: DecimalString;
  line: AdjustmentLine;
}

function decimals(amount: DecimalString): number {
  const point = amount.indexOf('.');
  return point < 0 ? 0 : amount.length - point - 1;
}

function sameVersions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((version, index) => version === b[index]);
}

/**
 * What late usage changes on one closed line: the recomputed line (same charge, same plan version,
 * same meter versions, the period's usage now including the late events) minus the closed one. Null
 * when nothing changes: no adjustment. Comparing under other versions would bill a rule change, not
 * usage, so that is ADJUSTMENT.VERSION_MISMATCH.
 */
export function lateUsageAdjustment(
  closedLine: CalculationLine,
  recomputedLine: CalculationLine,
): LateUsageDifference | null {
  const mismatch = (what: string) =>
    new BillingError(
      'ADJUSTMENT.VERSION_MISMATCH',
      `charge ${closedLine.charge_key}: the recomputed line has another ${what}; late usage is priced as the invoice was`,
    );
  if (recomputedLine.charge_key !== closedLine.charge_key) throw mismatch('charge key');
  if (recomputedLine.model !== closedLine.model || recomputedLine.metric_key !== closedLine.metric_key) {
    throw mismatch('charge model or metric');
  }
  if (!sameVersions(closedLine.meter_versions, recomputedLine.meter_versions)) throw mismatch('set of meter versions');
  const scale = Math.max(decimals(closedLine.amount), decimals(recomputedLine.amount));
  const difference = new Dec(recomputedLine.amount).minus(closedLine.amount);
  if (difference.isZero()) return null;
  return {
    charge_key: closedLine.charge_key,
    amount: toFixedString(difference, scale),
    line: {
      charge_key: closedLine.charge_key,
      original_amount: closedLine.amount,
      recomputed_amount: recomputedLine.amount,
    },
  };
}

/**
 * Every line difference between a closed invoice's calculation and its recomputation (same customer,
 * subscription, period, currency and plan version), in the closed calculation's line order.
 */
export function lateUsageAdjustments(closed: Calculation, recomputed: Calculation): LateUsageDifference[] {
  const scope = [
    'customer_id',
    'subscription_id',
    'currency',
    'period_start',
    'period_end',
    'plan_key',
    'plan_version',
  ] as const;
  const changed = scope.filter((member) => closed[member] !== recomputed[member]);
  if (changed.length > 0) {
    throw new BillingError(
      'ADJUSTMENT.VERSION_MISMATCH',
      `the recomputation differs in ${changed.join(', ')}: it does not recompute the same invoice`,
    );
  }
  const closedLines = new Map(closed.line_items.map((line) => [line.charge_key, line]));
  const recomputedLines = new Map(recomputed.line_items.map((line) => [line.charge_key, line]));
  const keys = [...closedLines.keys(), ...[...recomputedLines.keys()].filter((key) => !closedLines.has(key))];
  return keys
    .map((key) => {
      const before = closedLines.get(key) ?? absentTrueUp(recomputedLines.get(key)!);
      const after = recomputedLines.get(key) ?? absentTrueUp(before);
      return lateUsageAdjustment(before, after);
    })
    .filter((difference): difference is LateUsageDifference => difference !== null);
}

/**
 * The minimum-commitment true-up is the only line that may appear or disappear with usage (usage
 * crossing the commitment); on the side where it is missing it counts as zero. Any other line
 * present on one side only means another plan version.
 */
function absentTrueUp(present: CalculationLine): CalculationLine {
  if (present.model !== 'minimum_commitment') {
    throw new BillingError(
      'ADJUSTMENT.VERSION_MISMATCH',
      `charge ${present.charge_key} is priced on one side only: the recomputation prices other charges`,
    );
  }
  return { ...present, amount: toFixedString(new Dec(0), decimals(present.amount)), breakdown: [] };
}
