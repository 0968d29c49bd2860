/**
 * Metering: the `usage` projection's catch-up rate, the exact compute over a big period, and the
 * eventual summary under load. Prints one JSON object.
 *
 * The API and the projector run as child processes (`abaxus api`, `abaxus projector`, from dist/),
 * as in production; Postgres is an embedded, durable cluster (fsync on) in a temp dir, unless
 * DATABASE_URL is set.
 *   1. seeds N UsageRecorded events of ONE customer and ONE metric (sum, grouped by region) in ONE
 *      month, with set-based INSERTs of rows in the event store's own format (the store's append
 *      path is what bench/ingestion.ts measures), one stream, consecutive revisions;
 *   2. starts the projector and measures how long the `usage` projection takes to apply them all
 *      (events/s, every registered projection running, as in production);
 *   3. POST /v1/usage/compute over that month, several runs: min / median / max latency, then as many
 *      runs with group_by (the region): min / median / max;
 *   4. GET /v1/usage/summary for that month under autocannon, with 1 then 8 connections: req/s, p50,
 *      p99 (and that the summary equals the compute), each after an unmeasured warm-up of its own.
 *   node dist/bench/metering.js [--events 1000000] [--seconds 10] [--runs 5] [--smoke]
 */
import { BENCH_RATE_LIMIT } from './bench-limits';
import { benchDatabase, benchTempDir, root, startChild, waitFor, type Child } from './bench-harness';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { PostgresEventStore, waitForPosition } from '#ledger';
import { createPool, freePort, migrate } from '#platform';

interface AutocannonResult {
  duration: number;
  latency: { average: number; p50: number; p99: number; max: number };
  requests: { total: number; average: number };
  errors: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  warmup?: { connections: number; duration: number };
}) => Promise<AutocannonResult>;

const autocannon = createRequire(__filename)('autocannon') as Autocannon;
const ADMIN_KEY = `sk_bench${randomBytes(16).toString('hex')}`;
const TENANT = 'default';
const CUSTOMER = 'bench_c0';
const METRIC = 'api_calls';
const MONTH = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const SEED_CHUNK = 100_000;
/** One connection: the latency of a summary alone; eight: under concurrent load (2 cores shared with Postgres). */
const SUMMARY_CONNECTIONS = [1, 8];
/**
 * Unmeasured summary load before each measured run, as a long-running API sees it: the first
 * seconds after the compute runs (JIT of the summary path, the cluster settling after VACUUM) gave
 * a p99 of 5-8 ms, the same API seconds later 2-3 ms.
 */
const SUMMARY_WARMUP_SECONDS = 3;

interface Options {
  events: number;
  seconds: number;
  runs: number;
  smoke: boolean;
}

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const number = (flag: string, fallback: number, max: number) => {
    const at = argv.indexOf(flag);
    const value = at >= 0 ? Number(argv[at + 1]) : fallback;
    if (!Number.isFinite(value) || value <= 0 || value > max)
      throw new Error(`${flag} expects a number in (0, ${max}]`);
    return value;
  };
  return {
    events: Math.floor(number('--events', smoke ? 10_000 : 1_000_000, 50_000_000)),
    seconds: number('--seconds', smoke ? 1 : 10, 600),
    runs: Math.floor(number('--runs', smoke ? 2 : 5, 100)),
    smoke,
  };
}

async function call(url: string, method: string, path: string, body?: unknown) {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return { json, ms: performance.now() - started };
}

/**
 * N events spread evenly over the month, in rows exactly as the Postgres store writes them
 * (UsageRecordedData, event id = usage id, consecutive revisions of one stream), chunk by chunk.
 */
async function seed(pool: Pool, events: number): Promise<{ seconds: number; events_per_second: number }> {
  const stream = `${TENANT}:usage-${CUSTOMER}-2026-10`;
  const spacingUs = Math.floor(((Date.parse(MONTH.end) - Date.parse(MONTH.start)) * 1000) / events);
  const started = performance.now();
  for (let from = 1; from <= events; from += SEED_CHUNK) {
    const to = Math.min(events, from + SEED_CHUNK - 1);
    await pool.query(
      `WITH g AS (
         SELECT i, gen_random_uuid() AS id,
                date_trunc('milliseconds', $3::timestamptz + ((i - 1) * $4::bigint) * interval '1 microsecond') AS ts
           FROM generate_series($1::bigint, $2::bigint) AS i)
       INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
       SELECT id, $5, i - 1, 'UsageRecorded', $6,
              jsonb_build_object(
                'usage_id', id, 'customer_id', $7::text, 'metric_key', $8::text,
                'value', trim_scale((i % 1000)::numeric / 4)::text,
                'timestamp', to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'idempotency_key', 'bench-' || i,
                'properties', jsonb_build_object('region', (ARRAY['eu', 'us', 'ap'])[1 + i % 3], 'endpoint', '/v1/things'),
                'payload_hash', md5(i::text), 'source', 'ingest'),
              jsonb_build_object('tenant_id', $6::text, 'actor', 'system:bench', 'request_id', 'bench-seed'),
              ts
         FROM g`,
      [from, to, MONTH.start, spacingUs, stream, TENANT, CUSTOMER, METRIC],
    );
  }
  await pool.query(
    `INSERT INTO streams (stream, tenant_id, revision) VALUES ($1, $2, $3)
     ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision`,
    [stream, TENANT, events - 1],
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds: Number(seconds.toFixed(3)), events_per_second: Math.round(events / seconds) };
}

/** The last committed event in log order (not headCheckpoint: an open batch would hold that back). */
async function lastCommitted(pool: Pool): Promise<string | null> {
  const result = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return result.rows[0]?.checkpoint ?? null;
}

async function startApi(url: string, dataDir: string): Promise<{ child: Child; apiUrl: string }> {
  const port = await freePort();
  const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
  // ABAXUS_BENCH_API_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API alone.
  const nodeArgs = (process.env.ABAXUS_BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = startChild([...nodeArgs, cli, 'api'], {
    DATABASE_URL: url,
    ABAXUS_DATA_DIR: dataDir,
    ABAXUS_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    ABAXUS_RATE_LIMIT_PER_SECOND: String(BENCH_RATE_LIMIT),
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const apiUrl = `http://127.0.0.1:${port}`;
  await waitFor('api', async () => (await fetch(`${apiUrl}/readyz`)).status === 200, child);
  return { child, apiUrl };
}

async function startProjector(url: string, dataDir: string): Promise<Child> {
  const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
  return startChild([cli, 'projector'], {
    DATABASE_URL: url,
    ABAXUS_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PROJECTOR_METRICS_PORT: String(await freePort()),
  });
}

/**
 * Samples the usage projection's `events_applied` and measures its pace between 10% and 90% of the
 * seeded events (null when the run was too short to see both).
 */
function steadyRate(pool: Pool, events: number): { stop(): Promise<number | null> } {
  let running = true;
  const marks: { low?: number; high?: number } = {};
  const sampling = (async () => {
    while (running) {
      const { rows } = await pool.query<{ applied: string }>(
        `SELECT events_applied::text AS applied FROM projections WHERE name = 'usage' AND status = 'live'`,
      );
      const applied = Number(rows[0]?.applied ?? 0);
      if (marks.low === undefined && applied >= events * 0.1) marks.low = performance.now();
      if (marks.high === undefined && applied >= events * 0.9) marks.high = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await sampling;
      if (marks.low === undefined || marks.high === undefined || marks.high <= marks.low) return null;
      return Math.round((events * 0.8) / ((marks.high - marks.low) / 1000));
    },
  };
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Number(n.toFixed(1));
  return {
    min: round(sorted[0]),
    median: round(sorted[Math.floor(sorted.length / 2)]),
    max: round(sorted[sorted.length - 1]),
  };
};

async function measureCompute(apiUrl: string, runs: number) {
  const body = { customer_id: CUSTOMER, metric_key: METRIC, period_start: MONTH.start, period_end: MONTH.end };
  const latencies: number[] = [];
  let last: Record<string, unknown> = {};
  for (let run = 0; run < runs; run++) {
    const { json, ms } = await call(apiUrl, 'POST', '/v1/usage/compute', body);
    latencies.push(ms);
    last = json;
  }
  const grouped: number[] = [];
  for (let run = 0; run < runs; run++) {
    grouped.push((await call(apiUrl, 'POST', '/v1/usage/compute', { ...body, group_by: ['region'] })).ms);
  }
  return { runs, latency_ms: stats(latencies), grouped_latency_ms: stats(grouped), result: last };
}

async function measureSummary(apiUrl: string, seconds: number, connections: number) {
  const path = `/v1/usage/summary?${new URLSearchParams({
    customer_id: CUSTOMER,
    metric_key: METRIC,
    period_start: MONTH.start,
    period_end: MONTH.end,
  }).toString()}`;
  const { json } = await call(apiUrl, 'GET', path);
  const warmupSeconds = Math.min(SUMMARY_WARMUP_SECONDS, seconds);
  const result = await autocannon({
    url: `${apiUrl}${path}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    warmup: { connections, duration: warmupSeconds },
  });
  const ok = Object.entries(result.statusCodeStats)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, stat]) => sum + Number(stat.count), 0);
  return {
    connections,
    warmup_seconds: warmupSeconds,
    seconds: result.duration,
    ok_requests: ok,
    failed_requests: result.non2xx + result.errors,
    requests_per_second: Number((ok / result.duration).toFixed(1)),
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    result: json,
  };
}

function buildReport(
  options: Options,
  postgres: string,
  seeded: { seconds: number; events_per_second: number },
  projection: { projectSeconds: number; steadyEventsPerSecond: number | null },
  computes: { cold: Awaited<ReturnType<typeof measureCompute>>; compute: Awaited<ReturnType<typeof measureCompute>> },
  summaries: Array<Awaited<ReturnType<typeof measureSummary>>>,
) {
  const { compute } = computes;
  return {
    bench: 'metering',
    mode: options.smoke ? 'smoke' : 'full',
    postgres,
    cpus: cpus().length,
    events: options.events,
    period: MONTH,
    seed: seeded,
    projector: {
      // From the projector's start (process start, every projection) to the usage projection at the last seeded event.
      seconds: Number(projection.projectSeconds.toFixed(3)),
      events_per_second: Math.round(options.events / projection.projectSeconds),
      // The usage projection's own pace between 10% and 90% of the events (no process start-up).
      steady_events_per_second: projection.steadyEventsPerSecond,
    },
    compute: {
      runs: compute.runs,
      // Right after the projector caught up (visibility map not set yet: heap visits).
      latency_ms_before_vacuum: computes.cold.latency_ms,
      // After VACUUM (ANALYZE): index-only scan.
      latency_ms: compute.latency_ms,
      grouped_by_region_latency_ms: compute.grouped_latency_ms,
      event_count: compute.result.event_count,
      value: compute.result.value,
    },
    summary: summaries.map((summary) => ({
      ...summary,
      result: undefined,
      value: summary.result.value,
      equals_compute: summary.result.value === compute.result.value,
    })),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const database = await benchDatabase('metering');
  const { url } = database;
  const dataDir = benchTempDir('abaxus-bench-metering-');
  const pool = createPool(url, { max: 4, applicationName: 'abaxus-bench-metering' });
  const store = new PostgresEventStore(pool);
  let api: { child: Child; apiUrl: string } | undefined;
  let projector: Child | undefined;
  try {
    await migrate(pool);
    api = await startApi(url, dataDir.path);
    await call(api.apiUrl, 'POST', '/v1/metrics', {
      key: METRIC,
      name: 'API calls',
      aggregation: 'sum',
      group_by: ['region'],
    });
    await call(api.apiUrl, 'POST', '/v1/customers', { id: CUSTOMER, name: 'Bench', currency: 'EUR', timezone: 'UTC' });
    const seeded = await seed(pool, options.events);
    const target = await lastCommitted(pool);
    const started = performance.now();
    projector = await startProjector(url, dataDir.path);
    const steady = steadyRate(pool, options.events);
    await waitForPosition({ pool, store }, 'usage', target, 3_600_000, { maxPollIntervalMs: 20 });
    const projectSeconds = (performance.now() - started) / 1000;
    const steadyEventsPerSecond = await steady.stop();
    const cold = await measureCompute(api.apiUrl, options.runs);
    // What autovacuum does to an insert-only table soon enough: sets the visibility map, so the exact
    // scan becomes index-only. Invoices are computed long after their events were projected.
    await pool.query('VACUUM (ANALYZE)');
    const compute = await measureCompute(api.apiUrl, options.runs);
    const summaries = [];
    for (const connections of SUMMARY_CONNECTIONS) {
      summaries.push(await measureSummary(api.apiUrl, options.seconds, connections));
    }
    const report = buildReport(
      options,
      database.label,
      seeded,
      { projectSeconds, steadyEventsPerSecond },
      { cold, compute },
      summaries,
    );
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await api?.child.stop();
    await projector?.stop();
    await store.close();
    await pool.end();
    await database.stop();
    dataDir.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
