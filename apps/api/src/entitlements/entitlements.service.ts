import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Entitlement } from '#domain';
import type { Checkpoint, EventStore } from '#ledger';
import { CatalogDirectory } from '../common/catalog-directory';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { summarizeUsage } from '../usage/usage-reader';
import {
  entitlementView,
  notSubscribed,
  unknownFeature,
  type EntitlementMeta,
  type EntitlementView,
  type LimitUsage,
} from './entitlement.view';
import {
  SubscriptionDirectory,
  type CachedPeriod,
  type EntitledSubscription,
  type NoSubscriptionReason,
  type SubscriptionInForce,
} from './subscription-directory';
import { SingleFlight } from './single-flight';
import { UsageLag } from './usage-lag';

/** How long a check of a customer without a subscription waits for the directory to reach the log's end. */
export const MISS_BARRIER_MS = 1_000;
/** SQLSTATE undefined_table: the projector has not created the usage read model yet. */
const UNDEFINED_TABLE = '42P01';

export type EntitlementCheckView = EntitlementView & { customer_id: string; meta: EntitlementMeta };

export interface EntitlementListView {
  customer_id: string;
  data: EntitlementView[];
  /** Every feature fits one page (a plan has at most 100, overrides at most 100 more); by key. */
  next_cursor: null;
  /** Why `data` is empty: no subscription in force. */
  reason?: NoSubscriptionReason;
  meta: EntitlementMeta;
}

/**
 * Entitlement checks, on the caller's hot path: the customer (catalog directory) and the
 * subscription in force with its entitlements (subscription directory) come from memory; a limit on a
 * metric costs one read of the usage projection's pre-aggregated buckets for the current billing
 * period; `lag_seconds` comes from a shared measure refreshed at most every 250 ms.
 */
@Injectable()
export class EntitlementsService {
  /** Usage reads in flight, by tenant, customer, metric and period start. */
  private readonly usageReads = new SingleFlight<LimitUsage | undefined>();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
    private readonly directory: SubscriptionDirectory,
    private readonly lag: UsageLag,
  ) {}

  async check(tenantId: string, customerId: string, feature: string, now = new Date()): Promise<EntitlementCheckView> {
    const lag = this.lag.seconds();
    lag.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    const found = await this.inForce(tenantId, customerId, now);
    const meta = async (): Promise<EntitlementMeta> => ({
      consistency: 'eventual',
      lag_seconds: await lag,
      subscription_id: found.subscription?.subscriptionId ?? null,
    });
    if (found.subscription === undefined) {
      return { customer_id: customerId, ...notSubscribed(feature, found.reason), meta: await meta() };
    }
    const entitlement = entitlementOf(found.subscription, feature);
    if (entitlement === undefined) return { customer_id: customerId, ...unknownFeature(feature), meta: await meta() };
    const usage = await this.limitUsage(found.subscription, entitlement, now);
    return { customer_id: customerId, ...entitlementView(feature, entitlement, usage), meta: await meta() };
  }

  async list(tenantId: string, customerId: string, now = new Date()): Promise<EntitlementListView> {
    const lag = this.lag.seconds();
    lag.catch(() => undefined);
    const found = await this.inForce(tenantId, customerId, now);
    const subscription = found.subscription;
    const meta = async (): Promise<EntitlementMeta> => ({
      consistency: 'eventual',
      lag_seconds: await lag,
      subscription_id: subscription?.subscriptionId ?? null,
    });
    if (subscription === undefined) {
      return { customer_id: customerId, data: [], next_cursor: null, reason: found.reason, meta: await meta() };
    }
    // By key: the snapshot's member order is not kept (the log stores jsonb).
    const entries = Object.entries(subscription.entitlements).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // One usage read per metered metric, whatever the number of limits on it.
    const usages = new Map<string, Promise<LimitUsage | undefined>>();
    for (const [, entitlement] of entries) {
      if (entitlement.type !== 'limit' || entitlement.metric_key === null || usages.has(entitlement.metric_key))
        continue;
      usages.set(entitlement.metric_key, this.limitUsage(subscription, entitlement, now));
    }
    const data = await Promise.all(
      entries.map(async ([feature, entitlement]) => {
        const metric = entitlement.type === 'limit' ? entitlement.metric_key : null;
        return entitlementView(feature, entitlement, metric === null ? undefined : await usages.get(metric));
      }),
    );
    return { customer_id: customerId, data, next_cursor: null, meta: await meta() };
  }

  /**
   * The customer (404 when unknown in the tenant) and its subscription in force, from memory. With
   * none in memory, first a barrier: the directory reaches the last event committed now, so a
   * subscription started just before (on this replica or another) is seen (read-your-writes).
   */
  private async inForce(tenantId: string, customerId: string, now: Date): Promise<SubscriptionInForce> {
    const customer = await this.catalog.customer(tenantId, customerId);
    if (customer === null) throw new ApiProblem('CUSTOMER.NOT_FOUND', `customer ${customerId} not found`);
    const found = this.directory.inForce(tenantId, customerId, now.getTime());
    if (found.subscription !== undefined) return found;
    await this.directory.waitFor(await this.lastCommitted(), MISS_BARRIER_MS);
    return this.directory.inForce(tenantId, customerId, now.getTime());
  }

  /**
   * A metered limit's usage in the subscription's current period: one read of the buckets. Checks of
   * the same customer, metric and period while that read is in flight share it (a busy customer's
   * checks arrive together): an answer is then at most one read older than its request, well within
   * the eventual consistency the response declares.
   */
  private limitUsage(
    subscription: EntitledSubscription,
    entitlement: Entitlement,
    now: Date,
  ): Promise<LimitUsage | undefined> {
    if (entitlement.type !== 'limit' || entitlement.metric_key === null) return Promise.resolve(undefined);
    const period = this.directory.periodAt(subscription, now.getTime());
    const metricKey = entitlement.metric_key;
    const key = `${subscription.tenantId}\n${subscription.customerId}\n${metricKey}\n${period.start}`;
    return this.usageReads.run(key, () => this.readUsage(subscription, metricKey, period));
  }

  private async readUsage(
    subscription: EntitledSubscription,
    metricKey: string,
    period: CachedPeriod,
  ): Promise<LimitUsage | undefined> {
    // The catalog directory's versions (memory): the usage projection's own copy would cost a read.
    const metric = await this.catalog.metric(subscription.tenantId, metricKey);
    if (metric === null) return undefined;
    try {
      const usage = await summarizeUsage(
        this.pool,
        { tenantId: subscription.tenantId, customerId: subscription.customerId, metricKey: metric.key },
        metric,
        { start: period.start, end: period.end },
      );
      return { value: usage.value, period: { start: period.start, end: period.end } };
    } catch (error) {
      if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
      throw new ApiProblem('SERVICE.UNAVAILABLE', 'the usage read model is not built yet; is the projector running?', {
        headers: { 'retry-after': '5' },
      });
    }
  }

  /**
   * The last event committed now. For the Postgres store not headCheckpoint(): that stops below any
   * transaction still open (a projector batch, a group commit), possibly before the caller's write.
   */
  private async lastCommitted(): Promise<Checkpoint | null> {
    if (this.store.kind !== 'postgres') return this.store.headCheckpoint();
    const { rows } = await this.pool.query<{ checkpoint: string }>(
      `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
    );
    return rows[0]?.checkpoint ?? null;
  }
}

/** The subscription's entitlement of that key; own keys only (a feature named `constructor` is unknown). */
function entitlementOf(subscription: EntitledSubscription, feature: string): Entitlement | undefined {
  return Object.hasOwn(subscription.entitlements, feature) ? subscription.entitlements[feature] : undefined;
}
