import { canonicalJson, type CalculationAdjustment, type CalculationLine, type ClosedInvoice } from '#domain';

/** Where a recorded invoice and its reproduction first disagree. */
export interface InvoiceDifference {
  /** The line (or the adjustment's charge) the difference is on; null for the invoice's own members. */
  charge_key: string | null;
  /**
   * The member, as a path: a line's `quantity`, `amount`, `breakdown`, `usage_checksum`…; `line` when a
   * line exists on one side only; `adjustments.<id>[.<member>]`; `calculation.checksum`, `total`,
   * `checksum`… for the rest of the document.
   */
  field: string;
  recorded: unknown;
  recomputed: unknown;
}

type Members<T> = ReadonlyArray<keyof T & string>;

const HEADER: Members<ClosedInvoice> = [
  'invoice_id',
  'number',
  'customer_id',
  'subscription_id',
  'currency',
  'period_start',
  'period_end',
];
const CALCULATION_HEADER = ['plan_key', 'plan_version'] as const;
const LINE: Members<CalculationLine> = [
  'metric_key',
  'model',
  'quantity',
  'amount',
  'meter_versions',
  'breakdown',
  'usage_checksum',
];
const ADJUSTMENT: Members<CalculationAdjustment> = ['kind', 'amount', 'reason', 'invoice_id', 'charge_key'];
const CALCULATION_SEAL = ['subtotal', 'total', 'checksum', 'id'] as const;
const PLAN: Members<ClosedInvoice['plan']> = [
  'key',
  'version',
  'name',
  'currency',
  'billing_interval',
  'charges',
  'minimum_commitment',
];
const DOCUMENT: Members<ClosedInvoice> = [
  'closed_at',
  'customer',
  'tax_amount',
  'tax_lines',
  'subtotal',
  'adjustments_total',
  'total',
  'checksum',
];

/** Equal as JSON values (key order aside). Wrapped in an array: a missing member compares as null. */
const same = (a: unknown, b: unknown) => canonicalJson([a]) === canonicalJson([b]);

function firstOf<T>(
  recorded: T,
  recomputed: T,
  members: Members<T>,
  at: (member: string) => Omit<InvoiceDifference, 'recorded' | 'recomputed'>,
): InvoiceDifference | null {
  const member = members.find((m) => !same(recorded?.[m], recomputed?.[m]));
  return member === undefined
    ? null
    : { ...at(member), recorded: recorded?.[member], recomputed: recomputed?.[member] };
}

/**
 * The first difference between a recorded closed invoice and the one rebuilt from the log, in the
 * order a reader checks an invoice: who and when, then each line (in the recorded order, then lines
 * only the reproduction has), the adjustments, the calculation's totals and seal, the snapshots and
 * tax, the invoice totals, and last its checksum (which catches an edit anywhere else in the
 * document). Null: the two are the same document.
 */
export function firstInvoiceDifference(recorded: ClosedInvoice, rebuilt: ClosedInvoice): InvoiceDifference | null {
  const invoiceMember = (member: string) => ({ charge_key: null, field: member });
  const recordedCalc = recorded.calculation ?? ({} as ClosedInvoice['calculation']);
  const rebuiltCalc = rebuilt.calculation;
  return (
    firstOf(recorded, rebuilt, HEADER, invoiceMember) ??
    firstOf(recordedCalc, rebuiltCalc, CALCULATION_HEADER, (m) => invoiceMember(`calculation.${m}`)) ??
    lineDifference(recordedCalc.line_items ?? [], rebuiltCalc.line_items) ??
    adjustmentDifference(recordedCalc.adjustments ?? [], rebuiltCalc.adjustments) ??
    firstOf(recordedCalc, rebuiltCalc, CALCULATION_SEAL, (m) => invoiceMember(`calculation.${m}`)) ??
    firstOf(recorded.plan, rebuilt.plan, PLAN, (m) => invoiceMember(`plan.${m}`)) ??
    firstOf(recorded, rebuilt, DOCUMENT, invoiceMember)
  );
}

function lineDifference(
  recorded: readonly CalculationLine[],
  rebuilt: readonly CalculationLine[],
): InvoiceDifference | null {
  const rebuiltByKey = new Map(rebuilt.map((line) => [line?.charge_key, line]));
  for (const line of recorded) {
    const other = rebuiltByKey.get(line?.charge_key);
    if (other === undefined)
      return { charge_key: line?.charge_key ?? null, field: 'line', recorded: line, recomputed: null };
    const found = firstOf(line, other, LINE, (member) => ({ charge_key: line.charge_key, field: member }));
    if (found) return found;
  }
  const recordedKeys = new Set(recorded.map((line) => line?.charge_key));
  const extra = rebuilt.find((line) => !recordedKeys.has(line.charge_key));
  if (extra) return { charge_key: extra.charge_key, field: 'line', recorded: null, recomputed: extra };
  const order = (lines: readonly CalculationLine[]) => lines.map((line) => line?.charge_key);
  return same(order(recorded), order(rebuilt))
    ? null
    : { charge_key: null, field: 'line_items', recorded: order(recorded), recomputed: order(rebuilt) };
}

function adjustmentDifference(
  recorded: readonly CalculationAdjustment[],
  rebuilt: readonly CalculationAdjustment[],
): InvoiceDifference | null {
  const field = (a: CalculationAdjustment, member?: string) =>
    member === undefined ? `adjustments.${a.adjustment_id}` : `adjustments.${a.adjustment_id}.${member}`;
  const rebuiltById = new Map(rebuilt.map((a) => [a.adjustment_id, a]));
  for (const adjustment of recorded) {
    const other = rebuiltById.get(adjustment?.adjustment_id);
    const chargeKey = adjustment?.charge_key ?? null;
    if (other === undefined) {
      return { charge_key: chargeKey, field: field(adjustment), recorded: adjustment, recomputed: null };
    }
    const found = firstOf(adjustment, other, ADJUSTMENT, (member) => ({
      charge_key: chargeKey,
      field: field(adjustment, member),
    }));
    if (found) return found;
  }
  const recordedIds = new Set(recorded.map((a) => a?.adjustment_id));
  const extra = rebuilt.find((a) => !recordedIds.has(a.adjustment_id));
  return extra ? { charge_key: extra.charge_key, field: field(extra), recorded: null, recomputed: extra } : null;
}
