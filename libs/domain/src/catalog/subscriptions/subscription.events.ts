import type { DecimalString } from '../../decimal';
import type { BillingInterval, BillingPeriod } from '../../periods';
import type { Charge } from '../../pricing';
import type { Entitlements } from '../plans/entitlements';

/**
 * Subscription events, in the stream `<tenant>:subscription-<id>`
 * (`streamName(tenant, SUBSCRIPTION_STREAM_CATEGORY, id)`). A subscription binds a customer to ONE
 * published plan version, locked at start: SubscriptionStarted copies the version's pricing (with the
 * subscription's overrides applied) so that later plan versions never change it and billing needs
 * nothing else. It ends once, by SubscriptionCancelled or SubscriptionPlanChanged (which names the
 * subscription that continues it; that one's SubscriptionStarted names this one back).
 */
export const SUBSCRIPTION_STREAM_CATEGORY = 'subscription';

export const SUBSCRIPTION_EVENT_TYPES = [
  'SubscriptionStarted',
  'SubscriptionCancelled',
  'SubscriptionPlanChanged',
] as const;

/** `calendar`: periods are calendar periods; `anniversary`: they repeat from the start; `fixed`: from a given instant. */
export const BILLING_ANCHOR_KINDS = ['anniversary', 'calendar', 'fixed'] as const;
export type BillingAnchorKind = (typeof BILLING_ANCHOR_KINDS)[number];

export interface BillingAnchor {
  kind: BillingAnchorKind;
  /** RFC 3339 UTC: periods start at this wall-clock date and time in the customer's zone, every interval. */
  at: string;
}

/** The share of one billing period a subscription covers, as `prorationFactor` computes it. */
export interface PeriodProration {
  period: BillingPeriod;
  /** The subscription is active in the period from here… */
  active_from: string;
  /** …until here (exclusive); null: beyond the period's end. */
  active_to_exclusive: string | null;
  /** Active days / period days (partial days count whole), 10 decimals; "1" for the whole period. */
  factor: DecimalString;
  /** Every flat fee of the subscription with the factor it is charged at for this period. */
  flat_fees: Array<{ charge_key: string; proration_factor: DecimalString }>;
}

export const CANCEL_AT = ['now', 'period_end'] as const;
export type EndAt = (typeof CANCEL_AT)[number];

export interface SubscriptionStarted {
  type: 'SubscriptionStarted';
  data: {
    subscription_id: string;
    customer_id: string;
    plan_key: string;
    plan_version: number;
    /** The customer's (equal to the plan version's). */
    currency: string;
    /** The customer's IANA zone: periods are computed in it. */
    timezone: string;
    billing_interval: BillingInterval;
    /** RFC 3339 UTC. */
    start_date: string;
    billing_anchor: BillingAnchor;
    /** The plan version's charges, each override laid over the charge of its key. */
    charges: Charge[];
    /**
     * The overridden charges (merged and normalized), by charge key; {} for none. `entitlements`: the
     * overridden entitlements by key, present only when some are (absent in older events too).
     */
    overrides: { charges: Record<string, Charge>; entitlements?: Entitlements };
    minimum_commitment: DecimalString | null;
    /** The plan version's entitlements with `overrides.entitlements` laid over them (by key). */
    entitlements: Entitlements;
    /** The subscription this one continues after a plan change; null otherwise. */
    previous_subscription_id: string | null;
    /** The first period, usually partial after a plan change or with a calendar anchor. */
    first_period: PeriodProration;
    created_at: string;
  };
}

export interface SubscriptionCancelled {
  type: 'SubscriptionCancelled';
  data: {
    subscription_id: string;
    at: EndAt;
    /** RFC 3339 UTC: the subscription is live until this instant (exclusive). */
    ends_at: string;
    cancelled_at: string;
    /** The last period, partial when cancelled `now` mid-period. */
    final_period: PeriodProration;
  };
}

export interface SubscriptionPlanChanged {
  type: 'SubscriptionPlanChanged';
  data: {
    subscription_id: string;
    at: EndAt;
    /** This subscription ends and the next one starts at this instant. */
    ends_at: string;
    changed_at: string;
    next_subscription_id: string;
    next_plan_key: string;
    next_plan_version: number;
    /** This subscription's last period (the next one's first period is in its SubscriptionStarted). */
    final_period: PeriodProration;
  };
}

export type SubscriptionEvent = SubscriptionStarted | SubscriptionCancelled | SubscriptionPlanChanged;
