/**
 * Entitlement checks on the hot path: GET /v1/entitlements/check under load, for a limit on a
 * metric (memory + one read of the pre-aggregated usage buckets of the current billing period) and
 * for a boolean feature (memory only). Prints one JSON object.
 *
 * The API and the projector run in THIS process (startApi, startProjector, from dist/), each with
 * its own pool; the load generator (autocannon) runs in a worker thread, so it never shares the
 * API's event loop. Postgres is an embedded, durable cluster (fsync on) in a temp dir, unless
 * DATABASE_URL is set.
 *   1. seeds through the API: a metric, a plan with boolean, limit and config entitlements, N customers
 *      each subscribed (calendar months, UTC), usage events spread over the current period
 *      (POST /v1/events/batch), and waits for the `usage` projection to apply them all;
 *   2. checks the limit's usage equals what was seeded (the figures are about correct answers);
 *   3. autocannon on loopback: the limit check with every connection on one customer (`limit_check`),
 *      then with each connection on its own customer (`limit_check_spread`: no two checks share a
 *      usage read), then the boolean check: req/s, p50, p99, p99.9, max.
 *   node dist/bench/entitlements.js [--seconds 10] [--connections 16] [--customers 100] [--events 20000] [--smoke]
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import type { Pool } from 'pg';
import pino from 'pino';
import { BENCH_RATE_LIMIT } from './bench-limits';
import { benchDatabase, benchTempDir } from './bench-harness';
import { startApi, bootstrapDefaultTenant, type RunningApi } from '../apps/api/src';
import { startProjector, type Projector } from '../apps/projector/src';
import { PostgresEventStore, waitForPosition } from '#ledger';
import { createPool, migrate, type AbaxusConfig } from '#platform';

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  p99_9: number;
  max: number;
}
interface AutocannonResult {
  duration: number;
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (options: {
  url: string | string[];
  connections: number;
  duration: number;
  workers: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;

const autocannon = createRequire(__filename)('autocannon') as Autocannon;
const ADMIN_KEY = `sk_bench${randomBytes(16).toString('hex')}`;
const BATCH = 500;
const BENCH_CUSTOMER = 'bench_c0';

interface Options {
  seconds: number;
  connections: number;
  customers: number;
  events: number;
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
    seconds: number('--seconds', smoke ? 2 : 10, 600),
    connections: Math.floor(number('--connections', 16, 1_000)),
    customers: Math.floor(number('--customers', smoke ? 16 : 100, 100_000)),
    events: Math.floor(number('--events', smoke ? 1_000 : 20_000, 10_000_000)),
    smoke,
  };
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** The current calendar month in UTC: the billing period of every seeded subscription. */
function currentMonth(now = new Date()): { start: Date; end: Date } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  return { start, end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
}

/** Catalog and subscriptions through the API, like any client. */
async function seedCatalog(url: string, customers: number): Promise<void> {
  await call(url, 'POST', '/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum' });
  await call(url, 'POST', '/v1/price-plans', {
    key: 'pro',
    name: 'Pro',
    currency: 'USD',
    billing_interval: 'month',
    charges: [{ key: 'api', model: 'per_unit', metric_key: 'api_calls', unit_price: '0.001' }],
    entitlements: {
      api_calls_per_month: { type: 'limit', value: '100000000', metric_key: 'api_calls' },
      advanced_analytics: { type: 'boolean', value: true },
      model_tier: { type: 'config', value: 'gpt-4' },
    },
    publish: true,
  });
  for (let i = 0; i < customers; i++) {
    const id = `bench_c${i}`;
    await call(url, 'POST', '/v1/customers', { id, name: `Bench ${i}`, currency: 'USD', timezone: 'UTC' });
    await call(url, 'POST', '/v1/subscriptions', {
      customer_id: id,
      plan_key: 'pro',
      start_date: '2024-01-01',
      billing_anchor: 'calendar',
    });
  }
}

/**
 * Usage events spread evenly over the current period up to a minute ago, round-robin over the
 * customers; returns the sum seeded for the bench customer (values are small integers).
 */
async function seedUsage(url: string, options: Options): Promise<bigint> {
  const { start } = currentMonth();
  const span = Math.max(60_000, Date.now() - 60_000 - start.getTime());
  const run = randomBytes(4).toString('hex');
  let benchSum = 0n;
  for (let from = 0; from < options.events; from += BATCH) {
    const events = [];
    for (let i = from; i < Math.min(options.events, from + BATCH); i++) {
      const customer = i % options.customers;
      const value = (i % 9) + 1;
      if (customer === 0) benchSum += BigInt(value);
      events.push({
        customer_id: `bench_c${customer}`,
        metric_key: 'api_calls',
        value: String(value),
        timestamp: new Date(start.getTime() + Math.floor((span * i) / options.events)).toISOString(),
        idempotency_key: `${run}-${i}`,
        properties: { region: ['eu', 'us', 'ap'][i % 3] },
      });
    }
    await call(url, 'POST', '/v1/events/batch', { events });
  }
  return benchSum;
}

/** The last committed event in log order (not headCheckpoint: the projector's open batch would hold that back). */
async function lastCommitted(pool: Pool): Promise<string | null> {
  const result = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return result.rows[0]?.checkpoint ?? null;
}

/** `paths`: one per connection in turn (autocannon gives connection i the path i mod n). */
async function load(url: string, paths: string | string[], options: Options, seconds: number) {
  const result = await autocannon({
    url: typeof paths === 'string' ? `${url}${paths}` : paths.map((path) => `${url}${path}`),
    connections: options.connections,
    duration: seconds,
    workers: 1,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  const ok = Object.entries(result.statusCodeStats)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, stat]) => sum + Number(stat.count), 0);
  const { p50, p99, p99_9, max, average } = result.latency;
  return {
    seconds: result.duration,
    ok_requests: ok,
    failed_requests: result.non2xx + result.errors + result.timeouts,
    status_codes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([status, stat]) => [status, stat.count]),
    ),
    requests_per_second: Number((ok / result.duration).toFixed(1)),
    // autocannon's histogram has 1 ms resolution: a p50 of 0 means "under a millisecond".
    latency_ms: { p50, p99, p99_9, max, average },
  };
}

const checkPath = (customer: string, feature: string) =>
  `/v1/entitlements/check?customer_id=${customer}&feature=${feature}`;

/**
 * The limit check twice: every connection on ONE customer (a busy customer: concurrent checks share
 * one usage read), then each connection on its own customer (every check reads the buckets); then
 * the boolean check (memory only).
 */
async function measure(url: string, options: Options, expectedUsage: bigint) {
  const limitPath = checkPath(BENCH_CUSTOMER, 'api_calls_per_month');
  const booleanPath = checkPath(BENCH_CUSTOMER, 'advanced_analytics');
  const spread = Array.from({ length: Math.min(options.customers, options.connections) }, (_, i) =>
    checkPath(`bench_c${i}`, 'api_calls_per_month'),
  );
  const limitAnswer = await call(url, 'GET', limitPath);
  const booleanAnswer = await call(url, 'GET', booleanPath);
  if (limitAnswer.usage !== expectedUsage.toString()) {
    throw new Error(`the limit check says usage ${String(limitAnswer.usage)}, seeded ${expectedUsage}`);
  }
  if (booleanAnswer.granted !== true)
    throw new Error(`the boolean check is not granted: ${JSON.stringify(booleanAnswer)}`);
  // Warm-up (JIT, pool connections), not reported.
  await load(url, limitPath, options, Math.min(1, options.seconds));
  await load(url, booleanPath, options, Math.min(1, options.seconds));
  const limit = await load(url, limitPath, options, options.seconds);
  const limitSpread = await load(url, spread, options, options.seconds);
  const boolean = await load(url, booleanPath, options, options.seconds);
  return { limitAnswer, booleanAnswer, limit, limitSpread, customersSpread: spread.length, boolean };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const database = await benchDatabase('entitlements');
  const { url } = database;
  const dataDir = benchTempDir('abaxus-bench-entitlements-');
  const apiPool = createPool(url, { applicationName: 'abaxus-bench-api' });
  const projectorPool = createPool(url, { max: 5, applicationName: 'abaxus-bench-projector' });
  const apiStore = new PostgresEventStore(apiPool);
  const projectorStore = new PostgresEventStore(projectorPool);
  const logger = pino({ level: process.env.LOG_LEVEL || 'warn' });
  let api: RunningApi | undefined;
  let projector: Projector | undefined;
  try {
    await migrate(apiPool);
    const config: AbaxusConfig = {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: url,
      dataDir: dataDir.path,
      adminKey: ADMIN_KEY,
      logLevel: logger.level,
      bodyLimitBytes: 1_048_576,
      // The per-key limiter stays on (its cost is measured) but above what the bench sends: the default
      // 2,000 req/s would answer 429s and measure the limit instead of the check.
      rateLimitPerSecond: BENCH_RATE_LIMIT,
    };
    await bootstrapDefaultTenant({ store: apiStore, config, logger });
    api = await startApi({ config, pool: apiPool, store: apiStore, logger });
    projector = await startProjector({ pool: projectorPool, store: projectorStore, logger, metricsPort: null });
    const seedStarted = performance.now();
    await seedCatalog(api.url, options.customers);
    const expectedUsage = await seedUsage(api.url, options);
    await waitForPosition({ pool: apiPool, store: apiStore }, 'usage', await lastCommitted(apiPool), 600_000, {
      maxPollIntervalMs: 20,
    });
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const figures = await measure(api.url, options, expectedUsage);
    const { start, end } = currentMonth();
    const report = {
      bench: 'entitlements',
      mode: options.smoke ? 'smoke' : 'full',
      postgres: database.label,
      cpus: cpus().length,
      node: process.version,
      setup: 'API and projector in this process; autocannon in a worker thread; loopback',
      connections: options.connections,
      seeded: {
        customers: options.customers,
        usage_events: options.events,
        period: { start: start.toISOString(), end: end.toISOString() },
        seconds_including_projection: Number(seedSeconds.toFixed(3)),
      },
      limit_check: { ...figures.limit, usage: figures.limitAnswer.usage, lag_seconds: lagOf(figures.limitAnswer) },
      limit_check_spread: { customers: figures.customersSpread, ...figures.limitSpread },
      boolean_check: figures.boolean,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await api?.close();
    await projector?.stop();
    await apiStore.close();
    await projectorStore.close();
    await apiPool.end();
    await projectorPool.end();
    await database.stop();
    dataDir.remove();
  }
}

function lagOf(answer: Record<string, unknown>): unknown {
  return (answer.meta as { lag_seconds?: unknown } | undefined)?.lag_seconds;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
