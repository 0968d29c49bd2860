export * from './usage-writer';
export { appendUsage, judge, readUsageKeys, usageKeyOf, type StoredUsageKey } from './usage-append';
export { UsageGroupCommitWriter, type UsageGroupCommitOptions, type UsageGroupCommitStats } from './usage-group-commit';
export { StoreUsageWriter } from './usage-store-writer';
export {
  findUsageKey,
  readUsageVoid,
  voidUsageInPostgres,
  voidUsageThroughStore,
  type UsageKeyRecord,
  type UsageVoidRecord,
  type VoidUsageInput,
  type VoidUsageResult,
} from './usage-void';
