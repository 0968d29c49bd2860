import { fieldPath, type DecimalString, type FieldError } from '../decimal';
import { currencyFor, isCurrencyCode, sumMoney } from '../money';
import type { BreakdownRow, PricedLine } from '../pricing';
import { assertNoFieldErrors, BillingError } from './billing.errors';
import {
  checksumProblems,
  currencyProblems,
  idProblems,
  instantProblems,
  moneyProblems,
  nullableText,
  quantityProblems,
  textProblems,
} from './billing-fields';
import { checksumOf, type Checksum } from './checksum';

export const ADJUSTMENT_KINDS = ['late_usage', 'manual'] as const;
export type AdjustmentKind = (typeof ADJUSTMENT_KINDS)[number];

/** One priced charge of a period, with everything needed to trace it to its usage. */
export interface CalculationLine {
  charge_key: string;
  /** The metric priced; null for flat fees and the minimum-commitment true-up. */
  metric_key: string | null;
  model: PricedLine['model'];
  /** What priceCharge priced (usage, or the proration factor of a flat fee). */
  quantity: DecimalString;
  /** Money, rounded once (priceCharge); the breakdown rows sum to it exactly. */
  amount: DecimalString;
  /** The metric versions that aggregated this line's usage, ascending; [] for lines without usage. */
  meter_versions: number[];
  breakdown: BreakdownRow[];
  /** The exact usage compute's checksum (sorted usage ids and values); null for lines without usage. */
  usage_checksum: Checksum | null;
}

/** A pending adjustment carried into a calculation (and so into the invoice that closes with it). */
export interface CalculationAdjustment {
  adjustment_id: string;
  kind: AdjustmentKind;
  /** Signed money: positive charges the customer, negative credits them. */
  amount: DecimalString;
  reason: string;
  /** The closed invoice it corrects (late usage); null when it corrects none. */
  invoice_id: string | null;
  charge_key: string | null;
}

/** What a calculation is made of: its inputs (who, when, which plan and usage) and its priced lines. */
export interface CalculationInput {
  customer_id: string;
  subscription_id: string;
  currency: string;
  /** [period_start, period_end): RFC 3339 UTC; the end is exclusive. */
  period_start: string;
  period_end: string;
  plan_key: string;
  plan_version: number;
  line_items: CalculationLine[];
  adjustments: CalculationAdjustment[];
}

/**
 * A sealed calculation: totals and a checksum over everything else. The id is derived from the
 * checksum, so the same inputs and outputs always give the same calculation id, on any machine.
 */
export interface Calculation extends CalculationInput {
  /** `calc_` + the first 32 hex digits of the checksum. */
  id: string;
  /** Sum of the line amounts. */
  subtotal: DecimalString;
  /** subtotal + the adjustments (tax is not part of a calculation: it is added at close). */
  total: DecimalString;
  /** checksumOf(the calculation without `id` and `checksum`). */
  checksum: Checksum;
}

export function calculationIdFor(checksum: Checksum): string {
  return `calc_${checksum.slice('sha256:'.length, 'sha256:'.length + 32)}`;
}

/** Validates the input, computes the totals, and seals it with its checksum and id. */
export function sealCalculation(input: CalculationInput): Calculation {
  assertNoFieldErrors('CALCULATION.INVALID', calculationProblems(input));
  const currency = currencyFor(input.currency);
  const subtotal = sumMoney(
    input.line_items.map((line) => line.amount),
    currency,
  );
  const total = sumMoney([subtotal, ...input.adjustments.map((adjustment) => adjustment.amount)], currency);
  const content = { ...contentOf(input), subtotal, total };
  const checksum = checksumOf(content);
  return { ...content, id: calculationIdFor(checksum), checksum };
}

/**
 * Recomputes a calculation from its content and refuses it unless totals, checksum and id are the
 * ones its content gives: a calculation cannot be edited after it was sealed.
 */
export function verifyCalculation(calculation: Calculation): Calculation {
  const resealed = sealCalculation(calculation);
  for (const member of ['subtotal', 'total', 'checksum', 'id'] as const) {
    if (resealed[member] !== calculation[member]) {
      throw new BillingError(
        'CALCULATION.CHECKSUM_MISMATCH',
        `calculation ${String(calculation.id)}: ${member} is not the one its content gives (${resealed[member]})`,
      );
    }
  }
  return resealed;
}

/** A calculation line from priceCharge's output and the exact usage compute behind it. */
export function calculationLineOf(
  priced: PricedLine,
  usage: { metric_key: string | null; meter_versions: number[]; usage_checksum: Checksum | null },
): CalculationLine {
  return {
    charge_key: priced.charge_key,
    metric_key: usage.metric_key,
    model: priced.model,
    quantity: priced.quantity,
    amount: priced.amount,
    meter_versions: [...usage.meter_versions],
    breakdown: priced.breakdown,
    usage_checksum: usage.usage_checksum,
  };
}

/** Only the declared members, so extra members a caller's object carries never enter a checksum. */
function contentOf(input: CalculationInput): CalculationInput {
  const { customer_id, subscription_id, currency, period_start, period_end, plan_key, plan_version } = input;
  return {
    customer_id,
    subscription_id,
    currency,
    period_start,
    period_end,
    plan_key,
    plan_version,
    line_items: input.line_items.map((line) => ({
      charge_key: line.charge_key,
      metric_key: line.metric_key,
      model: line.model,
      quantity: line.quantity,
      amount: line.amount,
      meter_versions: line.meter_versions,
      breakdown: line.breakdown,
      usage_checksum: line.usage_checksum,
    })),
    adjustments: input.adjustments.map((a) => ({
      adjustment_id: a.adjustment_id,
      kind: a.kind,
      amount: a.amount,
      reason: a.reason,
      invoice_id: a.invoice_id,
      charge_key: a.charge_key,
    })),
  };
}

export function calculationProblems(input: CalculationInput, prefix?: string): FieldError[] {
  const at = (member: string) => fieldPath(prefix, member);
  if (typeof input !== 'object' || input === null) return [{ field: prefix ?? 'calculation', message: 'is required' }];
  const problems: FieldError[] = [
    ...idProblems(input.customer_id, at('customer_id')),
    ...idProblems(input.subscription_id, at('subscription_id')),
    ...currencyProblems(input.currency, at('currency')),
    ...instantProblems(input.period_start, at('period_start')),
    ...instantProblems(input.period_end, at('period_end')),
    ...textProblems(input.plan_key, at('plan_key'), 200),
  ];
  if (problems.length === 0 && Date.parse(input.period_end) <= Date.parse(input.period_start)) {
    problems.push({ field: at('period_end'), message: 'must be after period_start' });
  }
  if (!Number.isSafeInteger(input.plan_version) || input.plan_version < 1) {
    problems.push({ field: at('plan_version'), message: 'must be a positive integer' });
  }
  if (!isCurrencyCode(input.currency)) return problems;
  if (!Array.isArray(input.line_items)) return [...problems, { field: at('line_items'), message: 'must be an array' }];
  if (!Array.isArray(input.adjustments))
    return [...problems, { field: at('adjustments'), message: 'must be an array' }];
  input.line_items.forEach((line, index) =>
    problems.push(...lineProblems(line, input.currency, at(`line_items[${index}]`))),
  );
  problems.push(
    ...duplicates(
      input.line_items.map((line) => line.charge_key),
      at('line_items'),
      'charge_key',
    ),
  );
  input.adjustments.forEach((adjustment, index) =>
    problems.push(...adjustmentProblems(adjustment, input.currency, at(`adjustments[${index}]`))),
  );
  problems.push(
    ...duplicates(
      input.adjustments.map((a) => a.adjustment_id),
      at('adjustments'),
      'adjustment_id',
    ),
  );
  return problems;
}

function lineProblems(line: CalculationLine, currency: string, prefix: string): FieldError[] {
  const at = (member: string) => fieldPath(prefix, member);
  if (typeof line !== 'object' || line === null) return [{ field: prefix, message: 'must be an object' }];
  const problems = [
    ...textProblems(line.charge_key, at('charge_key'), 200),
    ...nullableText(line.metric_key, at('metric_key'), 200),
    ...textProblems(line.model, at('model'), 50),
    ...quantityProblems(line.quantity, at('quantity')),
    ...moneyProblems(line.amount, currency, at('amount'), 'non_negative'),
    ...checksumProblems(line.usage_checksum, at('usage_checksum'), true),
  ];
  const versions = line.meter_versions;
  if (
    !Array.isArray(versions) ||
    !versions.every((v, i) => Number.isSafeInteger(v) && v >= 1 && (i === 0 || v > versions[i - 1]))
  ) {
    problems.push({ field: at('meter_versions'), message: 'must be ascending positive integers' });
  }
  if (!Array.isArray(line.breakdown)) return [...problems, { field: at('breakdown'), message: 'must be an array' }];
  const rowProblems = line.breakdown.flatMap((row, index) =>
    moneyProblems(row?.amount, currency, at(`breakdown[${index}].amount`)),
  );
  problems.push(...rowProblems);
  if (rowProblems.length === 0 && problems.length === 0 && line.breakdown.length > 0) {
    const sum = sumMoney(
      line.breakdown.map((row) => row.amount),
      currency,
    );
    if (sum !== line.amount) problems.push({ field: at('breakdown'), message: `sums to ${sum}, not the line amount` });
  }
  return problems;
}

function adjustmentProblems(adjustment: CalculationAdjustment, currency: string, prefix: string): FieldError[] {
  const at = (member: string) => fieldPath(prefix, member);
  if (typeof adjustment !== 'object' || adjustment === null) return [{ field: prefix, message: 'must be an object' }];
  const problems = [
    ...idProblems(adjustment.adjustment_id, at('adjustment_id')),
    ...moneyProblems(adjustment.amount, currency, at('amount'), 'non_zero'),
    ...textProblems(adjustment.reason, at('reason'), 500),
    ...(adjustment.invoice_id === null ? [] : idProblems(adjustment.invoice_id, at('invoice_id'))),
    ...nullableText(adjustment.charge_key, at('charge_key'), 200),
  ];
  if (!(ADJUSTMENT_KINDS as readonly string[]).includes(adjustment.kind)) {
    problems.push({ field: at('kind'), message: `must be one of ${ADJUSTMENT_KINDS.join(', ')}` });
  }
  return problems;
}

function duplicates(values: unknown[], field: string, member: string): FieldError[] {
  const seen = new Set<unknown>();
  const repeated = values.filter((value) => (seen.has(value) ? true : (seen.add(value), false)));
  return repeated.length === 0
    ? []
    : [{ field, message: `${member} must be unique (repeated: ${repeated.join(', ')})` }];
}
