import type { Pool } from 'pg';
import {
  projectionStatus as catalogStatus,
  rebuildProjection as rebuild,
  type EventStore,
  type ProjectionStatus,
  type RebuildProgress,
  type RebuildResult,
} from '#ledger';
import { projections } from './projections';

/** `abaxus projections status`: every build of every registered projection, with its lag. */
export function projectionStatus(deps: {
  pool: Pool;
  store: EventStore;
  includeRetired?: boolean;
}): Promise<ProjectionStatus[]> {
  return catalogStatus({ ...deps, projections });
}

/**
 * `abaxus projections rebuild <name> [--force]`: builds the registered code version into fresh tables
 * from position 0 in this process and switches reads to it at the head (see the README).
 */
export function rebuildProjection(deps: {
  pool: Pool;
  store: EventStore;
  name: string;
  force?: boolean;
  batchSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  signal?: AbortSignal;
}): Promise<RebuildResult> {
  return rebuild({ ...deps, projections });
}
