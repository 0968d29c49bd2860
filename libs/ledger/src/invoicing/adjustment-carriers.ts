import { BillingError, type Calculation, type InvoiceState } from '#domain';
import type { EventStore } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { invoiceNumbersStream, loadInvoice, readOrEmpty } from './invoice-store';

/**
 * A pending adjustment rides on ONE invoice. A calculation reads the pending adjustments from the
 * `adjustments` read model, after a barrier, so an invoice closed before it is seen; but two invoices
 * of one customer calculated at the same moment both carry the same pending adjustment, and whichever
 * closes second would charge (or credit) it again. The close's commit point decides: a number
 * assignment names the adjustments its invoice carries (`adjustment_ids`), and no invoice gets a
 * number while another invoice, not voided, holds an assignment naming one of its adjustments.
 * Checked where assignments are serialised (the numbers stream: its expected revision in
 * assignInvoiceNumber, its lock in the billing cycle's batch), so two closes cannot both pass.
 *
 * Assignments written before `adjustment_ids` existed name none: those invoices closed long before
 * any calculation made now, which the read model reflects.
 */
export class AdjustmentCarriedError extends BillingError {
  constructor(
    readonly invoiceId: string,
    /** adjustment id -> the invoice that carries it. */
    readonly carried: ReadonlyMap<string, string>,
  ) {
    const list = [...carried].map(([adjustment, carrier]) => `${adjustment} (invoice ${carrier})`).join(', ');
    super(
      'INVOICE.ADJUSTMENT_CARRIED',
      `invoice ${invoiceId} carries adjustments another invoice carries already: ${list}; recalculate it`,
    );
  }
}

/** The adjustments an invoice closing with this calculation carries, as its assignment records them. */
export function adjustmentIdsOf(calculation: Calculation): string[] {
  return calculation.adjustments.map((adjustment) => adjustment.adjustment_id);
}

/** adjustmentIdsOf a draft's calculation; none for anything else. */
export function carriedAdjustmentIds(state: InvoiceState): string[] {
  return state.status === 'draft' ? adjustmentIdsOf(state.draft.calculation) : [];
}

/**
 * Which of `adjustmentIds` an invoice other than `invoiceId` carries: an invoice with a number
 * assignment naming it, not voided since (a void makes its adjustments pending again).
 */
export async function adjustmentsCarriedElsewhere(
  store: EventStore,
  tenantId: string,
  invoiceId: string,
  adjustmentIds: readonly string[],
): Promise<Map<string, string>> {
  const carried = new Map<string, string>();
  for (const [adjustment, carriers] of await adjustmentCarriers(store, tenantId, adjustmentIds)) {
    const other = carriers.find((carrier) => carrier !== invoiceId);
    if (other !== undefined) carried.set(adjustment, other);
  }
  return carried;
}

/**
 * The invoices (not voided) whose number assignments name each of `adjustmentIds`, in one read of
 * the tenant's numbers stream (only the two members it needs, on Postgres) and of the candidates'
 * streams. Adjustments no such invoice carries are absent.
 */
export async function adjustmentCarriers(
  store: EventStore,
  tenantId: string,
  adjustmentIds: Iterable<string>,
): Promise<Map<string, string[]>> {
  const wanted = new Set(adjustmentIds);
  const carriers = new Map<string, string[]>();
  if (wanted.size === 0) return carriers;
  const voided = new Map<string, Promise<boolean>>();
  const isVoid = (invoice: string) => {
    if (!voided.has(invoice)) {
      voided.set(
        invoice,
        loadInvoice(store, tenantId, invoice).then(({ state }) => state.status === 'void'),
      );
    }
    return voided.get(invoice)!;
  };
  for (const { invoice, adjustments } of await assignmentsNamingAdjustments(store, tenantId)) {
    for (const adjustment of adjustments) {
      if (!wanted.has(adjustment) || (await isVoid(invoice))) continue;
      carriers.set(adjustment, [...(carriers.get(adjustment) ?? []), invoice]);
    }
  }
  return carriers;
}

async function assignmentsNamingAdjustments(
  store: EventStore,
  tenantId: string,
): Promise<Array<{ invoice: string; adjustments: string[] }>> {
  const stream = invoiceNumbersStream(tenantId);
  if (store instanceof PostgresEventStore) {
    const events = await store.readStreamFields(stream, { strings: ['invoice_id'], json: ['adjustment_ids'] });
    return events.flatMap((event) => {
      const [invoice] = event.strings;
      const [ids] = event.json;
      if (invoice === null || ids === null) return [];
      return [{ invoice, adjustments: JSON.parse(ids) as string[] }];
    });
  }
  return (await readOrEmpty(store, stream)).flatMap((event) => {
    const data = event.data as { invoice_id: string; adjustment_ids?: string[] };
    return data.adjustment_ids ? [{ invoice: data.invoice_id, adjustments: data.adjustment_ids }] : [];
  });
}
