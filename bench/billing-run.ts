/**
 * The billing run: how long the billing cycle takes to draft and close every invoice of a month.
 * Prints one JSON object.
 *
 * Postgres is an embedded, durable cluster (fsync on) in a temp dir, unless DATABASE_URL is set. The
 * projector runs as a child process (`abaxus projector`, from dist/, its own billing cycle off), as in
 * production; the billing cycle under test runs in this process on a fake clock.
 *   1. seeds N customers with a monthly subscription each (plan: a flat fee and 3 usage charges on 3
 *      metrics) through the operations, concurrently, and M UsageRecorded events in October 2026 spread
 *      over them with set-based INSERTs in the event store's own row format (the append path is what
 *      bench/event-store-append.ts and bench/ingestion.ts measure);
 *   2. starts the projector and times its catch-up: every projection at the last seeded event;
 *   3. THE BILLING RUN: one billing-cycle tick at Nov 1 01:00 (the October periods ended, the default
 *      grace of one hour passed), in batches of `--batch-size` invoices (one snapshot read and one
 *      transaction each; 0: one invoice at a time, `--concurrency` customers side by side): it drafts
 *      every invoice (exact calculation, stored) and closes it (gapless number, snapshots, journal
 *      entry); timed, with the queries this process sent, then checked (N closed invoices, numbers 1..N);
 *   4. the ticks after it, until every new invoice had its post-close late-usage check (at most 500 per
 *      tick: background work, timed separately), and one last tick with nothing to do.
 *   node dist/bench/billing-run.js [--subscriptions 10000] [--events 10000000] [--concurrency 8] [--batch-size 250]
 *     [--cpu-profile run.cpuprofile] [--smoke]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client, type Pool } from 'pg';
import { tenantRegistry, type TenantRegistryEvent } from '#domain';
import { PostgresEventStore, TENANTS_STREAM, readOrEmpty, waitForPosition, type EventStore } from '#ledger';
import { createPool, freePort, migrate } from '#platform';
import { createCustomer } from '../apps/api/src/customers/customer.operations';
import { createMetric } from '../apps/api/src/metrics/metric.operations';
import { createPricePlan } from '../apps/api/src/price-plans/price-plan.operations';
import { startSubscription } from '../apps/api/src/subscriptions/subscription.operations';
import { startBillingCycle } from '../apps/projector/src/billing-cycle';
import { DEFAULT_INVOICE_BATCH } from '../apps/projector/src/billing-cycle/invoice-ended-periods';
import { projections } from '../apps/projector/src/projections';
import { benchDatabase, benchTempDir, root, startChild, type Child } from './bench-harness';

const TENANT = 'default';
const ACTOR = 'system:bench';
const MONTH = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const METRICS = ['api_calls', 'storage_gb', 'seats'] as const;
const SEED_CHUNK = 100_000;

interface Options {
  subscriptions: number;
  events: number;
  concurrency: number;
  /** Invoices per batch of the cycle (0: one at a time, the path before batching). */
  batchSize: number;
  /** Write a CPU profile of the billing run's tick alone (`.cpuprofile`, for Chrome DevTools) here. */
  cpuProfile: string | null;
  smoke: boolean;
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const number = (flag: string, fallback: number, max: number, min = 1) => {
    const at = argv.indexOf(flag);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`${flag} expects an integer in [1, ${max}]`);
    return value;
  };
  return {
    subscriptions: number('--subscriptions', smoke ? 40 : 10_000, 1_000_000),
    events: number('--events', smoke ? 12_000 : 10_000_000, 100_000_000),
    concurrency: number('--concurrency', 8, 64),
    batchSize: number('--batch-size', DEFAULT_INVOICE_BATCH, 5_000, 0),
    cpuProfile: argv.includes('--cpu-profile') ? argv[argv.indexOf('--cpu-profile') + 1] : null,
    smoke,
  };
}

const seconds = (since: number) => Number(((performance.now() - since) / 1000).toFixed(3));
const customerId = (i: number) => `bench_c${i}`;

/** Runs `work` for 0..count-1 with `concurrency` in flight. */
async function concurrently(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function registerTenant(store: EventStore): Promise<void> {
  const recorded = await readOrEmpty(store, TENANTS_STREAM);
  const state = recorded.reduce(
    (s, e) => tenantRegistry.evolve(s, { type: e.type, data: e.data } as TenantRegistryEvent),
    tenantRegistry.initialState(),
  );
  const events = tenantRegistry.decide(
    { type: 'CreateTenant', tenant_id: TENANT, name: 'Bench', at: new Date() },
    state,
  );
  if (events.length === 0) return;
  await store.append(
    TENANTS_STREAM,
    events.map((event) => ({
      id: crypto.randomUUID(),
      type: event.type,
      data: event.data,
      metadata: { tenant_id: TENANT, actor: ACTOR },
    })),
  );
}

/** The catalog and N customers, each with a calendar-monthly subscription from Oct 1, through the operations. */
async function seedCatalog(store: EventStore, options: Options) {
  const started = performance.now();
  const ctx = { store, tenantId: TENANT, actor: ACTOR };
  await registerTenant(store);
  await createMetric({ ...ctx, key: 'api_calls', name: 'API calls', definition: { aggregation: 'sum' } });
  await createMetric({ ...ctx, key: 'storage_gb', name: 'Storage (GB)', definition: { aggregation: 'max' } });
  await createMetric({ ...ctx, key: 'seats', name: 'Seats', definition: { aggregation: 'count' } });
  await createPricePlan({
    ...ctx,
    key: 'bench',
    publish: true,
    content: {
      name: 'Bench',
      currency: 'USD',
      billing_interval: 'month',
      charges: [
        { key: 'base', model: 'flat_fee', amount: '49.00' },
        { key: 'api', model: 'per_unit', metric_key: 'api_calls', unit_price: '0.001' },
        {
          key: 'storage',
          model: 'tiered',
          metric_key: 'storage_gb',
          tiers: [
            { up_to: '100', unit_price: '0.10' },
            { up_to: null, unit_price: '0.05' },
          ],
        },
        { key: 'seats', model: 'per_unit', metric_key: 'seats', unit_price: '0.50' },
      ],
    },
  });
  await concurrently(options.subscriptions, 16, async (i) => {
    await createCustomer({
      ...ctx,
      id: customerId(i),
      fields: { name: `Customer ${i}`, currency: 'USD', timezone: 'UTC' },
    });
    await startSubscription({
      ...ctx,
      request: { customer_id: customerId(i), plan_key: 'bench', start_date: '2026-10-01', billing_anchor: 'calendar' },
    });
  });
  return { seconds: seconds(started) };
}

/**
 * M events, event i for customer i mod N at revision i div N of its October stream, metric by revision
 * (api_calls, storage_gb, seats in turn), spread over the month, in rows as the Postgres store writes
 * them. One chunk per transaction.
 */
async function seedUsage(pool: Pool, options: Options) {
  const started = performance.now();
  const n = options.subscriptions;
  const perCustomer = Math.ceil(options.events / n);
  const spacingUs = Math.floor(((Date.parse(MONTH.end) - Date.parse(MONTH.start)) * 1000) / perCustomer);
  for (let from = 0; from < options.events; from += SEED_CHUNK) {
    const to = Math.min(options.events, from + SEED_CHUNK) - 1;
    await pool.query(
      `WITH g AS (
         SELECT i, gen_random_uuid() AS id, i % $3 AS c, i / $3 AS r FROM generate_series($1::bigint, $2::bigint) AS i),
       t AS (
         SELECT g.*, date_trunc('milliseconds', $4::timestamptz + (r * $5::bigint + c % 997) * interval '1 microsecond') AS ts
           FROM g)
       INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
       SELECT id, $6 || ':usage-bench_c' || c || '-2026-10', r, 'UsageRecorded', $6,
              jsonb_build_object(
                'usage_id', id, 'customer_id', 'bench_c' || c, 'metric_key', ($7::text[])[1 + r % 3],
                'value', (1 + i % 10)::text,
                'timestamp', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'idempotency_key', 'bench-' || i, 'properties', '{}'::jsonb,
                'payload_hash', md5(i::text), 'source', 'ingest'),
              jsonb_build_object('tenant_id', $6::text, 'actor', 'system:bench', 'request_id', 'bench-seed'),
              ts
         FROM t`,
      [from, to, n, MONTH.start, spacingUs, TENANT, METRICS],
    );
  }
  await pool.query(
    `INSERT INTO streams (stream, tenant_id, revision)
     SELECT $1::text || ':usage-bench_c' || c || '-2026-10', $1::text, ($2::bigint - 1 - c) / $3::bigint
       FROM generate_series(0::bigint, LEAST($3::bigint, $2::bigint) - 1) AS c
     ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision`,
    [TENANT, options.events, n],
  );
  const elapsed = seconds(started);
  return { seconds: elapsed, events_per_second: Math.round(options.events / elapsed) };
}

interface QueryStats {
  count: number;
  /** Milliseconds from send to result, by the statement's first characters. */
  byStatement: Map<string, { count: number; ms: number }>;
}

/**
 * Counts and times every query this process sends (pool.query goes through a client's query too): the
 * billing cycle runs in this process, the projector in its own, so what is counted during the run is
 * the cycle's. A CPU profile shows the process's own time; this shows where it waits on the database.
 */
function instrumentQueries(): QueryStats {
  const stats: QueryStats = { count: 0, byStatement: new Map() };
  type Query = (this: Client, ...args: unknown[]) => unknown;
  const original = Client.prototype.query as unknown as Query;
  const patched: Query = function (...args) {
    stats.count += 1;
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 70);
    const started = performance.now();
    const done = () => {
      const entry = stats.byStatement.get(key) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += performance.now() - started;
      stats.byStatement.set(key, entry);
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (...callbackArgs: unknown[]) => {
        done();
        return (last as (...a: unknown[]) => unknown)(...callbackArgs);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as Promise<unknown> | undefined;
    if (result && typeof result.then === 'function') result.then(done, done);
    return result;
  };
  (Client.prototype as unknown as { query: Query }).query = patched;
  return stats;
}

/** The statements the run waited on longest. */
function slowestStatements(stats: QueryStats, top = 10) {
  return [...stats.byStatement.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([statement, { count, ms }]) => ({ statement, count, seconds: Number((ms / 1000).toFixed(3)) }));
}

/** A CPU profile of this process from now until stop() (node:inspector, no flag needed). */
async function startProfiler(): Promise<{ stop(): Promise<object> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

async function lastCommitted(pool: Pool): Promise<string | null> {
  const { rows } = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return rows[0]?.checkpoint ?? null;
}

/** `abaxus projector` as a child, with the cycle under test running here, on its fake clock. */
function startProjectorProcess(url: string, dataDir: string, metricsPort: number): Child {
  return startChild([join(root, 'dist', 'apps', 'cli', 'src', 'main.js'), 'projector'], {
    DATABASE_URL: url,
    ABAXUS_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PROJECTOR_METRICS_PORT: String(metricsPort),
    // The projector's own cycle would bill on the real clock.
    ABAXUS_BILLING_CYCLE_SECONDS: '0',
  });
}

async function catchUp(pool: Pool, store: EventStore, events: number) {
  const target = await lastCommitted(pool);
  const started = performance.now();
  for (const projection of projections) {
    await waitForPosition({ pool, store }, projection.name, target, 3_600_000, { maxPollIntervalMs: 50 });
  }
  const elapsed = seconds(started);
  return { seconds: elapsed, events_per_second: Math.round(events / elapsed) };
}

/** The closed invoices of October and their numbers: N of them, numbered 1..N. */
async function verify(pool: Pool, store: EventStore, expected: number) {
  const numbers = (await readOrEmpty(store, `${TENANT}:invoice_numbers`)).map((event) => event.revision + 1);
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT DISTINCT stream FROM events
       WHERE tenant_id = $1 AND type = 'InvoiceClosed') AS closed`,
    [TENANT],
  );
  return {
    closed_invoices: Number(rows[0].n),
    numbers_gapless: numbers.length === expected && numbers.every((number, index) => number === index + 1),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const database = await benchDatabase('billing');
  const { url } = database;
  const dataDir = benchTempDir('abaxus-bench-billing-');
  const pool = createPool(url, { max: 24, applicationName: 'abaxus-bench-billing' });
  const store = new PostgresEventStore(pool);
  let projector: Child | undefined;
  try {
    await migrate(pool);
    const catalog = await seedCatalog(store, options);
    const usage = await seedUsage(pool, options);
    projector = startProjectorProcess(url, dataDir.path, await freePort());
    const caughtUp = await catchUp(pool, store, options.events);

    const clock = new Date('2026-11-01T01:00:00.000Z');
    const cycle = startBillingCycle({
      pool,
      store,
      now: () => clock,
      intervalMs: 0,
      concurrency: options.concurrency,
      batchSize: options.batchSize,
    });
    const queries = instrumentQueries();
    const profiler = options.cpuProfile === null ? null : await startProfiler();
    const started = performance.now();
    const run = await cycle.tick();
    const runSeconds = seconds(started);
    if (profiler) writeFileSync(options.cpuProfile!, JSON.stringify(await profiler.stop()));
    const runQueries = queries.count;
    const slowest = slowestStatements(queries);
    const checksStarted = performance.now();
    let checked = 0;
    let checkTicks = 0;
    for (let idle = 0; checked < run.closed && idle < 3;) {
      const report = await cycle.tick();
      checkTicks += 1;
      checked += report.checked;
      idle = report.checked === 0 ? idle + 1 : 0;
    }
    const checksSeconds = seconds(checksStarted);
    const idleStarted = performance.now();
    const idle = await cycle.tick();
    const idleSeconds = seconds(idleStarted);
    await cycle.stop();
    const verified = await verify(pool, store, options.subscriptions);
    const report = {
      bench: 'billing-run',
      mode: options.smoke ? 'smoke' : 'full',
      postgres: database.label,
      cpus: cpus().length,
      subscriptions: options.subscriptions,
      usage_charges_per_subscription: METRICS.length,
      events: options.events,
      seed: { catalog_seconds: catalog.seconds, usage: usage },
      projector_catch_up: caughtUp,
      billing_run: {
        seconds: runSeconds,
        invoices: run.closed,
        invoices_per_second: Number((run.closed / runSeconds).toFixed(1)),
        drafted: run.drafted,
        closed: run.closed,
        failed: run.failed.length,
        concurrency: options.concurrency,
        batch_size: options.batchSize,
        queries: runQueries,
        queries_per_invoice: Number((runQueries / Math.max(1, run.closed)).toFixed(1)),
        slowest_statements: slowest,
        first_failure: run.failed[0] ?? null,
      },
      post_close_checks: {
        ticks: checkTicks,
        checked,
        seconds: checksSeconds,
        checks_per_second: Number((checked / checksSeconds).toFixed(1)),
      },
      idle_tick: {
        seconds: idleSeconds,
        did_nothing: idle.drafted + idle.closed + idle.checked + idle.adjustments === 0 && idle.failed.length === 0,
      },
      verified,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    if (run.failed.length > 0 || !verified.numbers_gapless || verified.closed_invoices !== options.subscriptions) {
      process.exitCode = 1;
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).stack}\n${projector?.stderr.join('') ?? ''}`);
    process.exitCode = 1;
  } finally {
    await projector?.stop();
    await store.close();
    await pool.end();
    await database.stop();
    dataDir.remove();
  }
}

void main();
