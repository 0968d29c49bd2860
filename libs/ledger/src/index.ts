export * from './event-store';
export * from './streams';
export * from './projections/projection';
export { physicalTableName, type BuildKey } from './projections/projection-naming';
export { readBuilds, type BuildStatus, type CatalogRow } from './projections/projection-catalog';
export { DEFAULT_BATCH_SIZE, ProjectionApplyError } from './projections/projection-batch';
export {
  ensureProjection,
  rebuildProjection,
  ProjectionVersionError,
  UnknownProjectionError,
  type EnsureResult,
  type RebuildProgress,
  type RebuildProjectionOptions,
  type RebuildResult,
} from './projections/projection-rebuild';
export {
  projectionStatus,
  STATUS_COUNT_LIMIT,
  type ProjectionStatus,
  type ProjectionStatusOptions,
} from './projections/projection-status';
export {
  waitForPosition,
  ProjectionWaitTimeoutError,
  type WaitForPositionOptions,
} from './projections/projection-barrier';
export { projectorMetrics, type ProjectorMetrics } from './projections/projection-metrics';
export {
  ProjectionRunner,
  type ProjectionLogger,
  type ProjectionRunnerOptions,
  type ProjectionRunnerStats,
} from './projections/projection-runner';
export {
  DEFAULT_NOTIFY_CHANNEL,
  PostgresEventStore,
  type PostgresEventStoreOptions,
  type StreamFieldsEvent,
  type StreamFieldsOptions,
} from './postgres/postgres-event-store';
export { AppendOrderConflictError, InvalidEventError } from './postgres/postgres-append';
export { createEventStore, type CreateEventStoreOptions } from './event-store.factory';
// Types only: the class (and the KurrentDB client under it) loads when createEventStore is given a KurrentDB URL.
export type { KurrentEventStore, KurrentEventStoreOptions } from './kurrent/kurrent-event-store';
export {
  InvalidEventStoreUrlError,
  isKurrentConnectionString,
  redactConnectionString,
} from './kurrent/kurrent-connection';
export * from './usage';
export * from './journal';
export * from './invoicing';
