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
