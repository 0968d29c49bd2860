import type { PoolClient } from 'pg';
import {
  BillingError,
  PENDING_ADJUSTMENT_FACT_TYPES,
  SUBSCRIPTION_STREAM_CATEGORY,
  SubscriptionError,
  calculationInputsOf,
  subscriptionDecider,
  subscriptionPeriod,
  toGroupedUsage,
  usageMeasuresOf,
  usageQuantity,
  type AdjustmentRecorded,
  type BillingPeriod,
  type ChargeUsage,
  type InvoiceClosed,
  type Metric,
  type PendingAdjustment,
  type Subscription,
  type SubscriptionEvent,
  type SubscriptionPeriod,
} from '#domain';
import { streamName, type Checkpoint, type EventStore } from '#ledger';
import { withSharedSnapshot } from '../../usage/shared-snapshot';
import { scanUsage, type ExactUsage } from '../../usage/usage-reader';
import { loadMetricAsOf } from './billing-catalog';
import { CALCULATION_BARRIER_MS, notCaughtUp, passBarrier, type BarrierOptions } from './calculation-barrier';
import type { FastInputs, LoadFastOptions } from './load-inputs-fast';
import { readStreamsAsOf } from './stream-reads-batch';
import { scanUsageOfCustomers } from './usage-scan-batch';

/** One subscription period to calculate. */
export interface BatchItem {
  subscriptionId: string;
  period: BillingPeriod;
}

/** Per item, in the items' order: its inputs, or why they could not be read (that item only). */
export type BatchOutcome = { inputs: FastInputs; error?: undefined } | { inputs?: undefined; error: Error };

export interface LoadBatchOptions extends BarrierOptions, Pick<LoadFastOptions, 'pool' | 'store' | 'tenantId'> {
  items: readonly BatchItem[];
}

interface SnapshotHead {
  usage: Checkpoint | null;
  adjustments: Checkpoint | null;
  usage_log: string;
  read_at: Date;
}

interface Prepared {
  subscription: Subscription;
  billing: SubscriptionPeriod;
  metrics: Map<string, Metric>;
}

const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9]{1,64}$/;

/**
 * THE BATCH LOADER (the billing cycle): loadCalculationInputsFast for many subscription periods at
 * once, with the same result for each (the spec compares them): ONE barrier, ONE snapshot, and
 * set-based reads in it: the subscriptions folded from their streams in one query, each metric once,
 * the usage of every (metric, window) for all customers in one grouped scan, the pending adjustments
 * of all customers in one query. Where the fast loader reads one customer's usage with several
 * queries, this reads a few hundred customers' with one per metric.
 *
 * Items must name different customers when their calculations are applied together: a customer's
 * pending adjustments ride on ONE invoice (the billing cycle takes one period per customer at a time).
 */
export async function loadCalculationInputsBatch(options: LoadBatchOptions): Promise<BatchOutcome[]> {
  if (options.items.length === 0) return [];
  const left = await passBarrier(options.pool, options.store, options);
  return readCalculationInputsBatch({ ...options, barrierMs: left });
}

/**
 * The batch loader's read without its barrier: for the chunks of a billing run after the run's one
 * barrier (passBarrier). Each chunk's inputs are still exact as of their own `as_of_position` (the
 * snapshot's usage checkpoint, which only moves forward from the barrier's); what was accepted after the
 * barrier is in them or is late usage, which the post-close check of every invoice catches.
 * `barrierMs` bounds the re-reads while the two projections disagree on a customer.
 */
export async function readCalculationInputsBatch(options: LoadBatchOptions): Promise<BatchOutcome[]> {
  if (options.items.length === 0) return [];
  const deadline = Date.now() + (options.barrierMs ?? CALCULATION_BARRIER_MS);
  for (let attempt = 1; ; attempt++) {
    const read = await withSharedSnapshot(options.pool, 1, ([client]) => readBatchInSnapshot(options, client));
    if (read !== null) return read;
    if (Date.now() >= deadline) throw notCaughtUp('the usage and adjustments projections disagree on a customer');
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * attempt)));
  }
}

async function readBatchInSnapshot(options: LoadBatchOptions, client: PoolClient): Promise<BatchOutcome[] | null> {
  const { store, tenantId } = options;
  const { rows } = await client.query<SnapshotHead>(
    `SELECT (SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live') AS usage,
            (SELECT checkpoint FROM projections WHERE name = 'adjustments' AND status = 'live') AS adjustments,
            (SELECT last_position::text FROM usage_log) AS usage_log, clock_timestamp() AS read_at`,
  );
  const head = rows[0];
  const prepared = await prepareItems(options, client, head.usage);
  const ready = prepared.filter((item): item is Prepared => !(item instanceof Error));
  const customers = [...new Set(ready.map((item) => item.subscription.customer_id))];
  if (!(await adjustmentsAgreeForAll(store, tenantId, customers, head.usage, head.adjustments))) return null;
  const [usage, pending] = await Promise.all([
    measureAll(client, tenantId, ready),
    pendingOfCustomers(client, tenantId, customers),
  ]);
  return prepared.map((item): BatchOutcome => {
    if (item instanceof Error) return { error: item };
    try {
      const { subscription, billing, metrics } = item;
      const charges = usageMeasuresOf(subscription.charges).map((measure) => {
        const measured = usage.get(usageKey(subscription.customer_id, billing, measure));
        if (measured instanceof Error || measured === undefined) throw measured ?? new Error('usage not measured');
        return { ...measured, charge_key: measure.key };
      });
      return {
        inputs: {
          inputs: calculationInputsOf({
            subscription,
            billing,
            metrics,
            usage: charges,
            pending: pending.get(subscription.customer_id) ?? [],
          }),
          as_of_position: head.usage,
          usage_events_position: head.usage_log,
          read_at: head.read_at.toISOString(),
        },
      };
    } catch (error) {
      return { error: error instanceof Error ? error : new Error(String(error)) };
    }
  });
}

/** Each item's subscription (folded from its stream as of `asOf`), billing period and metrics; or its error. */
async function prepareItems(
  options: LoadBatchOptions,
  client: PoolClient,
  asOf: Checkpoint | null,
): Promise<Array<Prepared | Error>> {
  const { store, tenantId, items } = options;
  const stream = (id: string) => streamName(tenantId, SUBSCRIPTION_STREAM_CATEGORY, id);
  const known = items.filter((item) => SUBSCRIPTION_ID.test(item.subscriptionId));
  const streams = await readStreamsAsOf(
    client,
    store,
    known.map((item) => stream(item.subscriptionId)),
    asOf,
  );
  const subscriptions = new Map<string, Subscription>();
  for (const [name, events] of streams) {
    const state = events.reduce(
      (s, e) => subscriptionDecider.evolve(s, { type: e.type, data: e.data } as SubscriptionEvent),
      subscriptionDecider.initialState(),
    );
    if (state.status !== 'absent') subscriptions.set(name, state.subscription);
  }
  const keys = new Set([...subscriptions.values()].flatMap((s) => usageMeasuresOf(s.charges).map((m) => m.metric_key)));
  const metrics = new Map<string, Metric | null>();
  // Each metric once for the whole batch (a handful), as of the same checkpoint as the subscriptions.
  await Promise.all([...keys].map(async (key) => metrics.set(key, await loadMetricAsOf(store, tenantId, key, asOf))));
  return items.map((item) => {
    const subscription = subscriptions.get(stream(item.subscriptionId));
    if (!subscription) return new SubscriptionError('SUBSCRIPTION.NOT_FOUND', `no subscription ${item.subscriptionId}`);
    try {
      const own = new Map<string, Metric>();
      for (const measure of usageMeasuresOf(subscription.charges)) {
        const metric = metrics.get(measure.metric_key);
        if (metric) own.set(metric.key, metric);
      }
      return { subscription, billing: subscriptionPeriod(subscription, item.period), metrics: own };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });
}

type Measure = ReturnType<typeof usageMeasuresOf>[number];

/** A scan's identity: charges pricing the same metric the same way over the same window share it. */
function scanKey(billing: SubscriptionPeriod, measure: Measure): string {
  const window = billing.usage_window;
  return JSON.stringify([measure.metric_key, measure.dimensions ?? null, window.start, window.end_exclusive]);
}

const usageKey = (customerId: string, billing: SubscriptionPeriod, measure: Measure) =>
  `${customerId}\u0000${scanKey(billing, measure)}`;

interface ScanGroup {
  metric: Metric | undefined;
  measure: Measure;
  window: { start: string; end: string };
  customers: Set<string>;
}

/**
 * Every usage charge of every item, measured as the fast loader measures it (ChargeUsage without its
 * charge key), by usageKey; an Error for a charge whose metric is not in the log.
 */
async function measureAll(
  client: PoolClient,
  tenantId: string,
  items: readonly Prepared[],
): Promise<Map<string, Omit<ChargeUsage, 'charge_key'> | Error>> {
  const groups = new Map<string, ScanGroup>();
  for (const { subscription, billing, metrics } of items) {
    for (const measure of usageMeasuresOf(subscription.charges)) {
      const key = scanKey(billing, measure);
      const window = { start: billing.usage_window.start, end: billing.usage_window.end_exclusive };
      const group = groups.get(key) ?? {
        metric: metrics.get(measure.metric_key),
        measure,
        window,
        customers: new Set(),
      };
      group.customers.add(subscription.customer_id);
      groups.set(key, group);
    }
  }
  const measured = new Map<string, Omit<ChargeUsage, 'charge_key'> | Error>();
  for (const [key, group] of groups) {
    const { metric, measure } = group;
    if (!metric) {
      const error = new BillingError('CALCULATION.INVALID', `metric ${measure.metric_key} is not in the log`);
      for (const customer of group.customers) measured.set(`${customer}\u0000${key}`, error);
      continue;
    }
    const scanned = await scanGroup(client, tenantId, metric, group);
    for (const [customer, exact] of scanned) {
      measured.set(`${customer}\u0000${key}`, {
        metric_key: measure.metric_key,
        quantity: usageQuantity(exact.value),
        groups: measure.dimensions === undefined ? null : toGroupedUsage(exact.groups ?? []),
        meter_versions: exact.meter_versions,
        usage_checksum: exact.checksum,
      });
    }
  }
  return measured;
}

/** One grouped statement when the metric allows it; else scanUsage per customer, in the same snapshot. */
async function scanGroup(
  client: PoolClient,
  tenantId: string,
  metric: Metric,
  group: ScanGroup,
): Promise<Map<string, ExactUsage>> {
  const customers = [...group.customers].sort();
  if (group.measure.dimensions === undefined) {
    const batched = await scanUsageOfCustomers(client, tenantId, metric, group.window, customers);
    if (batched !== null) return batched;
  }
  const scanned = new Map<string, ExactUsage>();
  for (const customerId of customers) {
    const options = group.measure.dimensions === undefined ? {} : { groupBy: group.measure.dimensions };
    const key = { tenantId, customerId, metricKey: metric.key };
    scanned.set(customerId, await scanUsage([client], key, metric, group.window, options));
  }
  return scanned;
}

/** The customers' pending adjustments from the `adjustments` read model, in the snapshot, by customer. */
async function pendingOfCustomers(
  client: PoolClient,
  tenantId: string,
  customers: readonly string[],
): Promise<Map<string, PendingAdjustment[]>> {
  const byCustomer = new Map<string, PendingAdjustment[]>();
  if (customers.length === 0) return byCustomer;
  const { rows } = await client.query<PendingAdjustment & { customer_id: string }>(
    `SELECT customer_id, adjustment_id, kind, amount::text AS amount, currency, reason, invoice_id, charge_key
       FROM adjustments
      WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) AND applied_to_invoice_id IS NULL AND recorded_at IS NOT NULL`,
    [tenantId, customers],
  );
  for (const { customer_id: customerId, ...adjustment } of rows) {
    const list = byCustomer.get(customerId) ?? [];
    list.push(adjustment);
    byCustomer.set(customerId, list);
  }
  return byCustomer;
}

/**
 * adjustmentsAgree for every customer of the batch with one read of the billing facts between the
 * two projections' checkpoints (usually none: equal checkpoints are not read at all). False when a
 * fact in between may concern one of them (an InvoiceVoided is taken to concern everyone: rare, and
 * the snapshot is simply read again).
 */
async function adjustmentsAgreeForAll(
  store: EventStore,
  tenantId: string,
  customers: readonly string[],
  usage: Checkpoint | null,
  adjustments: Checkpoint | null,
): Promise<boolean> {
  const order = store.compareCheckpoints(usage, adjustments);
  if (order === 0 || customers.length === 0) return true;
  const wanted = new Set(customers);
  const [low, high] = order < 0 ? [usage, adjustments] : [adjustments, usage];
  for (let from = low; ;) {
    const page = await store.readAll(from, { maxCount: 500, types: PENDING_ADJUSTMENT_FACT_TYPES });
    for (const event of page.events) {
      if (store.compareCheckpoints(event.position, high) > 0) return true;
      if (event.metadata.tenant_id !== tenantId) continue;
      if (event.type === 'InvoiceVoided') return false;
      const data = event.data as AdjustmentRecorded['data'] | InvoiceClosed['data'];
      if (wanted.has(data.customer_id)) return false;
    }
    if (page.atHead || store.compareCheckpoints(page.checkpoint, high) >= 0) return true;
    from = page.checkpoint;
  }
}
