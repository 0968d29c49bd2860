import {
  BillingError,
  canonicalJson,
  findPlanVersion,
  isClosedState,
  subscriptionPeriod,
  sumMoney,
  type BillingPeriod,
  type Calculation,
  type ClosedInvoice,
  type Customer,
  type CustomerSnapshot,
  type DecimalString,
  type InvoiceState,
  type Plan,
  type PlanSnapshot,
  type Subscription,
  type TaxLine,
} from '#domain';
import { AdjustmentCarriedError, closeInvoiceWithNumber, loadInvoice, runInvoiceCommand } from '#ledger';
import { loadCustomer } from '../customers/customer.operations';
import { loadPricePlan } from '../price-plans/price-plan.operations';
import { loadSubscription } from '../subscriptions/subscription.operations';
import { clockOf, creditNoteIdFor, invoiceIdFor, metadataOf, type BillingContext } from './billing-context';
import { calculateCharges, type CalculatedCharges } from './calculation';

/** An invoice after a command, and what the command did. */
export interface InvoiceOutcome {
  invoiceId: string;
  state: Exclude<InvoiceState, { status: 'absent' }>;
  /** `drafted`: a new draft; `refreshed`: a draft with a new calculation; `unchanged`: nothing new. */
  change: 'drafted' | 'refreshed' | 'closed' | 'voided' | 'unchanged';
}

const notFound = (invoiceId: string) => new BillingError('INVOICE.NOT_FOUND', `no invoice ${invoiceId}`);

function present(state: InvoiceState, invoiceId: string): InvoiceOutcome['state'] {
  if (state.status === 'absent') throw notFound(invoiceId);
  return state;
}

async function calculate(
  ctx: BillingContext,
  subscriptionId: string,
  period: BillingPeriod,
): Promise<CalculatedCharges> {
  return calculateCharges({
    pool: ctx.pool,
    store: ctx.store,
    tenantId: ctx.tenantId,
    subscriptionId,
    period,
    barrierMs: ctx.barrierMs,
    metadata: metadataOf(ctx),
  });
}

/**
 * The invoice of a subscription period: drafted from an exact calculation, or, when it exists as a
 * draft, refreshed with a new one; a closed invoice is returned as it is. The id is derived from the
 * subscription and period, so this is idempotent (the billing cycle and retries call it freely).
 * Throws SUBSCRIPTION.NOT_FOUND, CALCULATION.INVALID_PERIOD.
 */
export async function draftInvoice(
  ctx: BillingContext,
  subscriptionId: string,
  requested: BillingPeriod,
): Promise<InvoiceOutcome> {
  const subscription = await loadSubscription(ctx.store, ctx.tenantId, subscriptionId);
  const { period } = subscriptionPeriod(subscription, requested);
  const invoiceId = invoiceIdFor(subscriptionId, period);
  const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
  if (isClosedState(state)) return { invoiceId, state, change: 'unchanged' };
  const { calculation } = await calculate(ctx, subscriptionId, period);
  return applyCalculation(ctx, invoiceId, calculation);
}

/** Drafts the invoice with the calculation, or refreshes its draft with it (whichever its state needs). */
async function applyCalculation(
  ctx: BillingContext,
  invoiceId: string,
  calculation: Calculation,
): Promise<InvoiceOutcome> {
  for (let attempt = 1; ; attempt++) {
    const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
    if (isClosedState(state)) return { invoiceId, state, change: 'unchanged' };
    const at = clockOf(ctx);
    try {
      const decision = await runInvoiceCommand({
        store: ctx.store,
        tenantId: ctx.tenantId,
        command:
          state.status === 'absent'
            ? { type: 'DraftInvoice', invoice_id: invoiceId, calculation, at }
            : { type: 'RefreshDraft', invoice_id: invoiceId, calculation, at },
        metadata: metadataOf(ctx),
      });
      const change = decision.events.length === 0 ? 'unchanged' : state.status === 'absent' ? 'drafted' : 'refreshed';
      return { invoiceId, state: present(decision.state, invoiceId), change };
    } catch (error) {
      // A concurrent request drafted (or closed) it between our read and our append: decide again.
      const raced = error instanceof BillingError && ['INVOICE.ALREADY_EXISTS', 'INVOICE.CLOSED'].includes(error.code);
      if (!raced || attempt >= 3) throw error;
    }
  }
}

/** The invoice as its stream says it is; a draft is recalculated first (a draft follows its usage). */
export async function currentInvoice(ctx: BillingContext, invoiceId: string): Promise<InvoiceOutcome> {
  const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
  if (state.status !== 'draft') return { invoiceId, state: present(state, invoiceId), change: 'unchanged' };
  const { draft } = state;
  const { calculation } = await calculate(ctx, draft.subscription_id, {
    start: draft.period_start,
    end_exclusive: draft.period_end,
  });
  return applyCalculation(ctx, invoiceId, calculation);
}

export interface CloseRequest {
  tax_amount?: DecimalString | null;
  tax_lines?: TaxLine[];
}

/**
 * Closes an invoice: the draft is recalculated one last time, then closed with the next gapless
 * number (closeInvoiceWithNumber), with snapshots of the customer and of the priced plan version.
 * Closing again with the same tax is a no-op that answers the closed invoice; any other close of a
 * closed invoice is INVOICE.CLOSED.
 */
export async function closeInvoice(
  ctx: BillingContext,
  invoiceId: string,
  request: CloseRequest,
): Promise<InvoiceOutcome> {
  const { state } = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
  if (isClosedState(state)) {
    assertSameClose(state.invoice, request);
    return { invoiceId, state, change: 'unchanged' };
  }
  for (let attempt = 1; ; attempt++) {
    const refreshed = await currentInvoice(ctx, invoiceId);
    if (refreshed.state.status !== 'draft') {
      if (isClosedState(refreshed.state)) assertSameClose(refreshed.state.invoice, request);
      return refreshed;
    }
    try {
      return await closeDraft(ctx, invoiceId, refreshed.state.draft, request);
    } catch (error) {
      // Another invoice of the customer closed with one of its pending adjustments since the draft
      // was calculated: recalculate (the read model catches up with that close) and try again.
      if (!(error instanceof AdjustmentCarriedError) || attempt >= CARRIED_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

const CARRIED_ATTEMPTS = 10;

async function closeDraft(
  ctx: BillingContext,
  invoiceId: string,
  draft: Extract<InvoiceState, { status: 'draft' }>['draft'],
  request: CloseRequest,
): Promise<InvoiceOutcome> {
  const subscription = await loadSubscription(ctx.store, ctx.tenantId, draft.subscription_id);
  const [customer, plan] = await Promise.all([
    customerSnapshot(ctx, draft.customer_id),
    planSnapshot(ctx, subscription, draft.calculation),
  ]);
  const closed = await closeInvoiceWithNumber({
    store: ctx.store,
    tenantId: ctx.tenantId,
    invoiceId,
    customer,
    plan,
    tax_amount: request.tax_amount ?? null,
    tax_lines: request.tax_lines ?? [],
    at: clockOf(ctx),
    metadata: metadataOf(ctx),
  });
  // Another request closed it first (a concurrent close): it must have asked for the same tax.
  if (!closed.closedNow) assertSameClose(closed.invoice, request);
  const after = await loadInvoice(ctx.store, ctx.tenantId, invoiceId);
  return { invoiceId, state: present(after.state, invoiceId), change: closed.closedNow ? 'closed' : 'unchanged' };
}

/** A retried close names the same tax; anything else would change a closed invoice. */
function assertSameClose(invoice: ClosedInvoice, request: CloseRequest): void {
  const lines = request.tax_lines ?? [];
  const amount =
    request.tax_amount ??
    sumMoney(
      lines.map((line) => line.amount),
      invoice.currency,
    );
  if (canonicalJson(lines) !== canonicalJson(invoice.tax_lines) || amount !== invoice.tax_amount) {
    throw new BillingError(
      'INVOICE.CLOSED',
      `invoice ${invoice.number} is closed: closing it again with other tax would change it`,
    );
  }
}

async function customerSnapshot(ctx: BillingContext, customerId: string): Promise<CustomerSnapshot> {
  return customerSnapshotOf(await loadCustomer(ctx.store, ctx.tenantId, customerId));
}

/** The customer as billed, copied into a closed invoice. */
export function customerSnapshotOf(customer: Customer): CustomerSnapshot {
  return {
    id: customer.id,
    name: customer.name,
    email: customer.email,
    currency: customer.currency,
    timezone: customer.timezone,
  };
}

async function planSnapshot(
  ctx: BillingContext,
  subscription: Subscription,
  calculation: Calculation,
): Promise<PlanSnapshot> {
  const plan = await loadPricePlan(ctx.store, ctx.tenantId, calculation.plan_key);
  return planSnapshotOf(plan, calculation.plan_version, subscription);
}

/** The plan version as the subscription locked it: its name, and the charges with the overrides. */
export function planSnapshotOf(plan: Plan, version: number, subscription: Subscription): PlanSnapshot {
  return {
    key: plan.key,
    version,
    name: findPlanVersion(plan, version)?.name ?? plan.key,
    currency: subscription.currency,
    billing_interval: subscription.billing_interval,
    charges: subscription.charges,
    minimum_commitment: subscription.minimum_commitment,
  };
}

/** Voids a closed invoice: it stays, and a credit note reverses it in the ledger. A second void is a no-op. */
export async function voidInvoice(ctx: BillingContext, invoiceId: string, reason: string): Promise<InvoiceOutcome> {
  const decision = await runInvoiceCommand({
    store: ctx.store,
    tenantId: ctx.tenantId,
    command: {
      type: 'VoidInvoice',
      invoice_id: invoiceId,
      reason,
      credit_note_id: creditNoteIdFor(invoiceId),
      at: clockOf(ctx),
    },
    metadata: metadataOf(ctx),
  });
  return {
    invoiceId,
    state: present(decision.state, invoiceId),
    change: decision.events.length > 0 ? 'voided' : 'unchanged',
  };
}
