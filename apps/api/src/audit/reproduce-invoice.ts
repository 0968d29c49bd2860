import {
  BillingError,
  SubscriptionError,
  closedInvoiceOf,
  invoiceSequenceOf,
  isClosedState,
  usageStreamId,
  type Calculation,
  type CalculationInputs,
  type ClosedInvoice,
  type InvoiceCloseRequest,
  type InvoiceDraft,
} from '#domain';
import {
  StreamNotFoundError,
  loadInvoice,
  readAssignments,
  streamName,
  type Checkpoint,
  type EventStore,
  type InvoiceNumberAssignment,
} from '#ledger';
import { calculate, findCalculation, loadCalculationInputsFromLog, usageMonths } from '../billing/calculation';
import { firstInvoiceDifference, type InvoiceDifference } from './invoice-difference';
import { ReadOnlyEventStore } from './read-only-event-store';

export interface ReproduceInvoiceOptions {
  /** The event store: the only thing a reproduction reads (no read model, no cache, no pool). */
  store: EventStore;
  tenantId: string;
  invoiceId: string;
  /**
   * Called after each read with the events read so far and an estimate of the total (the usage
   * streams' lengths, known after the invoice is read; 0 before). For progress bars.
   */
  onProgress?: (eventsRead: number, eventsExpected: number) => void;
}

/** What `POST /v1/invoices/:id/reproduce` and `abaxus audit reproduce` answer. */
export interface InvoiceReproduction {
  /** The invoice rebuilt from the log is the recorded one, byte for byte (same checksum). */
  match: boolean;
  invoice_id: string;
  number: string;
  /** The invoice's status now (a paid or void invoice still reproduces: its document never changed). */
  status: string;
  /** The recorded InvoiceClosed checksum. */
  checksum: string;
  /** checksumOf the invoice rebuilt from the log (null when the log could not rebuild it at all). */
  recomputed_checksum: string | null;
  calculation_id: string;
  recomputed_calculation_id: string | null;
  /** The log position the invoice's calculation was read at (its ChargesCalculated record): replayed up to here. */
  as_of_position: Checkpoint | null;
  /** Events replayed from the event store, in total. */
  events_read: number;
  /** Null when `match`; otherwise the first member that differs. */
  first_difference: (InvoiceDifference & { detail?: string }) | null;
}

/**
 * Rebuilds a closed invoice from the EVENT STORE ALONE and compares it with the recorded one:
 *
 * 1. the invoice's stream gives the recorded document (InvoiceClosed);
 * 2. its calculation's ChargesCalculated record gives `as_of_position`, the log position the
 *    calculation read; the audit loader (loadCalculationInputsFromLog) replays the subscription,
 *    metrics, usage streams and billing facts up to there, and the pure `calculate` prices them again;
 * 3. the number's assignment in `<tenant>:invoice_numbers` (the close's commit point) gives the
 *    close as requested (time, customer snapshot, plan name, tax); the plan's pricing comes from the
 *    subscription as replayed;
 * 4. closedInvoiceOf (the decider's own function) seals the rebuilt document, and the two documents
 *    are compared member by member, checksum last.
 *
 * Everything published after the calculation (plan versions, metric versions, late usage, new
 * adjustments) lies after `as_of_position` and cannot change the result. Reads only: the store is
 * wrapped read-only. Throws INVOICE.NOT_FOUND, and INVOICE.NOT_CLOSED for a draft.
 */
export async function reproduceInvoice(options: ReproduceInvoiceOptions): Promise<InvoiceReproduction> {
  let expected = 0;
  const store = new ReadOnlyEventStore(options.store, (read) => options.onProgress?.(read, Math.max(expected, read)));
  const { tenantId, invoiceId } = options;
  const { state } = await loadInvoice(store, tenantId, invoiceId);
  if (state.status === 'absent') throw new BillingError('INVOICE.NOT_FOUND', `no invoice ${invoiceId}`);
  if (!isClosedState(state)) {
    throw new BillingError(
      'INVOICE.NOT_CLOSED',
      `invoice ${invoiceId} is a draft: only a closed invoice is reproduced`,
    );
  }
  const recorded = state.invoice;
  expected = store.eventsRead + (await usageEventsToRead(options.store, tenantId, recorded));
  const result = (rebuilt: Rebuilt): InvoiceReproduction => ({
    match: rebuilt.difference === null,
    invoice_id: invoiceId,
    number: recorded.number,
    status: state.status,
    checksum: recorded.checksum,
    recomputed_checksum: rebuilt.invoice?.checksum ?? null,
    calculation_id: recorded.calculation?.id,
    recomputed_calculation_id: rebuilt.invoice?.calculation.id ?? null,
    as_of_position: rebuilt.asOf,
    events_read: store.eventsRead,
    first_difference: rebuilt.difference,
  });
  return result(await rebuild(store, tenantId, invoiceId, recorded));
}

interface Rebuilt {
  invoice: ClosedInvoice | null;
  asOf: Checkpoint | null;
  difference: InvoiceReproduction['first_difference'];
}

/** The invoice rebuilt from the log, and how it differs from the recorded one. */
async function rebuild(
  store: EventStore,
  tenantId: string,
  invoiceId: string,
  recorded: ClosedInvoice,
): Promise<Rebuilt> {
  const calculationId = recorded.calculation?.id;
  const record = await findCalculation(store, tenantId, String(calculationId));
  if (record === null) {
    return unbuildable(
      null,
      'calculation.id',
      calculationId,
      'no ChargesCalculated record of this calculation in the log',
    );
  }
  const asOf = record.as_of_position;
  const [recomputed, assignment] = await Promise.all([
    recalculate(store, tenantId, recorded, asOf),
    closeAssignment(store, tenantId, invoiceId, recorded.number),
  ]);
  if ('error' in recomputed) return unbuildable(asOf, 'calculation', calculationId, recomputed.error);
  if (assignment === null) {
    return unbuildable(
      asOf,
      'number',
      recorded.number,
      `no assignment of ${recorded.number} to ${invoiceId} in the log`,
    );
  }
  const invoice = closedInvoiceOf(
    draftOf(invoiceId, recomputed.calculation),
    assignment.number,
    closeOf(assignment.close, recomputed.inputs),
  );
  return { invoice, asOf, difference: firstInvoiceDifference(recorded, invoice) };
}

function unbuildable(asOf: Checkpoint | null, field: string, recorded: unknown, detail: string): Rebuilt {
  return { invoice: null, asOf, difference: { charge_key: null, field, recorded, recomputed: null, detail } };
}

/** The calculation again: the audit loader over the log as it stood at `asOf`, then the pure calculate. */
async function recalculate(
  store: EventStore,
  tenantId: string,
  recorded: ClosedInvoice,
  asOf: Checkpoint | null,
): Promise<{ inputs: CalculationInputs; calculation: Calculation } | { error: string }> {
  try {
    const inputs = await loadCalculationInputsFromLog({
      store,
      tenantId,
      subscriptionId: recorded.subscription_id,
      period: { start: recorded.period_start, end_exclusive: recorded.period_end },
      asOf,
    });
    return { inputs, calculation: calculate(inputs) };
  } catch (error) {
    // The log no longer yields a calculation (a subscription or metric gone, a period refused): that
    // is a reproduction that failed, not a failure of the request.
    if (error instanceof BillingError || error instanceof SubscriptionError)
      return { error: `${error.code}: ${error.message}` };
    throw error;
  }
}

/** The assignment of the invoice's number: revision (sequence - 1) of the numbers stream. */
async function closeAssignment(
  store: EventStore,
  tenantId: string,
  invoiceId: string,
  number: string,
): Promise<InvoiceNumberAssignment | null> {
  const sequence = invoiceSequenceOf(number);
  if (sequence === null) return null;
  const [assignment] = await readAssignments(store, tenantId, sequence, 1);
  return assignment?.invoice_id === invoiceId && assignment.number === number ? assignment : null;
}

/** A draft as the decider would hold it for this calculation (its members all derive from it). */
function draftOf(invoiceId: string, calculation: Calculation): InvoiceDraft {
  const { customer_id, subscription_id, currency, period_start, period_end } = calculation;
  return {
    invoice_id: invoiceId,
    customer_id,
    subscription_id,
    currency,
    period_start,
    period_end,
    calculation,
    drafted_at: '',
    refreshed_at: null,
  };
}

/**
 * The close as recorded at its commit point, with the plan's pricing as the log's subscription locked
 * it (only the plan's display name is taken from the record: it is a label, not an input).
 */
function closeOf(close: InvoiceCloseRequest, inputs: CalculationInputs): InvoiceCloseRequest {
  const { subscription } = inputs;
  return {
    ...close,
    plan: {
      key: subscription.plan_key,
      version: subscription.plan_version,
      name: close.plan?.name,
      currency: subscription.currency,
      billing_interval: subscription.billing_interval,
      charges: subscription.charges,
      minimum_commitment: subscription.minimum_commitment,
    },
  };
}

/** How many usage events the reproduction will replay, about: the lengths of the period's usage streams. */
async function usageEventsToRead(store: EventStore, tenantId: string, invoice: ClosedInvoice): Promise<number> {
  const months = usageMonths({ start: invoice.period_start, end_exclusive: invoice.period_end });
  const lengths = await Promise.all(
    months.map(async (month) => {
      const stream = streamName(tenantId, 'usage', usageStreamId(invoice.customer_id, `${month}-01T00:00:00.000Z`));
      try {
        const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
        return last === undefined ? 0 : last.revision + 1;
      } catch (error) {
        if (error instanceof StreamNotFoundError) return 0;
        throw error;
      }
    }),
  );
  return lengths.reduce((sum, n) => sum + n, 0);
}
