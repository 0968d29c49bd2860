/**
 * SEAM for the subscriptions area: how many of a customer's subscriptions are live (not ended).
 * Archiving a customer passes this count to the decider, which refuses with
 * CUSTOMER.HAS_LIVE_SUBSCRIPTIONS when it is above 0. Replace the provider of
 * LIVE_SUBSCRIPTION_COUNTER in CustomersModule with the real count once subscriptions exist.
 */
export interface LiveSubscriptionCounter {
  countLive(tenantId: string, customerId: string): Promise<number>;
}

export const LIVE_SUBSCRIPTION_COUNTER = Symbol('LIVE_SUBSCRIPTION_COUNTER');

/** Until subscriptions exist, no customer has any. */
export class NoSubscriptionsYet implements LiveSubscriptionCounter {
  async countLive(): Promise<number> {
    return 0;
  }
}
