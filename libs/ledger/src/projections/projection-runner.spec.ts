import { register } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import type { EventStore } from '../event-store';
import { PostgresEventStore } from '../postgres/postgres-event-store';
import { applyNextBatch } from './projection-batch';
import { ProjectionWaitTimeoutError, waitForPosition } from './projection-barrier';
import { ensureProjection } from './projection-rebuild';
import { ProjectionRunner } from './projection-runner';
import { projectionStatus } from './projection-status';
import {
  appendEvents,
  catalogRow,
  deferred,
  logPositions,
  recordingProjection,
  waitUntil,
} from './testing/projection-fixtures';

describe('ProjectionRunner', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const runners: ProjectionRunner[] = [];

  const run = async (options: Omit<ConstructorParameters<typeof ProjectionRunner>[0], 'pool' | 'store'>) => {
    const runner = new ProjectionRunner({
      pool: db.pool,
      store,
      idlePollMs: 200,
      retryInitialMs: 20,
      retryMaxMs: 200,
      ...options,
    });
    runners.push(runner);
    await runner.start();
    return runner;
  };
  let last: string;
  /** The last appended position (the visible head can lag it while a projector batch is open). */
  const head = async () => last;
  const append = async (...args: Parameters<typeof appendEvents> extends [unknown, ...infer R] ? R : never) => {
    last = await appendEvents(store, ...args);
  };
  const lagEventsOf = async (projection: string) =>
    (await register.getSingleMetric('abaxus_projector_lag_events')!.get()).values.find(
      (v) => v.labels.projection === projection,
    )?.value;
  const rowsOf = async (table: string) =>
    (await db.pool.query(`SELECT event_id, stream, position, type, tag FROM ${table} ORDER BY seq`)).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await append(250, { streams: 5, chunk: 50 });
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('applies the log in batches of batchSize, in log order, and commits the checkpoint with the rows', async () => {
    await run({ projections: [recordingProjection({ name: 'rec_a' })], batchSize: 100 });
    const target = await head();
    expect(await waitForPosition({ pool: db.pool, store }, 'rec_a', target, 10_000)).toBe(target);

    const rows = await rowsOf('rec_a_rows');
    expect(rows.map((row) => row.position)).toEqual(await logPositions(store));
    const batches = await db.pool.query('SELECT size FROM rec_a_batches ORDER BY seq');
    expect(batches.rows.map((row) => row.size)).toEqual([100, 100, 50]);
    expect(await catalogRow(db.pool, 'rec_a')).toMatchObject({
      version: 1,
      build: 0,
      checkpoint: target,
      events_applied: 250,
      last_error: null,
    });
  });

  it('replaying the log from position 0 twice gives the same rows', async () => {
    const projection = recordingProjection({ name: 'rec_replay' });
    let runner = await run({ projections: [projection], batchSize: 80 });
    const target = await head();
    await runner.waitForPosition('rec_replay', target, 10_000);
    const first = await rowsOf('rec_replay_rows');
    await runner.stop();

    // Rewind the checkpoint (catalog only; the log is untouched) and run again over the same rows.
    await db.pool.query(`UPDATE projections SET checkpoint = NULL, events_applied = 0 WHERE name = 'rec_replay'`);
    runner = await run({ projections: [projection], batchSize: 80 });
    await runner.waitForPosition('rec_replay', target, 10_000);

    expect(await rowsOf('rec_replay_rows')).toEqual(first);
    expect(first).toHaveLength(250);
    expect((await catalogRow(db.pool, 'rec_replay'))!.events_applied).toBe(250);
    // Both passes applied every batch: the second one was a real replay, not a no-op.
    expect((await db.pool.query('SELECT sum(size)::int AS n FROM rec_replay_batches')).rows[0].n).toBe(500);
  });

  it('hands only eventTypes to apply and still advances the checkpoint past the other events', async () => {
    await append(30, { type: 'Other', streams: 1 });
    const runner = await run({ projections: [recordingProjection({ name: 'rec_typed', eventTypes: ['Other'] })] });
    const target = await head();
    await runner.waitForPosition('rec_typed', target, 10_000);
    const rows = await rowsOf('rec_typed_rows');
    expect(rows.map((row) => row.type)).toEqual(Array(30).fill('Other'));
    expect(rows.map((row) => row.position)).toEqual(await logPositions(store, ['Other']));
  });

  it('keeps the other projections going while one fails, exposes the failure, and recovers', async () => {
    let broken = true;
    const failing = recordingProjection({
      name: 'rec_failing',
      beforeApply: () => {
        if (broken) throw new Error('bug in apply');
      },
    });
    const healthy = recordingProjection({ name: 'rec_healthy' });
    const runner = await run({ projections: [failing, healthy], batchSize: 100 });
    const target = await head();

    await runner.waitForPosition('rec_healthy', target, 10_000);
    const failed = await waitUntil(
      async () => {
        const statuses = await runner.status();
        return statuses.find((s) => s.name === 'rec_failing' && s.last_error !== null);
      },
      10_000,
      'the failure to show in the status',
    );
    expect(failed.last_error).toMatch(/bug in apply/);
    expect(failed.checkpoint).toBeNull();
    expect(failed.events_behind).toBe(await store.countAfter(null, 1_000_000));
    expect(runner.lastErrors().get('rec_failing')?.message).toMatch(/bug in apply/);
    // The failed transactions left nothing behind: rows and checkpoint commit together or not at all.
    expect((await db.pool.query('SELECT count(*)::int AS n FROM rec_failing_rows')).rows[0].n).toBe(0);

    broken = false;
    await runner.waitForPosition('rec_failing', target, 10_000);
    const recovered = (await runner.status()).find((s) => s.name === 'rec_failing')!;
    expect(recovered).toMatchObject({ last_error: null, events_behind: 0, lag_seconds: 0 });
    expect(runner.lastErrors().has('rec_failing')).toBe(false);
    expect((await rowsOf('rec_failing_rows')).map((row) => row.position)).toEqual(await logPositions(store));
  });

  it('follows live appends and updates the Prometheus series after each batch', async () => {
    const runner = await run({ projections: [recordingProjection({ name: 'rec_live' })] });
    await runner.waitForPosition('rec_live', await head(), 10_000);
    const applied = async () =>
      (await register.getSingleMetric('abaxus_projector_events_applied_total')!.get()).values.find(
        (v) => v.labels.projection === 'rec_live',
      )?.value ?? 0;
    const before = await applied();

    await append(40, { streams: 2, chunk: 20 });
    const target = await head();
    await runner.waitForPosition('rec_live', target, 10_000);

    expect(await applied()).toBe(before + 40);
    const lag = await register.getSingleMetric('abaxus_projector_lag_events')!.get();
    expect(lag.values.find((v) => v.labels.projection === 'rec_live')?.value).toBe(0);
    const metrics = await register.metrics();
    expect(metrics).toContain('abaxus_projector_lag_seconds{projection="rec_live"} 0');
    expect(metrics).toMatch(/abaxus_projector_batch_duration_seconds_count\{projection="rec_live"\} [1-9]/);
  });

  it('measures the lag gauges after batches that stay behind at most once a second, and zeroes them at the head', async () => {
    let counts = 0;
    const counting: EventStore = Object.assign(Object.create(store) as EventStore, {
      countAfter: (from: string | null, limit: number) => {
        counts += 1;
        return store.countAfter(from, limit);
      },
    });
    const started = performance.now();
    const runner = new ProjectionRunner({
      pool: db.pool,
      store: counting,
      projections: [recordingProjection({ name: 'rec_lag' })],
      batchSize: 10,
      idlePollMs: 200,
      metricsIntervalMs: 600_000, // the timer's count runs once, at start
    });
    runners.push(runner);
    await runner.start();
    await runner.waitForPosition('rec_lag', await head(), 20_000);
    await waitUntil(async () => (await lagEventsOf('rec_lag')) === 0, 10_000, 'lag gauge at 0');
    const seconds = (performance.now() - started) / 1000;

    const batches = runner.stats().get('rec_lag')!.batches;
    expect(batches).toBeGreaterThanOrEqual(25); // 250+ events, 10 per batch: one count each before
    expect(counts).toBeLessThanOrEqual(2 + Math.ceil(seconds));
  });

  it('at the head, steps at most every minStepIntervalMs: live appends that come faster share a batch', async () => {
    const runner = await run({
      projections: [recordingProjection({ name: 'rec_throttled' })],
      minStepIntervalMs: 1_500,
    });
    await runner.waitForPosition('rec_throttled', await head(), 10_000);
    const batchCount = async () =>
      Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM rec_throttled_batches')).rows[0].n);
    const before = await batchCount();
    // Five appends 50 ms apart, each ringing the bell: stepping on every ring would be five batches.
    for (let i = 0; i < 5; i++) {
      await append(1, { streams: 1 });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await runner.waitForPosition('rec_throttled', await head(), 10_000);
    expect(await batchCount()).toBeLessThanOrEqual(before + 2);
    expect(await rowsOf('rec_throttled_rows')).toHaveLength((await logPositions(store)).length);
  });

  it('reports lag as the age of the oldest event not yet applied, and 0 at the head', async () => {
    const projection = recordingProjection({ name: 'rec_lag' });
    await ensureProjection(db.pool, projection);
    const at = await head();
    await db.pool.query(`UPDATE projections SET checkpoint = $1 WHERE name = 'rec_lag'`, [at]);
    await append(1, { streams: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // setup: make the first pending event measurably old
    await append(2, { streams: 1 });

    const [status] = (await projectionStatus({ pool: db.pool, store, projections: [projection] })).filter(
      (s) => s.name === 'rec_lag',
    );
    const first = (await store.readAll(at, { maxCount: 1 })).events[0];
    const expected = (Date.now() - first.recorded_at.getTime()) / 1000;
    expect(status).toMatchObject({ status: 'live', code_version: 1, checkpoint: at, events_behind: 3 });
    expect(status.lag_seconds).toBeGreaterThanOrEqual(0.3);
    expect(Math.abs(status.lag_seconds - expected)).toBeLessThan(0.25);

    const runner = await run({ projections: [projection] });
    await runner.waitForPosition('rec_lag', await head(), 10_000);
    const [caughtUp] = (await runner.status()).filter((s) => s.name === 'rec_lag');
    expect(caughtUp).toMatchObject({ events_behind: 0, lag_seconds: 0 });
  });

  it('waitForPosition rejects on timeout with where the projection got to', async () => {
    const projection = recordingProjection({ name: 'rec_stalled' });
    await ensureProjection(db.pool, projection); // live, never run: checkpoint stays null
    const target = await head();
    const error = await waitForPosition({ pool: db.pool, store }, 'rec_stalled', target, 150).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProjectionWaitTimeoutError);
    expect(error).toMatchObject({ code: 'PROJECTION.WAIT_TIMEOUT', target, reached: null });
    await expect(waitForPosition({ pool: db.pool, store }, 'no_such_projection', null, 50)).rejects.toBeInstanceOf(
      ProjectionWaitTimeoutError,
    );
  });

  it('fences a second runner: a batch read from a checkpoint another runner moved is dropped, not applied', async () => {
    const inApply = deferred();
    const release = deferred();
    let applies = 0;
    const projection = recordingProjection({
      name: 'rec_fence',
      idempotent: false,
      beforeApply: async () => {
        applies += 1;
        inApply.resolve();
        await release.promise;
      },
    });
    await ensureProjection(db.pool, projection);
    const target = { name: 'rec_fence', version: 1, build: 0, status: 'live' as const, checkpoint: null };

    const first = applyNextBatch({ pool: db.pool, store }, projection, target, 100);
    await inApply.promise; // the first holds the catalog row lock inside its transaction
    const second = applyNextBatch({ pool: db.pool, store }, projection, target, 100);
    await waitUntil(
      async () =>
        (
          await db.pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        ).rowCount,
      10_000,
      'the second batch to wait on the row lock',
    );
    release.resolve();

    expect(await first).toMatchObject({ kind: 'applied', events: 100 });
    expect(await second).toEqual({ kind: 'raced' });
    expect(applies).toBe(1);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM rec_fence_rows')).rows[0].n).toBe(100);
  });

  it('runs two runners on one projection without applying any event twice; one keeps going when the other stops', async () => {
    const delay = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
    const named = (runnerTag: string) =>
      recordingProjection({ name: 'rec_pair', idempotent: false, runnerTag, beforeApply: delay });
    const a = await run({ projections: [named('a')], batchSize: 20 });
    const b = await run({ projections: [named('b')], batchSize: 20 });
    await a.waitForPosition('rec_pair', await head(), 20_000);
    await a.stop();

    await append(60, { streams: 3, chunk: 20 });
    const target = await head();
    await b.waitForPosition('rec_pair', target, 20_000);

    const rows = await rowsOf('rec_pair_rows');
    expect(rows.map((row) => row.position)).toEqual(await logPositions(store));
    const batches = (
      await db.pool.query('SELECT size, first_position, last_position, runner FROM rec_pair_batches ORDER BY seq')
    ).rows;
    expect(batches.reduce((sum, batch) => sum + batch.size, 0)).toBe(rows.length);
    // Consecutive batches tile the log: each starts right after the previous one ended.
    const positions = rows.map((row) => row.position);
    let index = 0;
    for (const batch of batches) {
      expect(positions[index]).toBe(batch.first_position);
      index += batch.size;
      expect(positions[index - 1]).toBe(batch.last_position);
    }
    // After `a` stopped, only `b` applied; no runner ever failed on a duplicate row.
    expect(batches.slice(-3).map((batch) => batch.runner)).toEqual(['b', 'b', 'b']);
    const [statsA, statsB] = [a.stats().get('rec_pair')!, b.stats().get('rec_pair')!];
    expect(statsA.failures + statsB.failures).toBe(0);
    expect(statsA.events + statsB.events).toBe(rows.length);
    // The runners did contend: batches were read twice from one checkpoint, and the second dropped.
    expect(statsA.dropped + statsB.dropped).toBeGreaterThan(0);
    expect((await catalogRow(db.pool, 'rec_pair'))!.last_error).toBeNull();
  });
});
