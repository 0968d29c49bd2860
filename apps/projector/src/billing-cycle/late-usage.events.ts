import type { DecimalString } from '#domain';
import { streamName } from '#ledger';

/**
 * `LateUsageChecked`, in `<tenant>:late_usage-<invoice_id>`: the billing cycle looked again at a closed
 * invoice whose usage may have changed after it closed (late events, backfills, voids), recomputed its
 * lines under the same plan version and meter versions, and decided these late-usage adjustments.
 *
 * The event is the commit point of the check (written BEFORE its adjustments are recorded): a crash
 * after it leaves adjustments to record, and the next check of the invoice records them first, under
 * the ids written here, so nothing is recorded twice or lost. Its `lines` say what has been billed
 * for each line so far (the closed amount plus the adjustments), so each check adjusts only the
 * difference since the last one.
 */
export const LATE_USAGE_STREAM_CATEGORY = 'late_usage';
export const LATE_USAGE_CHECKED = 'LateUsageChecked';

export interface LateUsageLine {
  charge_key: string;
  /** The line's usage checksum in this recomputation (null: a line without usage). */
  usage_checksum: string | null;
  /** Billed for the line so far, after this check's adjustment: the recomputed amount. */
  billed_amount: DecimalString;
}

export interface PlannedAdjustment {
  adjustment_id: string;
  charge_key: string;
  /** recomputed_amount - original_amount, never zero. */
  amount: DecimalString;
  /** What was billed for the line before this check. */
  original_amount: DecimalString;
  recomputed_amount: DecimalString;
}

export interface LateUsageChecked {
  type: typeof LATE_USAGE_CHECKED;
  data: {
    invoice_id: string;
    invoice_number: string;
    customer_id: string;
    currency: string;
    /** The `late_usage` read model's change sequence this check covered: every change up to it. */
    through_seq: number;
    checked_at: string;
    /** The recomputation's calculation id; null when the invoice has no usage to recompute. */
    calculation_id: string | null;
    lines: LateUsageLine[];
    adjustments: PlannedAdjustment[];
  };
}

export const lateUsageStream = (tenantId: string, invoiceId: string) =>
  streamName(tenantId, LATE_USAGE_STREAM_CATEGORY, invoiceId);
