import type { AdjustmentRecorded } from '../adjustments/adjustment.events';
import { calculationAdjustmentOf } from '../adjustments/adjustment.decider';
import type { CalculationAdjustment } from '../calculation';
import type { InvoiceClosed, InvoiceVoided } from '../invoices/invoice.events';

/** The billing facts that decide whether an adjustment is pending, as read from the log. */
export const PENDING_ADJUSTMENT_FACT_TYPES = ['AdjustmentRecorded', 'InvoiceClosed', 'InvoiceVoided'] as const;

interface AdjustmentFold {
  recorded: AdjustmentRecorded['data'] | null;
  /** The closed invoice that carries it; null while pending. */
  carriedBy: string | null;
}

/**
 * The adjustments of `customerId` that no invoice carries, folded from the billing facts of ONE tenant
 * in log order, by the rules of the `adjustments` read model: an adjustment is pending from its
 * AdjustmentRecorded until an invoice closes with it in its calculation (the first such invoice keeps
 * it); voiding that invoice makes it pending again. Other events are ignored.
 */
export function pendingAdjustmentsOf(
  facts: Iterable<{ type: string; data: unknown }>,
  customerId: string,
): Array<AdjustmentRecorded['data']> {
  const folds = new Map<string, AdjustmentFold>();
  const fold = (id: string) => {
    let entry = folds.get(id);
    if (!entry) folds.set(id, (entry = { recorded: null, carriedBy: null }));
    return entry;
  };
  for (const fact of facts) {
    switch (fact.type) {
      case 'AdjustmentRecorded': {
        const data = fact.data as AdjustmentRecorded['data'];
        fold(data.adjustment_id).recorded = data;
        break;
      }
      case 'InvoiceClosed': {
        const invoice = fact.data as InvoiceClosed['data'];
        for (const carried of invoice.calculation?.adjustments ?? []) {
          const entry = fold(carried.adjustment_id);
          if (entry.carriedBy === null) entry.carriedBy = invoice.invoice_id;
        }
        break;
      }
      case 'InvoiceVoided': {
        const { invoice_id } = fact.data as InvoiceVoided['data'];
        for (const entry of folds.values()) if (entry.carriedBy === invoice_id) entry.carriedBy = null;
        break;
      }
      default:
        break;
    }
  }
  return [...folds.values()]
    .filter((entry) => entry.carriedBy === null && entry.recorded?.customer_id === customerId)
    .map((entry) => entry.recorded as AdjustmentRecorded['data']);
}

/** A pending adjustment: what a calculation carries of it, and its currency. */
export type PendingAdjustment = CalculationAdjustment & { currency: string };

export function pendingAdjustmentOf(recorded: AdjustmentRecorded['data']): PendingAdjustment {
  return { ...calculationAdjustmentOf(recorded), currency: recorded.currency };
}

/**
 * The adjustments a calculation in `currency` carries: those in its currency (another currency cannot
 * be on its invoice), ordered by adjustment_id in code-unit order, whatever order they were read in.
 */
export function carriedAdjustments(pending: readonly PendingAdjustment[], currency: string): CalculationAdjustment[] {
  return pending
    .filter((adjustment) => adjustment.currency === currency)
    .map(({ adjustment_id, kind, amount, reason, invoice_id, charge_key }) => ({
      adjustment_id,
      kind,
      amount,
      reason,
      invoice_id,
      charge_key,
    }))
    .sort((a, b) => (a.adjustment_id < b.adjustment_id ? -1 : a.adjustment_id > b.adjustment_id ? 1 : 0));
}
