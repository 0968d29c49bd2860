import {
  BillingError,
  billingCycleOf,
  periodContaining,
  subscriptionPeriod,
  type BillingPeriod,
  type Subscription,
} from '#domain';
import { ProjectionWaitTimeoutError, waitForPosition } from '#ledger';
import { type BillingContext } from './billing-context';
import { CalculationNotCaughtUpError, CALCULATION_BARRIER_MS } from './calculation';
import { closeInvoice, draftInvoice } from './invoice.operations';

export interface BulkInvoicesResult {
  period_end: string;
  /** Subscriptions with a billing period ending at period_end in which they are active. */
  subscriptions: number;
  drafted: number;
  refreshed: number;
  /** Drafts whose calculation had not changed, and closed invoices left as they are. */
  unchanged: number;
  /** Closed by this run (close: true). */
  closed: number;
  already_closed: number;
  failed: Array<{ subscription_id: string; code: string; detail: string }>;
}

const PAGE = 200;
const ms = (instant: string) => Date.parse(instant);

/** The subscription's billing period ending exactly at `periodEnd`, if it is active in it; else null. */
export function periodEndingAt(subscription: Subscription, periodEnd: string): BillingPeriod | null {
  const period = periodContaining(billingCycleOf(subscription), new Date(ms(periodEnd) - 1).toISOString());
  if (ms(period.end_exclusive) !== ms(periodEnd)) return null;
  try {
    return subscriptionPeriod(subscription, period).period;
  } catch (error) {
    if (error instanceof BillingError && error.code === 'CALCULATION.INVALID_PERIOD') return null;
    throw error;
  }
}

/**
 * Drafts (and with `close`, closes) the invoice of every subscription whose billing period ended at
 * `periodEnd`. Idempotent: invoice ids derive from subscription and period, so running it again
 * creates nothing new (drafts are refreshed, closed invoices left alone). Subscriptions are listed from
 * the `subscriptions` read model, after waiting for it to pass the log head. One subscription's
 * failure does not stop the others; it is reported, and a later run completes it.
 */
export async function invoicePeriodEnd(
  ctx: BillingContext,
  periodEnd: string,
  close: boolean,
): Promise<BulkInvoicesResult> {
  await subscriptionsCaughtUp(ctx);
  const result: BulkInvoicesResult = {
    period_end: new Date(ms(periodEnd)).toISOString(),
    subscriptions: 0,
    drafted: 0,
    refreshed: 0,
    unchanged: 0,
    closed: 0,
    already_closed: 0,
    failed: [],
  };
  for await (const subscription of candidates(ctx, periodEnd)) {
    const period = periodEndingAt(subscription, periodEnd);
    if (period === null) continue;
    result.subscriptions += 1;
    try {
      await invoiceOne(ctx, subscription, period, close, result);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string') throw error;
      result.failed.push({ subscription_id: subscription.subscription_id, code, detail: (error as Error).message });
    }
  }
  return result;
}

async function invoiceOne(
  ctx: BillingContext,
  subscription: Subscription,
  period: BillingPeriod,
  close: boolean,
  result: BulkInvoicesResult,
): Promise<void> {
  const drafted = await draftInvoice(ctx, subscription.subscription_id, period);
  const wasClosed = drafted.state.status !== 'draft';
  if (wasClosed) result.already_closed += 1;
  else if (drafted.change === 'drafted') result.drafted += 1;
  else if (drafted.change === 'refreshed') result.refreshed += 1;
  else if (!close) result.unchanged += 1;
  if (!close || wasClosed) return;
  const closed = await closeInvoice(ctx, drafted.invoiceId, {});
  if (closed.change === 'closed') result.closed += 1;
  else result.already_closed += 1;
}

interface SubscriptionRow {
  subscription: Subscription;
  created_at: Date;
  id: string;
}

/** Subscriptions that may have a period ending at periodEnd: started before it, not ended a year before it. */
async function* candidates(ctx: BillingContext, periodEnd: string): AsyncGenerator<Subscription> {
  let after: { created_at: Date; id: string } | null = null;
  for (;;) {
    const page: { rows: SubscriptionRow[] } = await ctx.pool.query<SubscriptionRow>(
      `SELECT subscription, created_at, id FROM subscriptions
        WHERE tenant_id = $1 AND start_date < $2::timestamptz
          AND (ends_at IS NULL OR ends_at > $2::timestamptz - interval '367 days')
          AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::text))
        ORDER BY created_at, id LIMIT $5`,
      [ctx.tenantId, periodEnd, after?.created_at ?? null, after?.id ?? null, PAGE],
    );
    const { rows } = page;
    for (const row of rows) yield row.subscription;
    if (rows.length < PAGE) return;
    const last: SubscriptionRow = rows[rows.length - 1];
    after = { created_at: last.created_at, id: last.id };
  }
}

async function subscriptionsCaughtUp(ctx: BillingContext): Promise<void> {
  const target =
    ctx.store.kind === 'postgres'
      ? ((
          await ctx.pool.query<{ checkpoint: string }>(
            `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
          )
        ).rows[0]?.checkpoint ?? null)
      : await ctx.store.headCheckpoint();
  try {
    await waitForPosition(ctx, 'subscriptions', target, ctx.barrierMs ?? CALCULATION_BARRIER_MS);
  } catch (error) {
    if (!(error instanceof ProjectionWaitTimeoutError)) throw error;
    throw new CalculationNotCaughtUpError(
      'the subscriptions projection has not reached the log head yet; retry shortly',
    );
  }
}
