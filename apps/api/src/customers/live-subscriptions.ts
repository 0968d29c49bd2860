/**
 * How many of a customer's subscriptions are live (not ended). Archiving a customer passes this count
 * to the decider, which refuses with CUSTOMER.HAS_LIVE_SUBSCRIPTIONS when it is above 0. The
 * subscriptions area provides it (`LiveSubscriptionsCounter` in CustomersModule).
 */
export interface LiveSubscriptionCounter {
  countLive(tenantId: string, customerId: string): Promise<number>;
  /** Ids of the live subscriptions whose charges or entitlement limits read the metric (METRIC.IN_USE), sorted. */
  liveUsingMetric(tenantId: string, metricKey: string): Promise<string[]>;
}

export const LIVE_SUBSCRIPTION_COUNTER = Symbol('LIVE_SUBSCRIPTION_COUNTER');
