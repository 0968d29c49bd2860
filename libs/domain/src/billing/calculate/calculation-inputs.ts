import type { BillingAnchor, PeriodProration } from '../../catalog/subscriptions';
import type { MetricVersion } from '../../catalog/metrics';
import type { DecimalString } from '../../decimal';
import type { BillingInterval, BillingPeriod } from '../../periods';
import type { Charge, GroupedUsage } from '../../pricing';
import type { CalculationAdjustment } from '../calculation';
import type { Checksum } from '../checksum';

/**
 * Everything a calculation is computed from, and nothing else: `calculateSubscription(inputs)` is a
 * pure function of it. Two loaders build it (apps/api/src/billing/calculation): the fast one from the
 * read models (exact usage scan), the audit one from the event store alone. Both must give the same
 * inputs, byte for byte (canonicalJson), for the same log: that is what lets someone who does not
 * trust our read models reproduce any calculation, and so any invoice.
 */
export interface CalculationInputs {
  subscription: SubscriptionPricing;
  /** The billing period priced: one of the subscription's periods, in which it is active. */
  period: BillingPeriod;
  /**
   * The subscription's share of the period (its recorded first or final period proration, else the
   * whole period): flat fees and the minimum commitment are prorated by it.
   */
  proration: PeriodProration;
  /**
   * [start, end_exclusive) of the usage billed: the part of the period the subscription is active in
   * (the whole period, except in a first or final partial period), so that two subscriptions of one
   * customer (a plan change mid-period) never bill the same events.
   */
  usage_window: BillingPeriod;
  /** The metrics the charges price, with the versions in force during the usage window (ascending). */
  metrics: MeteredMetricVersions[];
  /** One entry per usage charge (every model but flat_fee), in the subscription's charge order. */
  usage: ChargeUsage[];
  /** The customer's pending adjustments in the subscription's currency, by adjustment_id (code units). */
  adjustments: CalculationAdjustment[];
}

/** The locked pricing of a subscription (its SubscriptionStarted snapshot, overrides applied). */
export interface SubscriptionPricing {
  subscription_id: string;
  customer_id: string;
  plan_key: string;
  plan_version: number;
  currency: string;
  timezone: string;
  billing_interval: BillingInterval;
  billing_anchor: BillingAnchor;
  start_date: string;
  /** null: open-ended. */
  ends_at: string | null;
  charges: Charge[];
  minimum_commitment: DecimalString | null;
}

export interface MeteredMetricVersions {
  key: string;
  versions: MetricVersion[];
}

/** A usage charge's quantity over the usage window, as the exact usage compute gives it. */
export interface ChargeUsage {
  charge_key: string;
  metric_key: string;
  /** The window's aggregated value as pricing takes it (no value: "0"); a matrix prices `groups` instead. */
  quantity: DecimalString;
  /** Matrix charges: one quantity per group of the charge's dimensions, by group key; null otherwise. */
  groups: GroupedUsage | null;
  /** The metric versions in force during the usage window, ascending. */
  meter_versions: number[];
  /** usageChecksum (abaxus-usage-checksum/1) of the window's counted events of the metric. */
  usage_checksum: Checksum;
}
