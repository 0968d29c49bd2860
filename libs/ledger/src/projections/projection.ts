import type { PoolClient } from 'pg';
import type { RecordedEvent } from '../event-store';

/**
 * A named, versioned read model. The runtime gives each version its own physical tables
 * (`<logical>__v<version>`) and serves reads through a view named `<logical>` that points at the
 * active version, so a rebuild fills fresh tables while the old version keeps serving, then switches
 * the views in one transaction.
 */
export interface Projection {
  /** `api_keys`, `usage_summaries`… */
  readonly name: string;
  /** Bump when the read model's shape or meaning changes; a new version is built from position 0. */
  readonly version: number;
  /** Logical table name -> DDL creating it under the given physical name. */
  readonly tables: Readonly<Record<string, (physicalName: string) => string>>;
  /** Only these event types are handed to `apply` (the checkpoint still advances past others). */
  readonly eventTypes?: readonly string[];
  /**
   * Every event type but these is handed to `apply` (with `eventTypes`: those minus these). For a
   * projection that wants everything except the bulk of the log: the skipped events are never read.
   */
  readonly excludedEventTypes?: readonly string[];
  /**
   * Optional: the part of a batch's work that needs no database (validating and encoding its
   * events), called when the runner reads a page ahead, while the previous batch still runs in
   * Postgres, so that it leaves the batch's serial path. It keeps its result itself (e.g. in a
   * WeakMap keyed by the events array, which pages share and never mutate) for `apply` to take;
   * `apply` must do the same work when it finds none (a page not read ahead). Should it throw, the
   * runner ignores it and `apply` meets the failure again, as the batch's.
   */
  prepare?(events: readonly RecordedEvent[]): void;
  /**
   * Applies a batch inside the runtime's transaction (the checkpoint is written in the same one).
   * Must be idempotent and must never throw on a valid event.
   */
  apply(events: readonly RecordedEvent[], context: ProjectionContext): Promise<void>;
}

export interface ProjectionContext {
  readonly client: PoolClient;
  /** Physical name of a logical table for the version being written. */
  table(logical: string): string;
}
