/**
 * The usage flush alone: Postgres CPU, WAL and index bytes per event of `appendUsage` (the
 * `abaxus_append_usage` function, infra/migrations/0010), the statement every ingestion request ends
 * in, in Postgres mode. One connection appends `--events` events in flushes of 500 (one batch
 * request's worth), over 64 customers' streams, built by the API's own usageAppendItem (usage ids,
 * payload hashes, metadata). No HTTP, no projector, no other load: what the write side's schema costs per
 * event, with less noise than the end-to-end bench (ingestion.ts).
 *
 * `--migrations-up-to 0010` builds the schema as that migration left it, so two schemas compare in
 * one build (needs the embedded cluster: a given DATABASE_URL keeps its own schema).
 *   node dist/bench/usage-flush.js [--events N] [--migrations-up-to VERSION] [--smoke]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { appendUsage, type UsageAppendItem } from '#ledger';
import { createPool, loadMigrations, migrate } from '#platform';
import { usageAppendItem } from '../apps/api/src/usage-events/usage-append-item';
import type { NormalizedUsageEvent } from '../apps/api/src/usage-events/usage-event.validation';
import { benchDatabase, cpuSecondsOf } from './bench-harness';

const FLUSH = 500;
const CUSTOMERS = 64;
const WARM_UP_FLUSHES = 10;
const TENANT = `bench_${randomBytes(4).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');

interface Options {
  events: number;
  migrationsUpTo?: string;
  smoke: boolean;
}

function parse(argv: string[]): Options {
  const program = new Command('usage-flush')
    .option('--events <n>', 'events to append (after a warm-up of 5,000)', (value: string) => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < FLUSH) throw new Error(`--events expects an integer >= ${FLUSH}`);
      return n;
    })
    .option('--migrations-up-to <version>', 'apply the migrations up to this one only (e.g. 0010)', (value: string) => {
      if (!loadMigrations().some((migration) => migration.version === value))
        throw new Error(`--migrations-up-to: no migration ${value}`);
      return value;
    })
    .option('--smoke', 'a few thousand events', false)
    .parse(argv, { from: 'user' });
  const options = program.opts<{ events?: number; migrationsUpTo?: string; smoke: boolean }>();
  return { ...options, events: options.events ?? (options.smoke ? 5_000 : 1_200_000) };
}

let sequence = 0;
/** Canonical RFC 3339 UTC with milliseconds, as validation leaves a timestamp. */
const timestamp = new Date(Date.now() - 60_000).toISOString();

/** The next event, validated and normalised, made into a flush item by the API's own builder. */
function item(): UsageAppendItem {
  sequence += 1;
  const event: NormalizedUsageEvent = {
    customer_id: `bench_c${sequence % CUSTOMERS}`,
    metric_key: 'api_calls',
    value: `${sequence % 1000}.25`,
    timestamp,
    idempotency_key: `${RUN}-${sequence}`,
    properties: { region: 'eu-west-1', endpoint: '/v1/things', status: 200 },
  };
  return usageAppendItem(TENANT, 'key_bench', `req_${randomUUID()}`, event, { kind: 'ingest' });
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  if (options.migrationsUpTo !== undefined && process.env.DATABASE_URL)
    throw new Error('--migrations-up-to needs the embedded cluster (unset DATABASE_URL)');
  const db = await benchDatabase('usage-flush');
  const pool = createPool(db.url, { max: 1, applicationName: 'bench-usage-flush' });
  try {
    const migrations = loadMigrations().filter(
      (migration) => options.migrationsUpTo === undefined || migration.version <= options.migrationsUpTo,
    );
    await migrate(pool, migrations);
    const client = await pool.connect();
    try {
      const flush = async () => {
        const items = Array.from({ length: FLUSH }, item);
        const { claimed } = await appendUsage(client, items, 'abaxus_bench_usage_flush');
        if (claimed.size !== FLUSH) throw new Error(`a flush claimed ${claimed.size} of ${FLUSH} keys`);
      };
      for (let i = 0; i < WARM_UP_FLUSHES; i++) await flush();
      const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      // The backend's CPU is readable only when the server runs here: the embedded cluster.
      const cpu = () => (db.dir === null ? null : cpuSecondsOf(backend));
      const walBefore = (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      const cpuBefore = cpu();
      const flushes = Math.floor(options.events / FLUSH);
      const started = performance.now();
      for (let i = 0; i < flushes; i++) await flush();
      const elapsed = (performance.now() - started) / 1000;
      const cpuAfter = cpu();
      const events = flushes * FLUSH;
      const wal = await client.query<{ bytes: string }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS bytes',
        [walBefore],
      );
      // Index sizes per stored event (warm-up included), in a cluster of its own only.
      const indexes =
        db.dir === null
          ? null
          : await client.query<{ name: string; bytes: string }>(
              `SELECT c.relname AS name, pg_relation_size(c.oid)::text AS bytes
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
                WHERE t.relname IN ('events', 'usage_idempotency') ORDER BY t.relname, c.relname`,
            );
      const stored = events + WARM_UP_FLUSHES * FLUSH;
      console.log(
        JSON.stringify({
          bench: 'usage-flush',
          database: db.label,
          migrations_up_to: migrations[migrations.length - 1].version,
          events,
          flush_size: FLUSH,
          seconds: Number(elapsed.toFixed(3)),
          events_per_second: Math.round(events / elapsed),
          postgres_backend_cpu_us_per_event:
            cpuBefore === null || cpuAfter === null
              ? null
              : Number((((cpuAfter - cpuBefore) * 1e6) / events).toFixed(1)),
          wal_bytes_per_event: Math.round(Number(wal.rows[0].bytes) / events),
          index_bytes_per_event:
            indexes === null
              ? null
              : Object.fromEntries(
                  indexes.rows.map((row) => [row.name, Number((Number(row.bytes) / stored).toFixed(1))]),
                ),
        }),
      );
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
