/**
 * Child process of the projector crash test (projector-crash.spec.ts), which compiles it next to the
 * built projector in dist/ and runs it with plain `node`. It runs the real projector with one
 * projection that makes a double apply fail loudly, and reports on stdout, one line each:
 *   started                          the projector is running
 *   uncommitted <event_id> <stream>  a batch's rows are written, its transaction is still open
 *   stopped                          SIGTERM drained the batch in flight and closed everything
 * Environment: DATABASE_URL, CRASH_BATCH_SIZE (default 500), CRASH_BATCH_DELAY_MS (default 300).
 */
import { PostgresEventStore, type Projection } from '#ledger';
import { createPool } from '#platform';
import { startProjector } from '../start-projector';

const batchSize = Number(process.env.CRASH_BATCH_SIZE ?? 500);
const delayMs = Number(process.env.CRASH_BATCH_DELAY_MS ?? 300);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * One counter row incremented by the batch size, and one row per event with no ON CONFLICT: an
 * event applied twice either fails on the primary key or over-counts the counter.
 */
export const crashProjection: Projection = {
  name: 'crash_counter',
  version: 1,
  tables: {
    crash_counter: (t) => `CREATE TABLE ${t} (id int PRIMARY KEY, events bigint NOT NULL, batches bigint NOT NULL)`,
    crash_applied: (t) =>
      `CREATE TABLE ${t} (event_id uuid NOT NULL, stream text NOT NULL, position text NOT NULL, PRIMARY KEY (event_id, stream))`,
  },
  async apply(events, context) {
    const counter = context.table('crash_counter');
    await context.client.query(
      `INSERT INTO ${context.table('crash_applied')} (event_id, stream, position)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`,
      [events.map((e) => e.id), events.map((e) => e.stream), events.map((e) => e.position)],
    );
    await context.client.query(
      `INSERT INTO ${counter} AS c (id, events, batches) VALUES (1, $1, 1)
       ON CONFLICT (id) DO UPDATE SET events = c.events + EXCLUDED.events, batches = c.batches + 1`,
      [events.length],
    );
    // The per-batch delay hook: rows written, transaction open. The test kills the process here.
    say(`uncommitted ${events[0].id} ${events[0].stream}`);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  },
};

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const pool = createPool(url, { max: 4, applicationName: 'abaxus-crash-child' });
  const store = new PostgresEventStore(pool, { pollIntervalMs: 50 });
  const projector = await startProjector({
    pool,
    store,
    projections: [crashProjection],
    batchSize,
    idlePollMs: 100,
    retryInitialMs: 50,
    retryMaxMs: 500,
    metricsPort: null,
  });
  say('started');
  process.once('SIGTERM', () => {
    void (async () => {
      await projector.stop();
      await store.close();
      await pool.end();
      say('stopped');
      process.exit(0);
    })();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
