/**
 * Append throughput of the Postgres event store, with fsync on (a durable cluster), for a fixed
 * duration per scenario:
 *   - batches of 1, one writer (each append waits for the previous commit);
 *   - batches of 1, 16 concurrent writers on distinct streams;
 *   - batches of 500, one writer;
 * and, as the machine's own ceilings in the same run, the same rows written with plain SQL into a
 * copy of the events table (no lock, no checks, no notify): one row per commit, and 500 per commit.
 * Prints one JSON object. Starts a throwaway embedded PostgreSQL unless DATABASE_URL is set
 * (then the events are written there for good, under a `bench_…` tenant).
 *   node dist/bench/event-store-append.js [--seconds N]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import type { Pool } from 'pg';
import { PostgresEventStore, type NewEvent } from '#ledger';
import { createPool, migrate } from '#platform';
import { benchDatabase } from './bench-harness';

interface Scenario {
  events: number;
  appends: number;
  seconds: number;
  events_per_second: number;
  appends_per_second: number;
  latency_ms: { p50: number; p99: number; max: number };
}

const TENANT = `bench_${randomBytes(4).toString('hex')}`;
const RAW_TABLE = 'abaxus_bench_raw_events';

function parseSeconds(argv: string[]): number {
  const index = argv.indexOf('--seconds');
  if (index < 0) return 5;
  const seconds = Number(argv[index + 1]);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
    throw new Error('--seconds expects a number in (0, 600]');
  return seconds;
}

function usageEvent(i: number): NewEvent {
  return {
    id: randomUUID(),
    type: 'UsageRecorded',
    data: {
      customer_id: 'cus_0001',
      metric_key: 'api_calls',
      value: `${i % 1000}.125`,
      timestamp: new Date().toISOString(),
      idempotency_key: randomUUID(),
      properties: { region: 'eu-west-1', endpoint: '/v1/things' },
    },
    metadata: { tenant_id: TENANT, actor: 'system:bench', request_id: `req_${i}` },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2));
}

/** Runs `work` in `workers` loops until the duration is over; `work` returns the events it wrote. */
async function measure(
  seconds: number,
  workers: number,
  work: (worker: number, i: number) => Promise<number>,
): Promise<Scenario> {
  const latencies: number[] = [];
  let events = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const before = performance.now();
        const written = await work(worker, i);
        latencies.push(performance.now() - before);
        events += written;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    events,
    appends: latencies.length,
    seconds: Number(elapsed.toFixed(3)),
    events_per_second: Math.round(events / elapsed),
    appends_per_second: Math.round(latencies.length / elapsed),
    latency_ms: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  };
}

async function storeScenarios(store: PostgresEventStore, seconds: number): Promise<Record<string, Scenario>> {
  const revisions = new Map<string, number>();
  // Each writer owns a stream and appends with the expected revision, like a command handler.
  const appendTo = async (stream: string, batch: NewEvent[]): Promise<number> => {
    const result = await store.append(stream, batch, { expectedRevision: revisions.get(stream) ?? 'no_stream' });
    revisions.set(stream, result.nextRevision);
    return batch.length;
  };
  return {
    batch_1_sequential: await measure(seconds, 1, (_, i) => appendTo(`${TENANT}:bench-seq`, [usageEvent(i)])),
    batch_1_concurrent_16: await measure(seconds, 16, (worker, i) =>
      appendTo(`${TENANT}:bench-w${worker}`, [usageEvent(i)]),
    ),
    batch_500_sequential: await measure(seconds, 1, (_, i) =>
      appendTo(
        `${TENANT}:bench-bulk`,
        Array.from({ length: 500 }, (__, j) => usageEvent(i * 500 + j)),
      ),
    ),
  };
}

/** The same rows through plain SQL into a copy of the events table (same columns, indexes and defaults). */
async function rawScenarios(pool: Pool, seconds: number): Promise<Record<string, Scenario>> {
  await pool.query(`DROP TABLE IF EXISTS ${RAW_TABLE}`);
  await pool.query(`CREATE TABLE ${RAW_TABLE} (LIKE events INCLUDING ALL)`);
  let revision = 0;
  const insert = async (batch: NewEvent[]): Promise<number> => {
    const start = revision;
    revision += batch.length;
    await pool.query(
      `INSERT INTO ${RAW_TABLE} (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
       SELECT id, 'raw', $5::bigint + ord - 1, type, $6, data, metadata, now()
         FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[]) WITH ORDINALITY AS b(id, type, data, metadata, ord)`,
      [
        batch.map((e) => e.id),
        batch.map((e) => e.type),
        batch.map((e) => JSON.stringify(e.data)),
        batch.map((e) => JSON.stringify(e.metadata)),
        start,
        TENANT,
      ],
    );
    return batch.length;
  };
  try {
    return {
      raw_sql_batch_1_sequential: await measure(seconds, 1, (_, i) => insert([usageEvent(i)])),
      raw_sql_batch_500_sequential: await measure(seconds, 1, (_, i) =>
        insert(Array.from({ length: 500 }, (__, j) => usageEvent(i * 500 + j))),
      ),
    };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${RAW_TABLE}`);
  }
}

async function main(): Promise<void> {
  const seconds = parseSeconds(process.argv.slice(2));
  const database = await benchDatabase('append');
  if (database.dir === null) process.stderr.write(`writing benchmark events to DATABASE_URL under tenant ${TENANT}\n`);
  const pool = createPool(database.url, { max: 24, applicationName: 'abaxus-bench' });
  const store = new PostgresEventStore(pool);
  try {
    await migrate(pool);
    const settings = await pool.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'server_version')",
    );
    const results = { ...(await storeScenarios(store, seconds)), ...(await rawScenarios(pool, seconds)) };
    const report = {
      bench: 'event-store-append',
      seconds_per_scenario: seconds,
      postgres: database.label,
      settings: Object.fromEntries(settings.rows.map((row) => [row.name, row.setting])),
      cpus: cpus().length,
      results,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await store.close();
    await pool.end();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
