import { inTransaction } from '#platform';
import type { Pool } from 'pg';
import type { Checkpoint, EventStore } from '../event-store';
import type { Projection } from './projection';
import { applyNextBatch, DEFAULT_BATCH_SIZE } from './projection-batch';
import {
  createBuild,
  dropRetiredTables,
  lockProjection,
  pointViews,
  readBuild,
  sameBuild,
  setStatus,
  type CatalogRow,
} from './projection-catalog';
import { buildLabel, type BuildKey } from './projection-naming';

/** The database serves a newer version than this code knows: applying older code to it would be wrong. */
export class ProjectionVersionError extends Error {
  readonly code = 'PROJECTION.CODE_OLDER_THAN_LIVE';
  constructor(
    readonly projection: string,
    readonly codeVersion: number,
    readonly liveVersion: number,
  ) {
    super(`projection ${projection}: code version ${codeVersion} is older than the live version ${liveVersion}`);
    this.name = 'ProjectionVersionError';
  }
}

export class UnknownProjectionError extends Error {
  readonly code = 'PROJECTION.UNKNOWN';
  constructor(
    readonly projection: string,
    known: readonly string[],
  ) {
    super(`unknown projection "${projection}" (known: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownProjectionError';
  }
}

export interface EnsureResult {
  /** The build serving reads (absent only while a first build is still running). */
  live?: CatalogRow;
  /** The build being filled from position 0, if any. */
  building?: CatalogRow;
  /** True when this call created `live` (first start: tables and views created, catch-up pending). */
  createdLive: boolean;
  /** True when this call created `building`. */
  startedBuild: boolean;
  /** Builds of older code versions that were being built and are now retired. */
  abandoned: CatalogRow[];
}

/**
 * Brings the catalog of one projection in line with its code, in one transaction:
 * - first start: create build 0 of the code version, mark it live, create the views;
 * - live version older than the code (or `force`): start a new build of the code version, which
 *   fills from position 0 while the live build keeps serving;
 * - a build of an older code version in progress: retire it (its code is gone);
 * - live version newer than the code: refuse (ProjectionVersionError), never downgrade silently.
 */
export async function ensureProjection(
  pool: Pool,
  projection: Projection,
  options: { force?: boolean } = {},
): Promise<EnsureResult> {
  return inTransaction(pool, async (client) => {
    const rows = await lockProjection(client, projection.name);
    const live = rows.find((row) => row.status === 'live');
    let building = rows.find((row) => row.status === 'building');
    if (live && live.version > projection.version) {
      throw new ProjectionVersionError(projection.name, projection.version, live.version);
    }
    const abandoned: CatalogRow[] = [];
    if (building && building.version < projection.version) {
      await setStatus(client, building, 'retired');
      abandoned.push(building);
      building = undefined;
    }
    if (!live && !building) {
      const created = await createBuild(client, projection, rows, 'live');
      await pointViews(client, created);
      return { live: created, createdLive: true, startedBuild: false, abandoned };
    }
    const wanted = live !== undefined && (live.version < projection.version || options.force === true);
    if (wanted && !building) {
      building = await createBuild(client, projection, rows, 'building');
      return { live, building, createdLive: false, startedBuild: true, abandoned };
    }
    return { live, building, createdLive: false, startedBuild: false, abandoned };
  });
}

/**
 * Makes a finished build the live one, in ONE transaction: views re-pointed (DROP VIEW + CREATE VIEW
 * is transactional), the old live build retired, this one live. Readers see the old build or the new
 * one, never a mix. Returns false, changing nothing, when the build moved on or is no longer building.
 */
export async function switchToBuild(
  deps: { pool: Pool; store: EventStore },
  projection: Projection,
  target: BuildKey & { checkpoint: Checkpoint | null },
): Promise<boolean> {
  try {
    return await inTransaction(deps.pool, async (client) => {
      // Readers hold the old tables while they query; never queue every new reader behind a long one.
      await client.query(`SET LOCAL lock_timeout = '5s'`);
      const rows = await lockProjection(client, projection.name);
      const row = rows.find((candidate) => sameBuild(candidate, target));
      if (!row || row.status !== 'building') return false;
      if (deps.store.compareCheckpoints(row.checkpoint, target.checkpoint) !== 0) return false;
      const live = rows.find((candidate) => candidate.status === 'live');
      await pointViews(client, row, live);
      if (live) await setStatus(client, live, 'retired');
      await setStatus(client, row, 'live');
      return true;
    });
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') return false; // lock_timeout: retried by the caller
    throw error;
  }
}

export interface RebuildProgress {
  name: string;
  version: number;
  build: number;
  events_applied: number;
  checkpoint: Checkpoint | null;
}

/** What `abaxus projections rebuild` prints (snake_case: it is emitted as JSON as is). */
export interface RebuildResult {
  name: string;
  version: number;
  build: number;
  /** `switched`: a new build replaced the live one; `built`: first build of a never-started projection. */
  outcome: 'switched' | 'built' | 'already_live';
  previous: { version: number; build: number } | null;
  events_applied: number;
  /** Batches this call applied (0 when already live); each read at most `batchSize` events. */
  batches: number;
}

export interface RebuildProjectionOptions {
  pool: Pool;
  store: EventStore;
  projections: readonly Projection[];
  name: string;
  /** Build the same code version again into fresh tables. */
  force?: boolean;
  batchSize?: number;
  onProgress?: (progress: RebuildProgress) => void;
  signal?: AbortSignal;
}

/**
 * Builds the code version of a projection into fresh tables from position 0 and switches reads to it
 * when it reaches the head. Without `force` this only happens when the live version differs from the
 * code. Runs in the calling process; a projector running elsewhere works the same build safely (the
 * catalog row lock fences every batch) and, if this process dies, finishes it.
 */
export async function rebuildProjection(options: RebuildProjectionOptions): Promise<RebuildResult> {
  const projection = options.projections.find((candidate) => candidate.name === options.name);
  if (!projection)
    throw new UnknownProjectionError(
      options.name,
      options.projections.map((p) => p.name),
    );
  const ensured = await ensureProjection(options.pool, projection, { force: options.force });
  const target = ensured.building ?? (ensured.createdLive ? ensured.live : undefined);
  const previous =
    ensured.building && ensured.live ? { version: ensured.live.version, build: ensured.live.build } : null;
  if (!target) {
    const live = ensured.live!;
    return {
      name: live.name,
      version: live.version,
      build: live.build,
      outcome: 'already_live',
      previous: null,
      events_applied: live.eventsApplied,
      batches: 0,
    };
  }
  const { done, batches } = await driveBuild(options, projection, target);
  if (done.status === 'live' && target.status === 'building') {
    await dropRetiredTables(options.pool, projection.name).catch(() => undefined); // retried by the projector
  }
  return {
    name: done.name,
    version: done.version,
    build: done.build,
    outcome: target.status === 'building' ? 'switched' : 'built',
    previous,
    events_applied: done.eventsApplied,
    batches,
  };
}

/** Applies batches to `target` until it is live and at the head; counts the batches it applied. */
async function driveBuild(
  options: RebuildProjectionOptions,
  projection: Projection,
  target: BuildKey,
): Promise<{ done: CatalogRow; batches: number }> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  let batches = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const row = await readBuild(options.pool, target);
    if (!row || row.status === 'retired') throw new Error(`${buildLabel(target)} was abandoned by another process`);
    const status = row.status;
    const outcome = await applyNextBatch(options, projection, { ...row, status }, batchSize);
    if (outcome.kind === 'applied') {
      batches += 1;
      options.onProgress?.({
        ...target,
        events_applied: row.eventsApplied + outcome.events,
        checkpoint: outcome.checkpoint,
      });
    } else if (outcome.kind === 'at_head') {
      if (status === 'live') return { done: row, batches };
      // Another process may have switched it already: the next read of the row tells.
      await switchToBuild(options, projection, { ...row, checkpoint: outcome.checkpoint });
      const after = await readBuild(options.pool, target);
      if (after?.status === 'live') return { done: after, batches };
    }
  }
}
