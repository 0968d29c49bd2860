import { createHash, randomUUID } from 'node:crypto';
import {
  BillingError,
  calculateSubscription,
  formatMoney,
  isClosedState,
  lateUsageAdjustment,
  toGroupedUsage,
  usageMeasuresOf,
  usageQuantity,
  type Calculation,
  type CalculationInputs,
  type CalculationLine,
  type ChargeUsage,
  type ClosedInvoice,
} from '#domain';
import { WrongExpectedRevisionError, loadInvoice, readOrEmpty, recordAdjustment } from '#ledger';
import { findCalculation } from '../../../api/src/billing/calculation/charges-calculated';
import { withSharedSnapshot } from '../../../api/src/usage/shared-snapshot';
import { scanUsage } from '../../../api/src/usage/usage-reader';
import {
  LATE_USAGE_CHECKED,
  lateUsageStream,
  type LateUsageChecked,
  type LateUsageLine,
  type PlannedAdjustment,
} from './late-usage.events';
import { metadataOf, type TenantRun } from './tenant-run';

/**
 * Checks one closed invoice whose usage may have changed since it closed, and records what changed as
 * late-usage adjustments (never an edit of the invoice):
 *
 * 1. a previous check's adjustments that a crash left unrecorded are recorded first (its event names them);
 * 2. the invoice's lines are recomputed by the same pure calculation from the inputs its calculation was
 *    made of (ChargesCalculated: the same plan version, overrides, prorations and METER VERSIONS), with
 *    only the usage measured again, by the exact scan of the usage read model over the same window;
 * 3. each line's difference from what is billed for it so far (the closed amount plus earlier late-usage
 *    adjustments) becomes one AdjustmentRecorded (kind `late_usage`) referencing the invoice;
 * 4. LateUsageChecked is appended first, with the adjustments' ids, then they are recorded.
 *
 * An adjustment's id derives from the invoice, the line, the line's new usage checksum and the number of
 * the check, so running a check again records nothing twice. Returns false when there was nothing to check
 * (the invoice is void, or a check already covered `throughSeq`).
 */
export async function checkLateUsage(run: TenantRun, invoiceId: string, throughSeq: number): Promise<boolean> {
  const { state } = await loadInvoice(run.store, run.tenantId, invoiceId);
  if (!isClosedState(state) || state.status === 'void') return false;
  const invoice = state.invoice;
  const stream = lateUsageStream(run.tenantId, invoiceId);
  const previous = await readOrEmpty(run.store, stream);
  const last = previous.at(-1)?.data as LateUsageChecked['data'] | undefined;
  if (last) await recordPlanned(run, invoice, last);
  if (last && last.through_seq >= throughSeq) return false;
  const recomputed = await recompute(run, invoice);
  const billed = billedAmounts(invoice, last);
  const planned = recomputed === null ? [] : planLateUsage(invoice, billed, recomputed, previous.length);
  const data: LateUsageChecked['data'] = {
    invoice_id: invoiceId,
    invoice_number: invoice.number,
    customer_id: invoice.customer_id,
    currency: invoice.currency,
    through_seq: throughSeq,
    checked_at: run.now.toISOString(),
    calculation_id: recomputed?.id ?? null,
    lines: recomputed === null ? (last?.lines ?? closedLines(invoice)) : linesAfter(recomputed, billed, planned),
    adjustments: planned.map((p) => p.adjustment),
  };
  try {
    await run.store.append(stream, [{ id: randomUUID(), type: LATE_USAGE_CHECKED, data, metadata: metadataOf(run) }], {
      expectedRevision: previous.length === 0 ? 'no_stream' : previous.length - 1,
    });
  } catch (error) {
    // Another cycle (a replica that took the lease over mid-tick) checked it first: its check stands.
    if (error instanceof WrongExpectedRevisionError) return false;
    throw error;
  }
  await recordPlanned(run, invoice, data);
  return true;
}

/** Records a check's adjustments (each one is a no-op when already recorded). */
async function recordPlanned(run: TenantRun, invoice: ClosedInvoice, check: LateUsageChecked['data']): Promise<void> {
  for (const adjustment of check.adjustments) {
    const decision = await recordAdjustment({
      store: run.store,
      tenantId: run.tenantId,
      command: {
        type: 'RecordAdjustment',
        adjustment_id: adjustment.adjustment_id,
        customer_id: invoice.customer_id,
        amount: adjustment.amount,
        currency: invoice.currency,
        reason:
          `late usage for ${invoice.number} (${invoice.period_start} to ${invoice.period_end}), ` +
          `${adjustment.charge_key}: ${adjustment.original_amount} -> ${adjustment.recomputed_amount}`,
        kind: 'late_usage',
        invoice_id: invoice.invoice_id,
        line: {
          charge_key: adjustment.charge_key,
          original_amount: adjustment.original_amount,
          recomputed_amount: adjustment.recomputed_amount,
        },
        at: new Date(check.checked_at),
      },
      metadata: metadataOf(run),
    });
    if (decision.events.length > 0) run.report.adjustments += 1;
  }
}

/** The invoice's calculation again with today's usage; null when it prices no usage at all. */
async function recompute(run: TenantRun, invoice: ClosedInvoice): Promise<Calculation | null> {
  if (invoice.calculation.line_items.every((line) => line.metric_key === null)) return null;
  const record = await findCalculation(run.store, run.tenantId, invoice.calculation.id);
  if (record === null) {
    throw new BillingError(
      'CALCULATION.INVALID',
      `invoice ${invoice.invoice_id}: no ChargesCalculated record of ${invoice.calculation.id} to recompute it from`,
    );
  }
  const usage = await measureUsage(run, record.inputs);
  return calculateSubscription({ ...record.inputs, usage });
}

/** Every usage charge measured again over the same window, by the exact scan, in one snapshot. */
async function measureUsage(run: TenantRun, inputs: CalculationInputs): Promise<ChargeUsage[]> {
  const customerId = inputs.subscription.customer_id;
  const window = { start: inputs.usage_window.start, end: inputs.usage_window.end_exclusive };
  return withSharedSnapshot(run.pool, 2, async (clients) => {
    const usage: ChargeUsage[] = [];
    for (const measure of usageMeasuresOf(inputs.subscription.charges)) {
      // The versions the invoice was metered with, as its inputs recorded them: a version published
      // since never reprices a closed period.
      const metric = inputs.metrics.find((m) => m.key === measure.metric_key);
      if (!metric) throw new BillingError('CALCULATION.INVALID', `no versions of ${measure.metric_key} in the inputs`);
      const exact = await scanUsage(
        clients,
        { tenantId: run.tenantId, customerId, metricKey: measure.metric_key },
        metric,
        window,
        measure.dimensions === undefined ? {} : { groupBy: measure.dimensions },
      );
      usage.push({
        charge_key: measure.key,
        metric_key: measure.metric_key,
        quantity: usageQuantity(exact.value),
        groups: measure.dimensions === undefined ? null : toGroupedUsage(exact.groups ?? []),
        meter_versions: exact.meter_versions,
        usage_checksum: exact.checksum,
      });
    }
    return usage;
  });
}

function closedLines(invoice: ClosedInvoice): LateUsageLine[] {
  return invoice.calculation.line_items.map((line) => ({
    charge_key: line.charge_key,
    usage_checksum: line.usage_checksum,
    billed_amount: line.amount,
  }));
}

/** What is billed for each line so far: as the last check left it, else as the invoice closed. */
function billedAmounts(invoice: ClosedInvoice, last: LateUsageChecked['data'] | undefined): Map<string, string> {
  return new Map((last?.lines ?? closedLines(invoice)).map((line) => [line.charge_key, line.billed_amount]));
}

export interface Planned {
  charge_key: string;
  adjustment: PlannedAdjustment;
}

/**
 * One adjustment per line whose recomputed amount differs from what is billed for it. Lines are the
 * invoice's, plus any the recomputation adds or a previous check billed: only the minimum-commitment
 * true-up may come and go with usage (the domain refuses anything else as another plan version).
 */
export function planLateUsage(
  invoice: Pick<ClosedInvoice, 'invoice_id' | 'currency' | 'calculation'>,
  billed: ReadonlyMap<string, string>,
  recomputed: Calculation,
  checkIndex: number,
): Planned[] {
  const closed = new Map(invoice.calculation.line_items.map((line) => [line.charge_key, line]));
  const now = new Map(recomputed.line_items.map((line) => [line.charge_key, line]));
  const keys = [...new Set([...closed.keys(), ...now.keys(), ...billed.keys()])];
  const zero = formatMoney('0', invoice.currency);
  const planned: Planned[] = [];
  for (const key of keys) {
    const shape = closed.get(key) ?? now.get(key) ?? trueUpLine(key, zero);
    const before: CalculationLine = { ...absentAsZero(shape, closed.has(key), zero), amount: billed.get(key) ?? zero };
    const after = now.get(key) ?? absentAsZero(before, false, zero);
    const difference = lateUsageAdjustment(before, after);
    if (difference === null) continue;
    const checksum = after.usage_checksum ?? recomputed.checksum;
    planned.push({
      charge_key: key,
      adjustment: {
        adjustment_id: adjustmentIdFor(invoice.invoice_id, key, checksum, checkIndex),
        charge_key: key,
        amount: formatMoney(difference.amount, invoice.currency),
        original_amount: difference.line.original_amount,
        recomputed_amount: difference.line.recomputed_amount,
      },
    });
  }
  return planned;
}

/** A line missing on one side counts as zero; only the minimum-commitment true-up may be missing. */
function absentAsZero(line: CalculationLine, present: boolean, zero: string): CalculationLine {
  if (present) return line;
  if (line.model !== 'minimum_commitment') {
    throw new BillingError(
      'ADJUSTMENT.VERSION_MISMATCH',
      `charge ${line.charge_key} is priced on one side only: the recomputation prices other charges`,
    );
  }
  return { ...line, quantity: '0', amount: zero, breakdown: [] };
}

function trueUpLine(chargeKey: string, zero: string): CalculationLine {
  return {
    charge_key: chargeKey,
    metric_key: null,
    model: 'minimum_commitment',
    quantity: '0',
    amount: zero,
    meter_versions: [],
    breakdown: [],
    usage_checksum: null,
  };
}

export function linesAfter(
  recomputed: Calculation,
  billed: ReadonlyMap<string, string>,
  planned: readonly Planned[],
): LateUsageLine[] {
  const adjusted = new Map(planned.map((p) => [p.charge_key, p.adjustment.recomputed_amount]));
  const lines = recomputed.line_items.map((line) => ({
    charge_key: line.charge_key,
    usage_checksum: line.usage_checksum,
    billed_amount: adjusted.get(line.charge_key) ?? billed.get(line.charge_key) ?? line.amount,
  }));
  // A true-up billed before and gone now was adjusted to zero: it stays listed, at zero.
  for (const [key, amount] of adjusted) {
    if (!lines.some((line) => line.charge_key === key))
      lines.push({ charge_key: key, usage_checksum: null, billed_amount: amount });
  }
  return lines;
}

/**
 * `adj_lu_` + 24 hex digits of sha256(invoice, line, the line's new usage checksum, the check's number):
 * the same check run again gives the same ids; a later check of the same usage (usage back where it was
 * after a void) is another check number, so it is never mistaken for the earlier adjustment.
 */
export function adjustmentIdFor(
  invoiceId: string,
  chargeKey: string,
  usageChecksum: string,
  checkIndex: number,
): string {
  const digest = createHash('sha256')
    .update(`abaxus:late-usage:${invoiceId}:${chargeKey}:${usageChecksum}:${checkIndex}`)
    .digest('hex');
  return `adj_lu_${digest.slice(0, 24)}`;
}
