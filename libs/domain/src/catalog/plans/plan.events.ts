import type { DecimalString } from '../../decimal';
import type { BillingInterval } from '../../periods';
import type { Charge } from '../../pricing';
import type { Entitlements } from './entitlements';

/**
 * Price plan events, in the stream `<tenant>:plan-<key>` (`streamName(tenant, PLAN_STREAM_CATEGORY, key)`).
 * A plan is a list of numbered versions. A version starts as a draft (PlanDraftCreated), may be
 * replaced while it is a draft (PlanDraftUpdated, the whole content each time), and becomes immutable
 * when published (PlanVersionPublished, which repeats the whole normalized content so that an auditor
 * can reproduce every price from that one event). PlanDraftCreated of version 1 creates the plan.
 * PlanArchived stops new subscriptions; existing ones keep their locked version.
 */
export const PLAN_STREAM_CATEGORY = 'plan';

export const PLAN_EVENT_TYPES = [
  'PlanDraftCreated',
  'PlanDraftUpdated',
  'PlanVersionPublished',
  'PlanArchived',
] as const;

/** What one plan version prices, in its stored form: decimals as canonical strings, defaults spelled out. */
export interface PlanVersionContent {
  name: string;
  /** ISO 4217, upper case. */
  currency: string;
  billing_interval: BillingInterval;
  /** Normalized charges (see pricing/normalizeCharge), unique keys, in the order given. */
  charges: Charge[];
  /** Plan-level minimum per billing period; null: none. */
  minimum_commitment: DecimalString | null;
  entitlements: Entitlements;
}

export interface PlanDraftCreated {
  type: 'PlanDraftCreated';
  data: PlanVersionContent & {
    plan_key: string;
    /** 1 creates the plan; n > 1 starts the next draft. */
    version: number;
    created_at: string;
  };
}

export interface PlanDraftUpdated {
  type: 'PlanDraftUpdated';
  /** The draft's whole new content (not a diff). */
  data: PlanVersionContent & { plan_key: string; version: number; updated_at: string };
}

export interface PlanVersionPublished {
  type: 'PlanVersionPublished';
  /** The whole normalized content of the version, exactly as it is now locked. */
  data: PlanVersionContent & { plan_key: string; version: number; published_at: string };
}

export interface PlanArchived {
  type: 'PlanArchived';
  data: { plan_key: string; archived_at: string };
}

export type PlanEvent = PlanDraftCreated | PlanDraftUpdated | PlanVersionPublished | PlanArchived;
