import type { Pool } from 'pg';
import type { Checkpoint, EventStore } from '../event-store';
import type { Projection } from './projection';
import { readBuilds, type BuildStatus, type CatalogRow } from './projection-catalog';
import { measureLag } from './projection-metrics';

/** Counting further than this is not worth the scan: the status says "at least". */
export const STATUS_COUNT_LIMIT = 1_000_000;

/** One build of one projection, as `abaxus projections status` prints it (snake_case: emitted as JSON). */
export interface ProjectionStatus {
  name: string;
  version: number;
  build: number;
  /** `not_started`: registered in code, no catalog row yet (the projector never ran it). */
  status: BuildStatus | 'not_started';
  /** Version of the projection in the calling code (null when the caller passed no projections). */
  code_version: number | null;
  checkpoint: Checkpoint | null;
  events_applied: number;
  /** Events visible after the checkpoint, at most STATUS_COUNT_LIMIT. */
  events_behind: number;
  /** Age of the oldest event not yet applied; 0 at the head. */
  lag_seconds: number;
  last_error: string | null;
  last_error_at: string | null;
  updated_at: string | null;
  switched_at: string | null;
}

export interface ProjectionStatusOptions {
  pool: Pool;
  store: EventStore;
  /** The projections registered in code: adds `code_version` and lists never-started ones. */
  projections?: readonly Projection[];
  includeRetired?: boolean;
}

async function statusOf(store: EventStore, row: CatalogRow, codeVersion: number | null): Promise<ProjectionStatus> {
  // A retired build's lag means nothing: nobody reads it and nobody advances it.
  const lag =
    row.status === 'retired'
      ? { eventsBehind: 0, lagSeconds: 0 }
      : await measureLag(store, row.checkpoint, STATUS_COUNT_LIMIT);
  return {
    name: row.name,
    version: row.version,
    build: row.build,
    status: row.status,
    code_version: codeVersion,
    checkpoint: row.checkpoint,
    events_applied: row.eventsApplied,
    events_behind: lag.eventsBehind,
    lag_seconds: lag.lagSeconds,
    last_error: row.lastError,
    last_error_at: row.lastErrorAt?.toISOString() ?? null,
    updated_at: row.updatedAt.toISOString(),
    switched_at: row.switchedAt?.toISOString() ?? null,
  };
}

/** Every active build (live and building; retired ones on request), with its lag behind the log head. */
export async function projectionStatus(options: ProjectionStatusOptions): Promise<ProjectionStatus[]> {
  const rows = await readBuilds(options.pool, { includeRetired: options.includeRetired });
  const codeVersions = new Map((options.projections ?? []).map((p) => [p.name, p.version]));
  const known = options.projections ? (name: string) => codeVersions.get(name) ?? null : () => null;
  const statuses: ProjectionStatus[] = [];
  for (const row of rows) statuses.push(await statusOf(options.store, row, known(row.name)));
  for (const projection of options.projections ?? []) {
    if (rows.some((row) => row.name === projection.name)) continue;
    const lag = await measureLag(options.store, null, STATUS_COUNT_LIMIT);
    statuses.push({
      name: projection.name,
      version: projection.version,
      build: 0,
      status: 'not_started',
      code_version: projection.version,
      checkpoint: null,
      events_applied: 0,
      events_behind: lag.eventsBehind,
      lag_seconds: lag.lagSeconds,
      last_error: null,
      last_error_at: null,
      updated_at: null,
      switched_at: null,
    });
  }
  return statuses.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version || a.build - b.build);
}
