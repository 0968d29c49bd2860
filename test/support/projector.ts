import type { Pool } from 'pg';
import type * as ProjectorModule from '../../apps/projector/src';
import type { Checkpoint } from '../../libs/ledger/src';
import { loadBuiltFile, loadBuiltModules, type TestApi } from './api';

/**
 * The projector of the BUILD (dist/apps/projector), run in-process next to a TestApi, in the same
 * native module graph (see test/support/api.ts for why the build is loaded with Node's own require).
 * It owns its pool and store on the API's database, like `abaxus projector` would.
 */
export interface TestProjectorOptions {
  /** Run only these projections (default: every registered one). */
  only?: readonly string[];
  /** How long caughtUp() waits for each projection. Default 10 s. */
  timeoutMs?: number;
}

export interface TestProjector {
  /** Names of the projections running. */
  readonly names: readonly string[];
  /** Resolves once every running projection has applied every event committed before the call (the barrier). */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The last committed event in log order (tx_id, position), as a Postgres store checkpoint. Not
 * `headCheckpoint()`: that stops below any transaction still open, such as a projector batch in
 * flight, and would let caughtUp() return before the caller's own writes are projected.
 */
async function lastCommitted(pool: Pool): Promise<Checkpoint | null> {
  const result = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return result.rows[0]?.checkpoint ?? null;
}

export async function startTestProjector(api: TestApi, options: TestProjectorOptions = {}): Promise<TestProjector> {
  const native = loadBuiltModules(); // builds dist/ first if this worker has not yet
  const projector = loadBuiltFile<typeof ProjectorModule>('apps/projector/src/index');
  const selected = options.only
    ? projector.projections.filter((projection) => options.only!.includes(projection.name))
    : projector.projections;
  const missing = (options.only ?? []).filter((name) => !selected.some((projection) => projection.name === name));
  if (missing.length > 0) throw new Error(`no registered projection named ${missing.join(', ')}`);
  const pool = native.platform.createPool(api.db.url, { max: 5, applicationName: 'abaxus-test-projector' });
  const store = new native.ledger.PostgresEventStore(pool, { pollIntervalMs: 50 });
  let running: Awaited<ReturnType<typeof projector.startProjector>>;
  try {
    running = await projector.startProjector({
      pool,
      store,
      metricsPort: null,
      projections: selected,
      idlePollMs: 100,
    });
  } catch (error) {
    await store.close();
    await pool.end();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    names: selected.map((projection) => projection.name),
    caughtUp: async () => {
      const target = await lastCommitted(pool);
      for (const projection of selected) {
        await native.ledger.waitForPosition({ pool, store }, projection.name, target, options.timeoutMs ?? 10_000);
      }
    },
    stop: () =>
      (stopping ??= (async () => {
        await running.stop();
        await store.close();
        await pool.end();
      })()),
  };
}
