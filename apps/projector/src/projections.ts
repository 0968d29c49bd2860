import type { Projection } from '#ledger';
import { auditLogProjection } from './audit/audit-log.projection';
import { billingProjections } from './billing';
import { lateUsageProjection } from './billing-cycle/late-usage.projection';
import { customersProjection } from './catalog/customers.projection';
import { metricsProjection } from './catalog/metrics.projection';
import { plansProjection } from './catalog/plans.projection';
import { subscriptionsProjection } from './catalog/subscriptions.projection';
import { usageProjection } from './usage/usage.projection';

/**
 * Every projection the projector runs. Each area adds its own here
 * (`apps/projector/src/<area>/<name>.projection.ts`).
 */
export const projections: Projection[] = [
  auditLogProjection,
  metricsProjection,
  customersProjection,
  usageProjection,
  plansProjection,
  subscriptionsProjection,
  ...billingProjections,
  lateUsageProjection,
];
