import {
  METRIC_STREAM_CATEGORY,
  SUBSCRIPTION_STREAM_CATEGORY,
  SubscriptionError,
  metricDecider,
  subscriptionDecider,
  usageMeasuresOf,
  type Metric,
  type MetricEvent,
  type Subscription,
  type SubscriptionEvent,
} from '#domain';
import { streamName, type Checkpoint, type EventStore } from '#ledger';
import { readStreamAsOf } from './log-reads';

/** What pricing a subscription needs from the catalog: the subscription and the metrics its charges name. */
export interface BillingCatalog {
  subscription: Subscription;
  metrics: Map<string, Metric>;
}

const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9]{1,64}$/;

function notFound(id: string): SubscriptionError {
  return new SubscriptionError('SUBSCRIPTION.NOT_FOUND', `no subscription ${id}`);
}

/**
 * The subscription and its metrics folded from their own streams, as the log stood at `asOf`
 * (undefined: now). Both calculation loaders read the catalog this way (never from a read model), so
 * they price with the same subscription snapshot and the same metric versions.
 * Throws SUBSCRIPTION.NOT_FOUND.
 */
export async function loadBillingCatalog(
  store: EventStore,
  tenantId: string,
  subscriptionId: string,
  asOf?: Checkpoint | null,
): Promise<BillingCatalog> {
  if (!SUBSCRIPTION_ID.test(subscriptionId)) throw notFound(subscriptionId);
  const recorded = await readStreamAsOf(
    store,
    streamName(tenantId, SUBSCRIPTION_STREAM_CATEGORY, subscriptionId),
    asOf,
  );
  const state = recorded.reduce(
    (s, e) => subscriptionDecider.evolve(s, { type: e.type, data: e.data } as SubscriptionEvent),
    subscriptionDecider.initialState(),
  );
  if (state.status === 'absent') throw notFound(subscriptionId);
  const keys = [...new Set(usageMeasuresOf(state.subscription.charges).map((measure) => measure.metric_key))];
  const metrics = await Promise.all(keys.map((key) => loadMetricAsOf(store, tenantId, key, asOf)));
  return {
    subscription: state.subscription,
    metrics: new Map(metrics.filter((m): m is Metric => m !== null).map((metric) => [metric.key, metric])),
  };
}

/** A metric folded from its stream as of `asOf`; null when it did not exist then. */
export async function loadMetricAsOf(
  store: EventStore,
  tenantId: string,
  key: string,
  asOf?: Checkpoint | null,
): Promise<Metric | null> {
  const recorded = await readStreamAsOf(store, streamName(tenantId, METRIC_STREAM_CATEGORY, key), asOf);
  const state = recorded.reduce(
    (s, e) => metricDecider.evolve(s, { type: e.type, data: e.data } as MetricEvent),
    metricDecider.initialState(),
  );
  return state.status === 'absent' ? null : state.metric;
}
