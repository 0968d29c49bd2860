import type { DecimalString } from '../../decimal';
import type { AdjustmentKind } from '../calculation';

/**
 * Adjustments: corrections recorded after an invoice closed, never edits of it. A late usage event
 * for a closed period becomes a `late_usage` adjustment (the difference its recomputed line makes);
 * finance records `manual` ones. Each is pending until an invoice carries it (the `adjustments` read
 * model), and each posts a balanced journal entry when recorded (libs/ledger/src/journal).
 *
 * Stream: `<tenant>:adjustment-<adjustment_id>` (`streamName(tenant, ADJUSTMENT_STREAM_CATEGORY, id)`).
 */
export const ADJUSTMENT_STREAM_CATEGORY = 'adjustment';

export const ADJUSTMENT_EVENT_TYPES = ['AdjustmentRecorded'] as const;

/** The line of a closed invoice a late-usage adjustment corrects, before and after recomputation. */
export interface AdjustmentLine {
  charge_key: string;
  original_amount: DecimalString;
  recomputed_amount: DecimalString;
}

export interface AdjustmentRecorded {
  type: 'AdjustmentRecorded';
  data: {
    adjustment_id: string;
    customer_id: string;
    /** Signed money in `currency`: positive charges the customer, negative credits them. Never zero. */
    amount: DecimalString;
    currency: string;
    reason: string;
    kind: AdjustmentKind;
    /** The closed invoice it corrects; always set for late usage, optional for manual adjustments. */
    invoice_id: string | null;
    /** Late usage only: the corrected line (amount = recomputed_amount - original_amount). */
    line: AdjustmentLine | null;
    recorded_at: string;
  };
}

export type AdjustmentEvent = AdjustmentRecorded;
