import { Dec, ZERO, toDecimalString, type Entitlement } from '#domain';
import type { NoSubscriptionReason } from './subscription-directory';

/*
 * The answers of GET /v1/entitlements/check and GET /v1/entitlements, as plain functions (no Nest):
 * what `granted`, `remaining` and `exceeded` mean is decided here, once.
 */

export type EntitlementDenial = NoSubscriptionReason | 'unknown_feature' | 'limit_exceeded';

export interface EntitlementMeta {
  consistency: 'eventual';
  /** Lag of the usage read model the limits' usage comes from: 0 at the head. */
  lag_seconds: number;
  subscription_id: string | null;
}

interface Base {
  feature: string;
  granted: boolean;
  /** Only when `granted` is false. */
  reason?: EntitlementDenial;
}

export type EntitlementView =
  | (Base & { type: 'boolean'; value: boolean })
  | (Base & { type: 'config'; value: string | number | boolean })
  | (Base & {
      type: 'limit';
      limit: string;
      /** The metric the limit counts; null: a plain number (seats…), nothing is metered. */
      metric_key: string | null;
      /** Usage of the current billing period (null without a metric). */
      usage: string | null;
      /** max(0, limit - usage) (null without a metric). */
      remaining: string | null;
      /** usage > limit (null without a metric). */
      exceeded: boolean | null;
      period_start?: string;
      period_end?: string;
    })
  | (Base & { type: null; granted: false; reason: EntitlementDenial });

/** A limit's usage in the subscription's current billing period. */
export interface LimitUsage {
  /** Null: nothing recorded in the period (counts as 0). */
  value: string | null;
  period: { start: string; end: string };
}

/**
 * One feature of the subscription in force.
 * - boolean: granted = its value; config: granted, with its value.
 * - limit with a metric: remaining = max(0, limit - usage), exceeded = usage > limit (at exactly the
 *   limit nothing is exceeded yet, but nothing remains), granted = not exceeded (reason
 *   `limit_exceeded` otherwise). A limit without a metric is granted and carries its number only.
 */
export function entitlementView(feature: string, entitlement: Entitlement, usage?: LimitUsage): EntitlementView {
  switch (entitlement.type) {
    case 'boolean':
      return { feature, type: 'boolean', granted: entitlement.value, value: entitlement.value };
    case 'config':
      return { feature, type: 'config', granted: true, value: entitlement.value };
    case 'limit':
      return limitView(feature, entitlement, usage);
    default: {
      // Entitlements come from stored events: an unknown type (a newer writer) is denied, never thrown.
      const unknown: never = entitlement;
      void unknown;
      return unknownFeature(feature);
    }
  }
}

function limitView(
  feature: string,
  entitlement: Extract<Entitlement, { type: 'limit' }>,
  usage: LimitUsage | undefined,
): EntitlementView {
  const limit = new Dec(entitlement.value);
  if (entitlement.metric_key === null || usage === undefined) {
    return {
      feature,
      type: 'limit',
      granted: true,
      limit: toDecimalString(limit),
      metric_key: entitlement.metric_key,
      usage: null,
      remaining: null,
      exceeded: null,
    };
  }
  const used = usage.value === null ? ZERO : new Dec(usage.value);
  const exceeded = used.greaterThan(limit);
  const remaining = used.greaterThanOrEqualTo(limit) ? ZERO : limit.minus(used);
  return {
    feature,
    type: 'limit',
    granted: !exceeded,
    ...(exceeded ? { reason: 'limit_exceeded' as const } : {}),
    limit: toDecimalString(limit),
    metric_key: entitlement.metric_key,
    usage: toDecimalString(used),
    remaining: toDecimalString(remaining),
    exceeded,
    period_start: usage.period.start,
    period_end: usage.period.end,
  };
}

export function unknownFeature(feature: string): EntitlementView {
  return { feature, type: null, granted: false, reason: 'unknown_feature' };
}

export function notSubscribed(feature: string, reason: NoSubscriptionReason): EntitlementView {
  return { feature, type: null, granted: false, reason };
}
