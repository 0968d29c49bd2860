import type { BillingPeriod, Subscription } from '#domain';
import { AdjustmentCarriedError, closeInvoiceWithNumber } from '#ledger';
import { invoiceIdFor } from '../../../api/src/billing/billing-context';
import { closeInvoice, draftInvoice } from '../../../api/src/billing/invoice.operations';
import { customerSnapshot, planSnapshot } from './close-snapshots';
import { endedPeriods, nextPeriodEnd } from './ended-periods';
import { invoiceRound, type PeriodItem } from './invoice-batches';
import { forEachConcurrently, metadataOf, type TenantRun } from './tenant-run';
import { failureOf } from './tick-report';

/**
 * Subscriptions whose periods are looked at together (one read of their invoices' statuses). Each
 * page's rounds wait for the projections once each (the previous page's invoices are projected
 * first): large pages keep those waits few.
 */
const PAGE = 10_000;

/** Invoices per batch by default (see BillingCycleOptions.batchSize). */
export const DEFAULT_INVOICE_BATCH = 250;
const FINAL_STATUSES = new Set(['closed', 'payment_failed', 'paid', 'void']);

interface SubscriptionHead {
  id: string;
  customer_id: string;
  stream_revision: number;
}

/**
 * What the cycle remembers of a tenant between ticks: when each subscription next has something to
 * do (a period ending, a draft's grace running out), valid for the subscription revision it was
 * computed from and the grace it was computed with. Only a cache: a restarted cycle starts empty and
 * looks at every subscription once; the facts themselves come from the read models and the log.
 */
export class InvoiceSchedule {
  private graceSeconds: number | null = null;
  private readonly due = new Map<string, { revision: number; dueAtMs: number }>();

  useGrace(graceSeconds: number): void {
    if (this.graceSeconds !== graceSeconds) this.due.clear();
    this.graceSeconds = graceSeconds;
  }

  isDue(head: SubscriptionHead, nowMs: number): boolean {
    const entry = this.due.get(head.id);
    return entry === undefined || entry.revision !== head.stream_revision || entry.dueAtMs <= nowMs;
  }

  set(id: string, revision: number, dueAtMs: number): void {
    this.due.set(id, { revision, dueAtMs });
  }

  forget(id: string): void {
    this.due.delete(id);
  }
}

interface PeriodWork {
  period: BillingPeriod;
  invoiceId: string;
  /** The invoice's status in the `invoices` read model; null: not drafted yet. */
  status: string | null;
  /** When the grace after the period's usage window runs out: the invoice is closed from then on. */
  closeAtMs: number;
}

interface SubscriptionWork {
  subscription: Subscription;
  revision: number;
  periods: PeriodWork[];
}

/**
 * Step 1 of a tick: every ended billing period of every subscription of the tenant gets its invoice,
 * drafted as soon as its usage window ends and closed once the tenant's grace has passed, oldest
 * first. Catching up after downtime is the same pass: all missed periods are ended periods. Drafts
 * and closes go through the billing operations (deterministic invoice ids, gapless numbers), so a
 * period is never billed twice whatever crashed or ran twice. A customer's invoices are closed one
 * after the other (a pending adjustment must land on one invoice); customers run side by side.
 */
export async function invoiceEndedPeriods(run: TenantRun, schedule: InvoiceSchedule): Promise<void> {
  schedule.useGrace(run.graceSeconds);
  const nowMs = run.now.getTime();
  const due = (await subscriptionHeads(run)).filter((head) => schedule.isDue(head, nowMs));
  for (let i = 0; i < due.length; i += PAGE) {
    const byCustomer = await pendingWork(run, due.slice(i, i + PAGE));
    if (run.batchSize > 0) {
      await invoiceInBatches(run, schedule, [...byCustomer.values()]);
      continue;
    }
    await forEachConcurrently([...byCustomer.values()], run.concurrency, (work) =>
      invoiceCustomer(run, schedule, work),
    );
  }
}

async function subscriptionHeads(run: TenantRun): Promise<SubscriptionHead[]> {
  const { rows } = await run.pool.query<SubscriptionHead>(
    `SELECT id, customer_id, stream_revision FROM subscriptions
      WHERE tenant_id = $1 AND start_date < $2 ORDER BY customer_id, id`,
    [run.tenantId, run.now],
  );
  return rows;
}

/** The ended periods of these subscriptions with their invoices' statuses, by customer. */
async function pendingWork(run: TenantRun, heads: SubscriptionHead[]): Promise<Map<string, SubscriptionWork[]>> {
  const { rows } = await run.pool.query<{ subscription: Subscription; stream_revision: number }>(
    `SELECT subscription, stream_revision FROM subscriptions WHERE tenant_id = $1 AND id = ANY($2::text[])`,
    [run.tenantId, heads.map((head) => head.id)],
  );
  const graceMs = run.graceSeconds * 1000;
  const works = rows.map((row) => ({
    subscription: row.subscription,
    revision: row.stream_revision,
    periods: endedPeriods(row.subscription, run.now).map(({ period, usage_end }) => ({
      period,
      invoiceId: invoiceIdFor(row.subscription.subscription_id, period),
      status: null as string | null,
      closeAtMs: Date.parse(usage_end) + graceMs,
    })),
  }));
  const statuses = await invoiceStatuses(
    run,
    works.flatMap((work) => work.periods.map((p) => p.invoiceId)),
  );
  const byCustomer = new Map<string, SubscriptionWork[]>();
  for (const work of works) {
    for (const period of work.periods) period.status = statuses.get(period.invoiceId) ?? null;
    work.periods = work.periods.filter((period) => period.status === null || !FINAL_STATUSES.has(period.status));
    const list = byCustomer.get(work.subscription.customer_id) ?? [];
    list.push(work);
    byCustomer.set(work.subscription.customer_id, list);
  }
  return byCustomer;
}

async function invoiceStatuses(run: TenantRun, invoiceIds: string[]): Promise<Map<string, string>> {
  if (invoiceIds.length === 0) return new Map();
  const { rows } = await run.pool.query<{ invoice_id: string; status: string }>(
    `SELECT invoice_id, status FROM invoices WHERE tenant_id = $1 AND invoice_id = ANY($2::text[])`,
    [run.tenantId, invoiceIds],
  );
  return new Map(rows.map((row) => [row.invoice_id, row.status]));
}

/** A customer's periods in the order they ended, across its subscriptions. */
const orderedPeriods = (works: SubscriptionWork[]) =>
  works
    .flatMap((work) => work.periods.map((period) => ({ work, period })))
    .sort((a, b) => a.period.closeAtMs - b.period.closeAtMs || compare(a.work, b.work));

/**
 * Every customer's periods in rounds: round k takes each customer's k-th period still to do (so no
 * two invoices of one customer are priced together: its pending adjustments land on one of them),
 * in a deterministic order (period end, customer, subscription: the order of the numbers), and
 * invoices them in batches (invoiceRound). After a failure the subscription's later periods wait
 * for the next tick, as in invoiceCustomer.
 */
async function invoiceInBatches(run: TenantRun, schedule: InvoiceSchedule, customers: SubscriptionWork[][]) {
  const queues = customers.map(orderedPeriods);
  const failed = new Set<SubscriptionWork>();
  const waiting = new Map<SubscriptionWork, number>();
  for (;;) {
    const round = new Map<PeriodItem, SubscriptionWork>();
    for (const queue of queues) {
      while (queue.length > 0 && failed.has(queue[0].work)) queue.shift();
      const next = queue.shift();
      if (next) round.set({ ...next.period, subscription: next.work.subscription }, next.work);
    }
    if (round.size === 0) break;
    const items = [...round.keys()].sort(
      (a, b) =>
        a.closeAtMs - b.closeAtMs ||
        (a.subscription.customer_id < b.subscription.customer_id
          ? -1
          : a.subscription.customer_id > b.subscription.customer_id
            ? 1
            : 0) ||
        (a.subscription.subscription_id < b.subscription.subscription_id ? -1 : 1),
    );
    const outcomes = await invoiceRound(run, items, (item) => invoicePeriod(run, item.subscription, item));
    for (const [item, outcome] of outcomes) {
      const work = round.get(item)!;
      if (outcome === 'failed') failed.add(work);
      if (outcome === 'waiting') waiting.set(work, Math.min(waiting.get(work) ?? Infinity, item.closeAtMs));
    }
  }
  reschedule(run, schedule, customers.flat(), failed, waiting);
}

/** One customer's periods in the order they ended, across its subscriptions, one at a time. */
async function invoiceCustomer(run: TenantRun, schedule: InvoiceSchedule, works: SubscriptionWork[]): Promise<void> {
  const items = orderedPeriods(works);
  const failed = new Set<SubscriptionWork>();
  const waiting = new Map<SubscriptionWork, number>();
  for (const { work, period } of items) {
    // Oldest first: after a failure the subscription's later periods wait for the next tick.
    if (failed.has(work)) continue;
    try {
      if (!(await invoicePeriod(run, work.subscription, period))) {
        waiting.set(work, Math.min(waiting.get(work) ?? Infinity, period.closeAtMs));
      }
    } catch (error) {
      failed.add(work);
      const failure = failureOf(run.tenantId, `subscription:${work.subscription.subscription_id}`, error);
      run.report.failed.push(failure);
      run.logger?.warn({ ...failure, period_start: period.period.start }, 'billing cycle: invoicing a period failed');
    }
  }
  reschedule(run, schedule, works, failed, waiting);
}

/** When each subscription next has something to do: after a failure at once, else its next period end or grace. */
function reschedule(
  run: TenantRun,
  schedule: InvoiceSchedule,
  works: readonly SubscriptionWork[],
  failed: ReadonlySet<SubscriptionWork>,
  waiting: ReadonlyMap<SubscriptionWork, number>,
): void {
  for (const work of works) {
    if (failed.has(work)) {
      schedule.forget(work.subscription.subscription_id);
      continue;
    }
    const next = nextPeriodEnd(work.subscription, run.now);
    const dueAtMs = Math.min(next === null ? Infinity : Date.parse(next), waiting.get(work) ?? Infinity);
    schedule.set(work.subscription.subscription_id, work.revision, dueAtMs);
  }
}

const compare = (a: SubscriptionWork, b: SubscriptionWork) =>
  a.subscription.subscription_id < b.subscription.subscription_id ? -1 : 1;

/**
 * Drafts the period's invoice if it is not drafted yet, and closes it once its grace has passed.
 * Returns false when a draft is left waiting for its grace.
 *
 * A draft made and closed in the same tick (its grace was over when its period came up: catching up,
 * or a grace of 0) is closed with the calculation it was just drafted with, instead of calculating it
 * a second time a moment later (closeInvoice's last recalculation): that halves the cost of a billing
 * run. Usage accepted between the two is not lost: every invoice is checked after it closes, and such
 * usage becomes a late-usage adjustment like any other.
 */
async function invoicePeriod(run: TenantRun, subscription: Subscription, work: PeriodWork): Promise<boolean> {
  const due = work.closeAtMs <= run.now.getTime();
  if (work.status === null) {
    const drafted = await draftInvoice(run.billing, subscription.subscription_id, work.period);
    if (drafted.change === 'drafted') run.report.drafted += 1;
    else if (drafted.change === 'refreshed') run.report.refreshed += 1;
    if (drafted.state.status !== 'draft') return true;
    if (!due) return false;
    try {
      const closed = await closeInvoiceWithNumber({
        store: run.store,
        tenantId: run.tenantId,
        invoiceId: drafted.invoiceId,
        customer: await customerSnapshot(run, subscription.customer_id),
        plan: await planSnapshot(run, subscription),
        at: run.now,
        metadata: metadataOf(run),
      });
      if (closed.closedNow) run.report.closed += 1;
      return true;
    } catch (error) {
      // Another invoice closed with one of its adjustments meanwhile: close it recalculated, below.
      if (!(error instanceof AdjustmentCarriedError)) throw error;
    }
  }
  if (!due) return false;
  const closed = await closeInvoice(run.billing, work.invoiceId, {});
  if (closed.change === 'closed') run.report.closed += 1;
  return true;
}
