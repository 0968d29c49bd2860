/**
 * Calculations, reproducibly: `calculate(inputs)` is pure (libs/domain calculateSubscription), and
 * two loaders build its inputs: `loadCalculationInputsFast` (read models, exact usage scan: the API
 * and the billing cycle) and `loadCalculationInputsFromLog` (the event store alone: reproduce and
 * audits). Nothing here imports Nest: the CLI can use it as is.
 */
export { calculateSubscription as calculate, type CalculationInputs } from '#domain';
export {
  loadCalculationInputsFast,
  type FastInputs,
  type InputsProvenance,
  type LoadFastOptions,
} from './load-inputs-fast';
export {
  loadCalculationInputsBatch,
  readCalculationInputsBatch,
  type BatchItem,
  type BatchOutcome,
  type LoadBatchOptions,
} from './load-inputs-batch';
export { readStreamsAsOf, type StreamEvent } from './stream-reads-batch';
export { scanUsageOfCustomers } from './usage-scan-batch';
export { loadCalculationInputsFromLog, usageMonths, type LoadFromLogOptions } from './load-inputs-from-log';
export { loadBillingCatalog, loadMetricAsOf, type BillingCatalog } from './billing-catalog';
export {
  CALCULATION_BARRIER_MS,
  CalculationNotCaughtUpError,
  adjustmentsAgree,
  passBarrier,
  type BarrierOptions,
} from './calculation-barrier';
export {
  CALCULATION_STREAM_CATEGORY,
  CHARGES_CALCULATED,
  calculationStream,
  findCalculation,
  recordCalculation,
  type ChargesCalculated,
  type RecordedCalculation,
} from './charges-calculated';
export { calculateCharges, calculationRecordOf, type CalculatedCharges } from './calculate-charges';
export { mergeInLogOrder, readStreamAsOf } from './log-reads';
