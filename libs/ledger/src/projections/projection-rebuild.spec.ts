import type { RecordedEvent } from '../event-store';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import type { Projection } from './projection';
import { ensureProjection, ProjectionVersionError, rebuildProjection } from './projection-rebuild';
import { ProjectionRunner } from './projection-runner';
import { appendEvents, catalogRow, recordingProjection, waitUntil } from './testing/projection-fixtures';

describe('versioned builds and rebuilds', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: string;
  const runners: ProjectionRunner[] = [];

  const run = async (projections: Projection[], batchSize = 100) => {
    const runner = new ProjectionRunner({
      pool: db.pool,
      store,
      projections,
      batchSize,
      idlePollMs: 100,
      retryInitialMs: 20,
      retryMaxMs: 200,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };
  const count = async (sql: string, params: unknown[] = []) => (await db.pool.query(sql, params)).rows[0].n as number;
  const exists = async (table: string) =>
    (await db.pool.query('SELECT to_regclass($1) AS t', [table])).rows[0].t !== null;
  const eventKeys = async (table: string) =>
    (await db.pool.query(`SELECT event_id, stream FROM ${table} ORDER BY event_id, stream`)).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    last = await appendEvents(store, 600, { streams: 6, chunk: 100 });
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('first start creates build 0 tables, marks it live and serves it through a view', async () => {
    const runner = await run([recordingProjection({ name: 'rb_first' })]);
    await runner.waitForPosition('rb_first', last, 10_000);
    expect(await catalogRow(db.pool, 'rb_first')).toMatchObject({ version: 1, build: 0, events_applied: 600 });
    expect(await exists('rb_first_rows__v1')).toBe(true);
    const view = await db.pool.query(`SELECT definition FROM pg_views WHERE viewname = 'rb_first_rows'`);
    expect(view.rows[0].definition).toContain('rb_first_rows__v1');
    expect(await count('SELECT count(*)::int AS n FROM rb_first_rows')).toBe(600);
  });

  it('builds a new code version into fresh tables while the old one serves reads, then switches atomically', async () => {
    const v1 = await run([recordingProjection({ name: 'rb_ver', version: 1 })]);
    await v1.waitForPosition('rb_ver', last, 10_000);
    await v1.stop();

    // What a reader sees while v2 is being built: observed from inside v2's batches (so surely mid-build)...
    const duringBuild: Array<{ n: number; tags: string; live: number; building: number | null }> = [];
    const observe = async () => {
      const result = await db.pool.query(
        `SELECT count(*)::int AS n, string_agg(DISTINCT tag, ',') AS tags,
                (SELECT version FROM projections WHERE name = 'rb_ver' AND status = 'live') AS live,
                (SELECT version FROM projections WHERE name = 'rb_ver' AND status = 'building') AS building
           FROM rb_ver_rows`,
      );
      return result.rows[0] as { n: number; tags: string; live: number; building: number | null };
    };
    const v2 = recordingProjection({
      name: 'rb_ver',
      version: 2,
      beforeApply: async (_events: readonly RecordedEvent[]) => {
        duringBuild.push(await observe());
      },
    });
    // ...and by a reader polling all along: in one statement, the view and the catalog must agree.
    let reading = true;
    const seen: Array<{ n: number; tags: string; live: number }> = [];
    const reader = (async () => {
      while (reading) seen.push(await observe());
    })();

    const runner = await run([v2]);
    await waitUntil(async () => (await catalogRow(db.pool, 'rb_ver'))?.version === 2, 20_000, 'v2 to go live');
    await runner.waitForPosition('rb_ver', last, 10_000);
    reading = false;
    await reader;

    expect(duringBuild.length).toBeGreaterThanOrEqual(6);
    for (const view of duringBuild) expect(view).toEqual({ n: 600, tags: 'v1', live: 1, building: 2 });
    for (const view of seen)
      expect([
        { n: 600, tags: 'v1', live: 1 },
        { n: 600, tags: 'v2', live: 2 },
      ]).toContainEqual({ n: view.n, tags: view.tags, live: view.live });
    expect(seen.some((view) => view.live === 1) && seen.some((view) => view.live === 2)).toBe(true);

    expect(await eventKeys('rb_ver_rows__v2')).toEqual(await eventKeys('rb_ver_rows')); // view -> v2
    expect(await count(`SELECT count(*)::int AS n FROM rb_ver_rows WHERE tag = 'v2'`)).toBe(600);
    expect(await catalogRow(db.pool, 'rb_ver', 'retired')).toMatchObject({ version: 1, build: 0 });
    await waitUntil(async () => !(await exists('rb_ver_rows__v1')), 10_000, 'the retired tables to be dropped');
  });

  it('rebuild --force builds the same version again into _r<n> tables while a projector runs, then switches', async () => {
    const projection = recordingProjection({ name: 'rb_force' });
    const runner = await run([projection]);
    await runner.waitForPosition('rb_force', last, 10_000);
    const before = await eventKeys('rb_force_rows');

    const progress: number[] = [];
    const result = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [projection],
      name: 'rb_force',
      force: true,
      batchSize: 150,
      onProgress: (p) => progress.push(p.events_applied),
    });

    expect(result).toMatchObject({
      name: 'rb_force',
      version: 1,
      build: 1,
      outcome: 'switched',
      previous: { version: 1, build: 0 },
    });
    expect(progress.length).toBeGreaterThan(0);
    expect(await eventKeys('rb_force_rows__v1_r1')).toEqual(before);
    expect(await eventKeys('rb_force_rows')).toEqual(before);
    expect(await exists('rb_force_rows__v1')).toBe(false);
    // The running projector follows the new live build.
    last = await appendEvents(store, 25, { streams: 1 });
    await runner.waitForPosition('rb_force', last, 10_000);
    expect(await count('SELECT count(*)::int AS n FROM rb_force_rows__v1_r1')).toBe(625);
    expect(await catalogRow(db.pool, 'rb_force')).toMatchObject({
      version: 1,
      build: 1,
      events_applied: 625,
      checkpoint: last,
    });
  });

  it('rebuild without --force does nothing when the live version is the code version', async () => {
    const projection = recordingProjection({ name: 'rb_same' });
    const first = await rebuildProjection({ pool: db.pool, store, projections: [projection], name: 'rb_same' });
    expect(first).toMatchObject({ outcome: 'built', version: 1, build: 0, previous: null });
    expect(first.events_applied).toBe(await store.countAfter(null, 1_000_000));
    const again = await rebuildProjection({ pool: db.pool, store, projections: [projection], name: 'rb_same' });
    expect(again).toMatchObject({ outcome: 'already_live', version: 1, build: 0 });
    await expect(rebuildProjection({ pool: db.pool, store, projections: [projection], name: 'nope' })).rejects.toThrow(
      /unknown projection "nope"/,
    );
  });

  it('rebuild from the command line switches to a new code version with no projector running', async () => {
    await ensureProjection(db.pool, recordingProjection({ name: 'rb_cli', version: 1 }));
    const result = await rebuildProjection({
      pool: db.pool,
      store,
      projections: [recordingProjection({ name: 'rb_cli', version: 3 })],
      name: 'rb_cli',
    });
    expect(result).toMatchObject({ outcome: 'switched', version: 3, build: 0, previous: { version: 1, build: 0 } });
    expect(await count(`SELECT count(*)::int AS n FROM rb_cli_rows WHERE tag = 'v3'`)).toBe(result.events_applied);
  });

  it('refuses to run code older than the live version, and says so in the status', async () => {
    await ensureProjection(db.pool, recordingProjection({ name: 'rb_old', version: 2 }));
    const old = recordingProjection({ name: 'rb_old', version: 1 });
    await expect(ensureProjection(db.pool, old)).rejects.toBeInstanceOf(ProjectionVersionError);

    const runner = await run([old, recordingProjection({ name: 'rb_other' })]);
    await runner.waitForPosition('rb_other', last, 10_000);
    const status = await waitUntil(
      async () => (await runner.status()).find((s) => s.name === 'rb_old' && s.last_error !== null),
      10_000,
      'the version error in the status',
    );
    expect(status).toMatchObject({ version: 2, code_version: 1, status: 'live', checkpoint: null });
    expect(status.last_error).toMatch(/code version 1 is older than the live version 2/);
    expect(await exists('rb_old_rows__v1')).toBe(false);
  });
});
