import { type BillingPeriod, type Plan, type Subscription } from '#domain';
import {
  calculationRecordOf,
  passBarrier,
  readCalculationInputsBatch,
  type BatchOutcome,
} from '../../../api/src/billing/calculation';
import {
  writeInvoiceBatch,
  type BatchInvoiceResult,
  type BatchInvoiceWork,
} from '../../../api/src/billing/invoice-batch.operations';
import { cachedPlanSnapshot, customerSnapshots } from './close-snapshots';
import type { TenantRun } from './tenant-run';
import { failureOf } from './tick-report';

/** A period of a subscription to invoice, as invoice-ended-periods finds it. */
export interface PeriodItem {
  subscription: Subscription;
  period: BillingPeriod;
  invoiceId: string;
  /** The invoice's status in the `invoices` read model; null: not drafted yet. */
  status: string | null;
  closeAtMs: number;
}

/** What became of an item: done, left as a draft until its grace ends, or failed (reported already). */
export type ItemOutcome = 'done' | 'waiting' | 'failed';

/** The one-invoice path (draft, then close with its own number): for what a batch cannot take. */
export type InvoiceOne = (item: PeriodItem) => Promise<boolean>;

/**
 * Invoices one ROUND of periods, at most one per customer (a customer's pending adjustments land on
 * one invoice; the next round, after the barrier, sees them applied): one barrier for the round, then
 * per chunk of `run.batchSize` one snapshot read (readCalculationInputsBatch), the calculations in
 * memory (the pure calculateSubscription), and one transaction drafting and closing the whole chunk
 * (writeInvoiceBatch: numbers gapless in the chunk's order). What a batch cannot take goes through
 * `one`, the one-invoice path: an item the batch defers, or a whole chunk whose read or transaction
 * failed (nothing of it was written).
 */
export async function invoiceRound(
  run: TenantRun,
  items: readonly PeriodItem[],
  one: InvoiceOne,
): Promise<Map<PeriodItem, ItemOutcome>> {
  const outcomes = new Map<PeriodItem, ItemOutcome>();
  const nowMs = run.now.getTime();
  // A draft already made whose grace is still running: nothing to do yet (as invoicePeriod).
  const work = items.filter((item) => item.status === null || item.closeAtMs <= nowMs);
  for (const item of items) if (!work.includes(item)) outcomes.set(item, 'waiting');
  if (work.length === 0) return outcomes;
  try {
    await passBarrier(run.pool, run.store, { barrierMs: run.billing.barrierMs });
  } catch (error) {
    for (const item of work) outcomes.set(item, fail(run, item, error));
    return outcomes;
  }
  const plans = new Map<string, Promise<Plan>>();
  const chunks: PeriodItem[][] = [];
  for (let i = 0; i < work.length; i += run.batchSize) chunks.push(work.slice(i, i + run.batchSize));
  const prepare = (chunk: readonly PeriodItem[]) => {
    const prepared = prepareChunk(run, chunk, plans);
    prepared.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    return prepared;
  };
  let next = prepare(chunks[0]);
  for (const [index, chunk] of chunks.entries()) {
    const current = next;
    // The next chunk's read runs while this one's transaction does (other customers: independent).
    if (index + 1 < chunks.length) next = prepare(chunks[index + 1]);
    let written: Map<PeriodItem, ItemOutcome>;
    try {
      written = await commitChunk(run, await current, one);
    } catch (error) {
      // Nothing of the chunk was written (one transaction): each invoice on its own path instead.
      run.logger?.warn({ err: error, invoices: chunk.length }, 'billing cycle: a batch failed; invoicing one by one');
      written = await eachOnItsOwn(run, chunk, one);
    }
    for (const [item, outcome] of written) outcomes.set(item, outcome);
  }
  return outcomes;
}

/** A chunk read and calculated, ready to be written: what goes in the batch, what goes alone, what failed. */
interface PreparedChunk {
  outcomes: Map<PeriodItem, ItemOutcome>;
  works: BatchInvoiceWork[];
  /** The item of each work, in the same order. */
  batched: PeriodItem[];
  alone: PeriodItem[];
}

/** The chunk's inputs in one snapshot, its calculations, and the close snapshots of the items due. */
async function prepareChunk(
  run: TenantRun,
  chunk: readonly PeriodItem[],
  plans: Map<string, Promise<Plan>>,
): Promise<PreparedChunk> {
  const prepared: PreparedChunk = { outcomes: new Map(), works: [], batched: [], alone: [] };
  const read = await readCalculationInputsBatch({
    pool: run.pool,
    store: run.store,
    tenantId: run.tenantId,
    barrierMs: run.billing.barrierMs,
    items: chunk.map((item) => ({ subscriptionId: item.subscription.subscription_id, period: item.period })),
  });
  const nowMs = run.now.getTime();
  const due = chunk.filter((item, index) => read[index].inputs && item.closeAtMs <= nowMs);
  const customers = await customerSnapshots(
    run,
    due.map((item) => item.subscription.customer_id),
  );
  for (const [index, item] of chunk.entries()) {
    const outcome: BatchOutcome = read[index];
    if (outcome.error) {
      prepared.outcomes.set(item, fail(run, item, outcome.error));
      continue;
    }
    const work: BatchInvoiceWork = { invoiceId: item.invoiceId, record: calculationRecordOf(outcome.inputs) };
    if (item.closeAtMs <= nowMs) {
      const customer = customers.get(item.subscription.customer_id);
      if (!customer) {
        prepared.alone.push(item);
        continue;
      }
      work.close = { customer, plan: await cachedPlanSnapshot(run, item.subscription, plans), at: run.now };
    }
    prepared.works.push(work);
    prepared.batched.push(item);
  }
  return prepared;
}

/** The chunk's one transaction, then the items it deferred (and those it could not take) one by one. */
async function commitChunk(
  run: TenantRun,
  prepared: PreparedChunk,
  one: InvoiceOne,
): Promise<Map<PeriodItem, ItemOutcome>> {
  const outcomes = new Map(prepared.outcomes);
  const alone = [...prepared.alone];
  const results = await writeInvoiceBatch(run.billing, prepared.works);
  for (const [index, result] of results.entries()) {
    const item = prepared.batched[index];
    if (result.deferred) alone.push(item);
    else outcomes.set(item, count(run, item, result));
  }
  for (const [item, outcome] of await eachOnItsOwn(run, alone, one)) outcomes.set(item, outcome);
  return outcomes;
}

/** The tick report's counts for a batched invoice, and what became of it. */
function count(run: TenantRun, item: PeriodItem, result: BatchInvoiceResult): ItemOutcome {
  if (result.change === 'drafted') run.report.drafted += 1;
  else if (result.change === 'refreshed' && item.status === null) run.report.refreshed += 1;
  if (result.closedNow) run.report.closed += 1;
  return result.status === 'draft' ? 'waiting' : 'done';
}

async function eachOnItsOwn(
  run: TenantRun,
  items: readonly PeriodItem[],
  one: InvoiceOne,
): Promise<Map<PeriodItem, ItemOutcome>> {
  const outcomes = new Map<PeriodItem, ItemOutcome>();
  for (const item of items) {
    try {
      outcomes.set(item, (await one(item)) ? 'done' : 'waiting');
    } catch (error) {
      outcomes.set(item, fail(run, item, error));
    }
  }
  return outcomes;
}

function fail(run: TenantRun, item: PeriodItem, error: unknown): ItemOutcome {
  const failure = failureOf(run.tenantId, `subscription:${item.subscription.subscription_id}`, error);
  run.report.failed.push(failure);
  run.logger?.warn({ ...failure, period_start: item.period.start }, 'billing cycle: invoicing a period failed');
  return 'failed';
}
