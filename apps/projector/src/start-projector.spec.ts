import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { PostgresEventStore, streamName, type Projection } from '#ledger';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { projectionStatus, rebuildProjection, startProjector } from './index';
import { projections } from './projections';

describe('startProjector', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let last: string;

  const appendSome = async (count: number) => {
    const events = Array.from({ length: count }, () => ({
      id: randomUUID(),
      type: 'Tested',
      data: {},
      metadata: { tenant_id: 'acme', actor: 'system:test' },
    }));
    last = (await store.append(streamName('acme', 'test', 'one'), events)).position;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool, { pollIntervalMs: 50 });
    await appendSome(30);
  });
  afterAll(async () => {
    await store.close();
    await db.close();
  });

  it('runs the registered projections and serves /metrics on its own port when given one', async () => {
    expect(projections.map((p) => p.name)).toContain('audit_log');
    const projector = await startProjector({ pool: db.pool, store, metricsPort: 0, metricsHost: '127.0.0.1' });
    try {
      await projector.runner.waitForPosition('audit_log', last, 10_000);
      const response = await fetch(projector.metricsUrl!);
      expect(response.status).toBe(200);
      const body = await response.text();
      expect(body).toMatch(/abaxus_projector_events_applied_total\{projection="audit_log"\} \d+/);
      expect(body).toContain('abaxus_projector_lag_events{projection="audit_log"}');
      expect((await fetch(projector.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      await projector.stop();
    }
    await expect(fetch(projector.metricsUrl!)).rejects.toThrow();
  });

  it('serves no metrics port when embedded (metricsPort null), and stop() drains the batch in flight', async () => {
    let inFlight = 0;
    let committed = 0;
    const slow: Projection = {
      name: 'slow_probe',
      version: 1,
      tables: { slow_probe: (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL)` },
      async apply(events, context) {
        inFlight += 1;
        await new Promise((resolve) => setTimeout(resolve, 150));
        await context.client.query(
          `INSERT INTO ${context.table('slow_probe')} AS s VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = s.n + $1`,
          [events.length],
        );
        committed += 1;
      },
    };
    const projector = await startProjector({
      pool: db.pool,
      store,
      metricsPort: null,
      projections: [slow],
      batchSize: 10,
    });
    expect(projector.metricsUrl).toBeNull();
    while (inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await projector.stop();
    // The batch that was running when stop() was called finished and committed with its checkpoint.
    expect(committed).toBe(inFlight);
    const row = await db.pool.query(`SELECT events_applied::int AS n FROM projections WHERE name = 'slow_probe'`);
    const applied = await db.pool.query('SELECT n FROM slow_probe');
    expect(applied.rows[0].n).toBe(row.rows[0].n);
    expect(row.rows[0].n).toBe(committed * 10);
  });

  it('two projectors on one database: each batch applied once, the batches the loser dropped exported', async () => {
    const shared: Projection = {
      name: 'shared_probe',
      version: 1,
      tables: { shared_probe: (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, n int NOT NULL)` },
      async apply(events, context) {
        // Holds the catalog row lock long enough for the other projector to read the same batch.
        await new Promise((resolve) => setTimeout(resolve, 30));
        await context.client.query(
          `INSERT INTO ${context.table('shared_probe')} AS s VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET n = s.n + $1`,
          [events.length],
        );
      },
    };
    const options = { pool: db.pool, store, projections: [shared], batchSize: 3, idlePollMs: 20 };
    const first = await startProjector({ ...options, metricsPort: 0, metricsHost: '127.0.0.1' });
    const second = await startProjector({ ...options, metricsPort: null });
    try {
      await first.runner.waitForPosition('shared_probe', last, 20_000);
      const stats = [first, second].map((p) => p.runner.stats().get('shared_probe')!);
      // Each event applied once in all: 30 events, whoever applied which batch.
      expect(stats[0].events + stats[1].events).toBe(30);
      expect((await db.pool.query('SELECT n FROM shared_probe')).rows[0].n).toBe(30);
      const body = await (await fetch(first.metricsUrl!)).text();
      const dropped = /abaxus_projector_batches_dropped\{projection="shared_probe"\} (\d+)/.exec(body);
      expect(Number(dropped?.[1])).toBe(stats[0].dropped + stats[1].dropped);
    } finally {
      await second.stop();
      await first.stop();
    }
  });

  it('exposes status and rebuild with the signatures the CLI calls', async () => {
    const deps: { pool: Pool; store: PostgresEventStore } = { pool: db.pool, store };
    const rebuilt = await rebuildProjection({ ...deps, name: 'audit_log', force: true });
    expect(rebuilt).toMatchObject({
      name: 'audit_log',
      version: 1,
      build: 1,
      outcome: 'switched',
      previous: { version: 1, build: 0 },
    });
    const status = (await projectionStatus(deps)).find((s) => s.name === 'audit_log')!;
    expect(status).toMatchObject({
      version: 1,
      build: 1,
      status: 'live',
      code_version: 1,
      checkpoint: last,
      events_behind: 0,
      lag_seconds: 0,
      last_error: null,
    });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(30);
  });
});
