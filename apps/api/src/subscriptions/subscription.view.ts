import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  BILLING_ANCHOR_KINDS,
  BILLING_INTERVALS,
  currentPeriod,
  endsAt,
  isLive,
  type BillingAnchorKind,
  type BillingInterval,
  type Charge,
  type Entitlements,
  type PeriodProration,
  type Subscription,
} from '#domain';

export class PeriodView {
  @ApiProperty({ format: 'date-time', example: '2026-03-01T05:00:00.000Z' })
  start!: string;

  @ApiProperty({ format: 'date-time', example: '2026-04-01T04:00:00.000Z' })
  end_exclusive!: string;
}

export class BillingAnchorView {
  @ApiProperty({ enum: BILLING_ANCHOR_KINDS })
  kind!: BillingAnchorKind;

  @ApiProperty({ format: 'date-time', description: 'periods start at this wall-clock time in the customer zone' })
  at!: string;
}

export class FlatFeeProrationView {
  @ApiProperty({ example: 'base' })
  charge_key!: string;

  @ApiProperty({ example: '0.4516129032' })
  proration_factor!: string;
}

export class ProrationView {
  @ApiProperty({ type: PeriodView })
  period!: PeriodView;

  @ApiProperty({ format: 'date-time' })
  active_from!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'null: to the end of the period' })
  active_to_exclusive!: string | null;

  @ApiProperty({ example: '0.4516129032', description: 'active days / period days (partial days count whole)' })
  factor!: string;

  @ApiProperty({ type: [FlatFeeProrationView] })
  flat_fees!: FlatFeeProrationView[];
}

export class SubscriptionView {
  @ApiProperty({ example: 'sub_3f9c0a…' })
  id!: string;

  @ApiProperty({ example: 'cust_acme' })
  customer_id!: string;

  @ApiProperty({ example: 'pro' })
  plan_key!: string;

  @ApiProperty({ example: 1, description: 'locked: later versions of the plan never change it' })
  plan_version!: number;

  @ApiProperty({
    enum: ['active', 'cancelled', 'plan_changed'],
    description: 'what was recorded (a cancelled subscription may still run to its period end: see `live`)',
  })
  status!: Subscription['status'];

  @ApiProperty({ description: 'not ended at the time of the request (one that starts later is live)' })
  live!: boolean;

  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({ example: 'America/New_York', description: "the customer's zone: periods are computed in it" })
  timezone!: string;

  @ApiProperty({ enum: BILLING_INTERVALS })
  billing_interval!: BillingInterval;

  @ApiProperty({ format: 'date-time' })
  start_date!: string;

  @ApiProperty({ type: BillingAnchorView })
  billing_anchor!: BillingAnchorView;

  @ApiProperty({
    type: PeriodView,
    nullable: true,
    description: 'the period at the time of the request (the first one before the start); null once ended',
  })
  current_period!: PeriodView | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when it ends (exclusive)' })
  ends_at!: string | null;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'the locked charges, overrides applied',
  })
  charges!: Charge[];

  @ApiProperty({ type: 'object', additionalProperties: true, example: { charges: {} } })
  overrides!: { charges: Record<string, Charge> };

  @ApiProperty({ type: String, nullable: true })
  minimum_commitment!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  entitlements!: Entitlements;

  @ApiProperty({ type: String, nullable: true, description: 'the subscription this one continues (plan change)' })
  previous_subscription_id!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'the subscription that continues this one (plan change)' })
  next_subscription_id!: string | null;

  @ApiProperty({
    type: ProrationView,
    description: 'the first period, partial after a plan change or a calendar anchor',
  })
  first_period!: ProrationView;

  @ApiProperty({ type: ProrationView, nullable: true, description: 'the last period, once an end is recorded' })
  final_period!: ProrationView | null;

  @ApiPropertyOptional({ type: String, format: 'date-time', nullable: true, description: 'when the end was recorded' })
  ended_at!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;
}

export class SubscriptionPage {
  @ApiProperty({ type: [SubscriptionView] })
  data!: SubscriptionView[];

  @ApiPropertyOptional({ type: String, nullable: true })
  next_cursor!: string | null;
}

function proration(value: PeriodProration): ProrationView {
  return { ...value, flat_fees: value.flat_fees.map((fee) => ({ ...fee })) };
}

/** `now` comes from the caller (the request time): current_period and live are about that instant. */
export function toSubscriptionView(subscription: Subscription, now: Date): SubscriptionView {
  const { end } = subscription;
  return {
    id: subscription.subscription_id,
    customer_id: subscription.customer_id,
    plan_key: subscription.plan_key,
    plan_version: subscription.plan_version,
    status: subscription.status,
    live: isLive(subscription, now),
    currency: subscription.currency,
    timezone: subscription.timezone,
    billing_interval: subscription.billing_interval,
    start_date: subscription.start_date,
    billing_anchor: subscription.billing_anchor,
    current_period: currentPeriod(subscription, now),
    ends_at: endsAt(subscription),
    charges: subscription.charges,
    overrides: subscription.overrides,
    minimum_commitment: subscription.minimum_commitment,
    entitlements: subscription.entitlements,
    previous_subscription_id: subscription.previous_subscription_id,
    next_subscription_id: end?.reason === 'plan_changed' ? end.next_subscription_id : null,
    first_period: proration(subscription.first_period),
    final_period: end === null ? null : proration(end.final_period),
    ended_at: end === null ? null : end.reason === 'cancelled' ? end.cancelled_at : end.changed_at,
    created_at: subscription.created_at,
  };
}
