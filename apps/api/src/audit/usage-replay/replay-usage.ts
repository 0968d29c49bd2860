import { usageStreamId, type BillingPeriod, type ChargeUsage, type Metric, type UsageMeasure } from '#domain';
import { streamName, type Checkpoint, type EventStore } from '#ledger';
import { StreamingUsage } from './streaming-usage';
import { readMergedInLogOrder, usagePageSource } from './usage-log-reader';

/** Events per page of a usage stream: large pages, one read ahead of the replay. */
export const USAGE_PAGE_EVENTS = 10_000;

export interface ReplayUsageOptions {
  store: EventStore;
  tenantId: string;
  customerId: string;
  /** usageMeasuresOf(subscription.charges). */
  measures: readonly UsageMeasure[];
  /** At least every metric a measure names (as the log stood at asOf). */
  metrics: ReadonlyMap<string, Pick<Metric, 'key' | 'versions'>>;
  /** The usage window of the billing period. */
  window: BillingPeriod;
  /** Inclusive; undefined: the log as it is now; null: the empty log. */
  asOf: Checkpoint | null | undefined;
  pageSize?: number;
}

/** `2026-03`, …: the UTC months of [start, end), as usage streams are named by event timestamp. */
export function usageMonths(window: BillingPeriod): string[] {
  const months: string[] = [];
  const last = new Date(Date.parse(window.end_exclusive) - 1);
  const cursor = new Date(Date.UTC(new Date(window.start).getUTCFullYear(), new Date(window.start).getUTCMonth(), 1));
  while (cursor.getTime() <= last.getTime()) {
    months.push(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}

/**
 * Each measure's usage over the window from the customer's usage streams of the window's months,
 * exactly as countedUsageEvents + chargeUsageOf give it over the merged streams, but computed while
 * the streams are read (StreamingUsage): memory grows with the keys and ids seen, not with the events.
 * Pages whose events a later void removes are read a second time (see StreamingUsage).
 */
export async function replayUsage(options: ReplayUsageOptions): Promise<ChargeUsage[]> {
  const { store, tenantId, customerId, asOf } = options;
  const usage = new StreamingUsage(options.measures, options.metrics, options.window);
  if (options.measures.length === 0) return [];
  const pageSize = options.pageSize ?? USAGE_PAGE_EVENTS;
  const source = usagePageSource(store, usage.needsProperties);
  const pages = await readMergedInLogOrder({
    store,
    streams: usageMonths(options.window).map((month) =>
      streamName(tenantId, 'usage', usageStreamId(customerId, `${month}-01T00:00:00.000Z`)),
    ),
    source,
    asOf,
    pageSize,
    onEvent: (event, page, offset) => usage.add(event, page, offset),
    onPageDone: (page) => usage.endPage(page),
  });
  for (const index of usage.pagesToReread) {
    const { stream, fromRevision, count } = pages[index];
    const events = await source(stream, fromRevision, count);
    if (events.length !== count) throw new Error(`${stream} changed while it was replayed (from ${fromRevision})`);
    usage.recompute({ index, stream, fromRevision, events });
  }
  return usage.finish();
}
