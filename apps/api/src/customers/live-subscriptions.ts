/**
 * How many of a customer's subscriptions are live (not ended). Archiving a customer passes this count
 * to the decider, which refuses with CUSTOMER.HAS_LIVE_SUBSCRIPTIONS when it is above 0. The
 * subscriptions area provides it (`LiveSubscriptionsCounter` in CustomersModule).
 */
export interface LiveSubscriptionCounter {
  countLive(tenantId: string, customerId: string): Promise<number>;
}

export const LIVE_SUBSCRIPTION_COUNTER = Symbol('LIVE_SUBSCRIPTION_COUNTER');
