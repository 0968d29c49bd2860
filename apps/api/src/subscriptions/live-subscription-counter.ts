import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  SUBSCRIPTION_EVENT_TYPES,
  evolveSubscription,
  isLive,
  usesMetric,
  type Subscription,
  type SubscriptionEvent,
  type SubscriptionTerms as SubscriptionStartedData,
} from '#domain';
import { ProjectionWaitTimeoutError, waitForPosition, type Checkpoint, type EventStore } from '#ledger';
import type { LiveSubscriptionCounter } from '../customers/live-subscriptions';
import { readToHead } from '../common/read-to-head';
import { EVENT_STORE, PG_POOL } from '../common/tokens';

/** How long a count waits for a lagging `subscriptions` read model before reading the log instead. */
const CATCH_UP_WAIT_MS = 1_000;
const SCAN_PAGE = 1_000;

/**
 * How many of a customer's subscriptions are live now (not ended; scheduled ones count), for
 * archiving customers (CUSTOMER.HAS_LIVE_SUBSCRIPTIONS), and which live subscriptions use a metric,
 * for archiving metrics (METRIC.IN_USE). From the `subscriptions` read model once
 * it has applied every event visible now; when it is behind after a short wait, or was never built
 * (no projector yet), from the subscription events of the log itself, so the answer never depends
 * on the projector running.
 */
@Injectable()
export class LiveSubscriptionsCounter implements LiveSubscriptionCounter {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async countLive(tenantId: string, customerId: string): Promise<number> {
    const now = new Date();
    if (await this.readModelIsCurrent()) {
      const fromReadModel = await this.countInReadModel(tenantId, customerId, now);
      if (fromReadModel !== null) return fromReadModel;
    }
    return this.countInLog(tenantId, customerId, now);
  }

  /** Ids of the live subscriptions whose charges or entitlement limits read the metric, sorted. */
  async liveUsingMetric(tenantId: string, metricKey: string): Promise<string[]> {
    const now = new Date();
    if (await this.readModelIsCurrent()) {
      const fromReadModel = await this.usingMetricInReadModel(tenantId, metricKey, now);
      if (fromReadModel !== null) return fromReadModel;
    }
    const live = await this.liveInLog(tenantId, () => true, now);
    return live
      .filter((subscription) => usesMetric(subscription, metricKey))
      .map((subscription) => subscription.subscription_id)
      .sort();
  }

  private async readModelIsCurrent(): Promise<boolean> {
    const live = await this.pool.query<{ checkpoint: Checkpoint | null }>(
      `SELECT checkpoint FROM projections WHERE name = 'subscriptions' AND status = 'live'`,
    );
    if (live.rows.length === 0) return false;
    const head = await this.store.headCheckpoint();
    // A subscription committed a moment ago but still behind an open transaction is not in the head
    // yet: only the log read (which waits for it) counts it.
    if ((await this.store.readAll(head, { maxCount: 1 })).pending) return false;
    if (this.store.compareCheckpoints(live.rows[0].checkpoint, head) >= 0) return true;
    try {
      await waitForPosition({ pool: this.pool, store: this.store }, 'subscriptions', head, CATCH_UP_WAIT_MS);
      return true;
    } catch (error) {
      if (error instanceof ProjectionWaitTimeoutError) return false;
      throw error;
    }
  }

  private async countInReadModel(tenantId: string, customerId: string, now: Date): Promise<number | null> {
    try {
      const result = await this.pool.query<{ live: number }>(
        `SELECT count(*)::int AS live FROM subscriptions
          WHERE tenant_id = $1 AND customer_id = $2 AND (ends_at IS NULL OR ends_at > $3)`,
        [tenantId, customerId, now],
      );
      return result.rows[0].live;
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return null; // the view is gone mid-rebuild: read the log
      throw error;
    }
  }

  /** The read model's filter finds the candidates; usesMetric decides, as the log path does. */
  private async usingMetricInReadModel(tenantId: string, metricKey: string, now: Date): Promise<string[] | null> {
    try {
      const result = await this.pool.query<{ id: string; subscription: Subscription }>(
        `SELECT id, subscription FROM subscriptions
          WHERE tenant_id = $1 AND (ends_at IS NULL OR ends_at > $3)
            AND (subscription->'charges' @> jsonb_build_array(jsonb_build_object('metric_key', $2::text))
                 OR jsonb_path_exists(subscription->'entitlements', '$.* ? (@.metric_key == $m)',
                                      jsonb_build_object('m', $2::text)))
          ORDER BY id`,
        [tenantId, metricKey, now],
      );
      return result.rows.filter((row) => usesMetric(row.subscription, metricKey)).map((row) => row.id);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') return null; // the view is gone mid-rebuild: read the log
      throw error;
    }
  }

  private async countInLog(tenantId: string, customerId: string, now: Date): Promise<number> {
    return (await this.liveInLog(tenantId, (started) => started.customer_id === customerId, now)).length;
  }

  /**
   * Folds the subscription events of the log (all tenants' pass by): the tenant's subscriptions whose
   * start `keep` takes, live at `now`.
   */
  private async liveInLog(
    tenantId: string,
    keep: (started: SubscriptionStartedData) => boolean,
    now: Date,
  ): Promise<Subscription[]> {
    const mine = new Map<string, Subscription | undefined>();
    await readToHead(this.store, null, { types: SUBSCRIPTION_EVENT_TYPES, maxCount: SCAN_PAGE }, (events) => {
      for (const recorded of events) {
        if (recorded.metadata.tenant_id !== tenantId) continue;
        const event = { type: recorded.type, data: recorded.data } as SubscriptionEvent;
        const id = event.data.subscription_id;
        if (event.type === 'SubscriptionStarted' && keep(event.data)) mine.set(id, undefined);
        if (mine.has(id)) mine.set(id, evolveSubscription(mine.get(id), event));
      }
    });
    return [...mine.values()].filter(
      (subscription): subscription is Subscription => subscription !== undefined && isLive(subscription, now),
    );
  }
}
