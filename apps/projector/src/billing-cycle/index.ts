export {
  BILLING_CYCLE_PROJECTIONS,
  billingCycleIntervalMs,
  startBillingCycle,
  type BillingCycle,
  type BillingCycleOptions,
} from './billing-cycle';
export { BillingLease, BILLING_CYCLE_LOCK } from './billing-lease';
export { endedPeriods, nextPeriodEnd, type EndedPeriod } from './ended-periods';
export type { TickFailure, TickReport } from './tick-report';
export { lateUsageProjection, LATE_USAGE_PROJECTION } from './late-usage.projection';
export {
  LATE_USAGE_CHECKED,
  LATE_USAGE_STREAM_CATEGORY,
  lateUsageStream,
  type LateUsageChecked,
} from './late-usage.events';
export { checkLateUsage, adjustmentIdFor } from './late-usage-check';
export { creditNoteInvoiceId } from './credit-notes';
