/**
 * Usage ingestion throughput, end to end over HTTP on loopback, with the machine's own ceilings
 * measured in the same run. Prints one JSON object.
 *
 * The API and the projector run as child processes (`abaxus api`, `abaxus projector`, from dist/),
 * as in production, so the load generator (autocannon, in this process) never shares their event
 * loop; Postgres is an embedded, durable cluster (fsync on) in a temp dir, unless DATABASE_URL is set.
 *   (a) batch: POST /v1/events/batch, 500 events per request, unique keys: sustained events/s, then
 *       the projector's catch-up time once the load stops (its `usage` checkpoint vs the log's last event);
 *   (b) single: POST /v1/events, 64 connections: req/s, p50, p99;
 *   (c) ceilings: a bare Fastify server (same JSON parsing, answers 202/207, no work) under the same
 *       autocannon settings, and a raw multi-row INSERT of the same rows into a bare table.
 * Each of (a), (b) and the raw insert also reports where the CPU went, per event (per request for
 * (b)): the API, the projector, Postgres and this process, over the load and the catch-up after it
 * (`cpu_us_per_event`, `cpu_us_per_request`; Postgres is counted with the embedded cluster only).
 *   node dist/bench/ingestion.js [--seconds 60] [--smoke] [--log-level warn] [--phases batch,single,ceilings]
 *
 * `--catch-up-only [--events 555000] [--only usage]`: the projector alone, without the HTTP load. The
 * API seeds the metric and customers, then N UsageRecorded events (default: 60 s of batch ingestion at
 * the 9,250 events/s measured) are written set-based in the store's own row format, 500 per transaction
 * like ingestion's flushes; then the projector starts (`abaxus projector`, every projection and the
 * journal poster; with `--only`, those projections in-process) and the time each projection needs to
 * reach the last event is reported. ABAXUS_BENCH_PROJECTOR_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof") profiles the projector child.
 */
import { BENCH_RATE_LIMIT } from './bench-limits';
import { benchDatabase, benchTempDir, cpuSecondsOf, root, startChild, waitFor, type Child } from './bench-harness';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { ProjectionRunner, PostgresEventStore, type Projection } from '#ledger';
import { createPool, freePort, migrate } from '#platform';
import { projections as registeredProjections } from '../apps/projector/src/projections';

interface Histogram {
  average: number;
  p50: number;
  p99: number;
  max: number;
}
interface AutocannonResult {
  duration: number;
  latency: Histogram;
  requests: Histogram & { total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  timeout?: number;
  requests: Array<{
    method: string;
    path: string;
    headers: Record<string, string>;
    setupRequest(r: AutocannonRequest): AutocannonRequest;
  }>;
}) => Promise<AutocannonResult>;

const autocannon = createRequire(__filename)('autocannon') as Autocannon;
const ADMIN_KEY = `sk_bench${randomBytes(16).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
const CUSTOMERS = 100;
const BATCH = 500;
const SINGLE_CONNECTIONS = 64;
const BATCH_CONNECTIONS = 8;

type Phase = 'batch' | 'single' | 'ceilings';
const PHASES: readonly Phase[] = ['batch', 'single', 'ceilings'];

interface Options {
  seconds: number;
  smoke: boolean;
  logLevel: string;
  phases: readonly Phase[];
  /** Set: seed this many events and time the projector alone (no HTTP load). */
  catchUpEvents: number | null;
  /** With catchUpEvents: run only these projections, in this process. */
  only: readonly string[] | null;
}

/** 60 s of batch ingestion at the 9,250 events/s measured in session 1. */
const CATCH_UP_DEFAULT_EVENTS = 555_000;

function parseOptions(argv: string[]): Options {
  const smoke = argv.includes('--smoke');
  const at = argv.indexOf('--seconds');
  const seconds = at >= 0 ? Number(argv[at + 1]) : smoke ? 2 : 60;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
    throw new Error('--seconds expects a number in (0, 600]');
  const level = argv.indexOf('--log-level');
  const only = argv.indexOf('--phases');
  const phases = only >= 0 ? (argv[only + 1].split(',') as Phase[]) : PHASES;
  if (phases.some((phase) => !PHASES.includes(phase)))
    throw new Error(`--phases expects a list of ${PHASES.join(', ')}`);
  const events = argv.indexOf('--events');
  const catchUpEvents = argv.includes('--catch-up-only')
    ? events >= 0
      ? Number(argv[events + 1])
      : smoke
        ? 5_000
        : CATCH_UP_DEFAULT_EVENTS
    : null;
  if (catchUpEvents !== null && !(Number.isSafeInteger(catchUpEvents) && catchUpEvents > 0))
    throw new Error('--events expects a positive integer');
  const onlyAt = argv.indexOf('--only');
  const subset = onlyAt >= 0 ? argv[onlyAt + 1].split(',') : null;
  const known = new Set(registeredProjections.map((projection) => projection.name));
  if (subset?.some((name) => !known.has(name))) throw new Error(`--only expects names among ${[...known].join(', ')}`);
  return { seconds, smoke, logLevel: level >= 0 ? argv[level + 1] : 'warn', phases, catchUpEvents, only: subset };
}

/** Events of one request; keys are unique for the whole run. */
let sequence = 0;
const timestamp = new Date(Date.now() - 60_000).toISOString();
function eventJson(customer: number): string {
  sequence += 1;
  return (
    `{"customer_id":"bench_c${customer}","metric_key":"api_calls","value":"${sequence % 1000}.25",` +
    `"timestamp":"${timestamp}","idempotency_key":"${RUN}-${sequence}",` +
    `"properties":{"region":"eu-west-1","endpoint":"/v1/things","status":200}}`
  );
}
const batchBody = () => {
  const events: string[] = [];
  for (let i = 0; i < BATCH; i++) events.push(eventJson((sequence + i * 7) % CUSTOMERS));
  return `{"events":[${events.join(',')}]}`;
};
const singleBody = () => eventJson(sequence % CUSTOMERS);

/** CPU time (user + system) of a process so far, in ms; null where /proc is not available. */
function cpuMs(pid: number | undefined): number | null {
  const seconds = pid === undefined ? null : cpuSecondsOf(pid);
  return seconds === null ? null : seconds * 1000;
}

/** The processes whose CPU a phase reports; a part left out is not counted. */
interface CpuSubjects {
  api?: number;
  projector?: number;
  /** The embedded cluster's directory (null: DATABASE_URL, whose server's CPU cannot be read). */
  db: string | null;
}

/** CPU seconds used so far by each part of the run; null for a part not counted or unreadable. */
interface CpuParts {
  api: number | null;
  projector: number | null;
  postgres: number | null;
  /** This process: autocannon, or the raw insert's client, and the catch-up polling. */
  load_generator: number;
}

function cpuParts(of: CpuSubjects): CpuParts {
  const own = process.cpuUsage();
  return {
    api: of.api === undefined ? null : cpuSecondsOf(of.api),
    projector: of.projector === undefined ? null : cpuSecondsOf(of.projector),
    postgres: postgresCpuSeconds(of.db),
    load_generator: (own.user + own.system) / 1e6,
  };
}

/**
 * Where the machine's cores went: CPU microseconds per unit of work (an event, a request) of each
 * part between two samples, and their total. A ceiling's total and ours tell why the ratio is what
 * it is, which wall-clock rates on a shared 2-core machine cannot: a part that is null was not counted.
 */
function cpuPerUnit(before: CpuParts, after: CpuParts, units: number): Record<keyof CpuParts | 'total', number | null> {
  const part = (name: keyof CpuParts) => {
    const [from, to] = [before[name], after[name]];
    return from === null || to === null || units === 0 ? null : ((to - from) * 1e6) / units;
  };
  const parts = {
    api: part('api'),
    projector: part('projector'),
    postgres: part('postgres'),
    load_generator: part('load_generator'),
  };
  const counted = Object.values(parts).filter((value): value is number => value !== null);
  const rounded = (value: number | null) => (value === null ? null : Math.round(value));
  return {
    api: rounded(parts.api),
    projector: rounded(parts.projector),
    postgres: rounded(parts.postgres),
    load_generator: rounded(parts.load_generator),
    total: counted.length === 0 ? null : Math.round(counted.reduce((sum, value) => sum + value, 0)),
  };
}

/**
 * `serverPid`: the process answering, whose CPU per request is reported (a count-like figure that a
 * busy machine distorts less than req/s).
 */
async function load(
  url: string,
  path: string,
  connections: number,
  seconds: number,
  body: () => string,
  key: string,
  serverPid?: number,
) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const cpuBefore = cpuMs(serverPid);
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    timeout: 30,
    requests: [{ method: 'POST', path, headers, setupRequest: (request) => ({ ...request, body: body() }) }],
  });
  const ok = Object.entries(result.statusCodeStats)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, stats]) => sum + Number(stats.count), 0);
  return {
    ok_requests: ok,
    failed_requests: result.non2xx + result.errors,
    seconds: result.duration,
    requests_per_second: Number((ok / result.duration).toFixed(1)),
    latency_ms: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, Number(v.count)])),
    server_cpu_ms_per_request: perRequest(cpuBefore, cpuMs(serverPid), ok),
  };
}

function perRequest(before: number | null, after: number | null, requests: number): number | null {
  if (before === null || after === null || requests === 0) return null;
  return Number(((after - before) / requests).toFixed(3));
}

async function post(
  url: string,
  path: string,
  key: string,
  body: unknown,
): Promise<{ status: number; body: { key?: string } }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { key?: string } };
}

/** An ingest key, the metric and the customers, through the API like any client. */
async function seed(url: string): Promise<string> {
  const ingest = await post(url, '/v1/api-keys', ADMIN_KEY, { role: 'ingest', kind: 'secret', name: 'bench' });
  if (ingest.status !== 201) throw new Error(`could not issue an ingest key: ${ingest.status}`);
  const metric = await post(url, '/v1/metrics', ADMIN_KEY, { key: 'api_calls', name: 'API calls', aggregation: 'sum' });
  if (metric.status !== 201) throw new Error(`could not create the metric: ${metric.status}`);
  for (let i = 0; i < CUSTOMERS; i++) {
    const customer = await post(url, '/v1/customers', ADMIN_KEY, {
      id: `bench_c${i}`,
      name: `Bench ${i}`,
      currency: 'EUR',
    });
    if (customer.status !== 201) throw new Error(`could not create a customer: ${customer.status}`);
  }
  return ingest.body.key!;
}

/** The last committed event in log order (not headCheckpoint: the projector's open batch would hold that back). */
async function lastCommitted(pool: Pool): Promise<string | null> {
  const result = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return result.rows[0]?.checkpoint ?? null;
}

interface CatchUp {
  /** Every projection at the last event committed before the start. */
  seconds: number;
  /** Seconds until each projection got there. */
  per_projection_seconds: Record<string, number>;
  events_behind_at_stop: number;
}

/** Seconds from `started` until each of `names` has applied every event up to `target`. */
async function waitForAll(
  pool: Pool,
  store: PostgresEventStore,
  target: string | null,
  names: readonly string[],
  started: number,
): Promise<Record<string, number>> {
  const reached: Record<string, number> = {};
  const deadline = started + 900_000;
  while (names.some((name) => !(name in reached))) {
    if (performance.now() > deadline) throw new Error(`projections not caught up: ${JSON.stringify(reached)}`);
    const { rows } = await pool.query<{ name: string; checkpoint: string | null }>(
      `SELECT name, checkpoint FROM projections WHERE status = 'live'`,
    );
    const at = Number(((performance.now() - started) / 1000).toFixed(3));
    for (const row of rows) {
      if (!(row.name in reached) && store.compareCheckpoints(row.checkpoint, target) >= 0) reached[row.name] = at;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return reached;
}

/** Seconds from "load stopped" until every projection has applied every event committed before. */
async function catchUp(pool: Pool, store: PostgresEventStore): Promise<CatchUp> {
  const started = performance.now();
  const target = await lastCommitted(pool);
  const live = await pool.query<{ checkpoint: string | null }>(
    `SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live'`,
  );
  const behind = await store.countAfter(live.rows[0]?.checkpoint ?? null, 100_000_000);
  const names = registeredProjections.map((projection) => projection.name);
  const reached = await waitForAll(pool, store, target, names, started);
  return {
    seconds: Math.max(...Object.values(reached)),
    per_projection_seconds: reached,
    events_behind_at_stop: behind,
  };
}

const SEED_PER_TRANSACTION = 500;

/**
 * N UsageRecorded events of the run's customers, in rows as the Postgres store writes them (event id
 * = usage id, one stream per customer and month, consecutive revisions), 500 per transaction (one
 * request, one request id), on two connections like concurrent flushes.
 */
async function seedUsage(pool: Pool, events: number): Promise<{ seconds: number; events_per_second: number }> {
  const started = performance.now();
  const month = timestamp.slice(0, 7);
  let next = 0;
  const writer = async () => {
    while (next < events) {
      const from = next;
      next = Math.min(events, next + SEED_PER_TRANSACTION);
      await pool.query(
        `WITH g AS (SELECT i, gen_random_uuid() AS id FROM generate_series($1::bigint, $2::bigint) AS i)
         INSERT INTO events (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
         SELECT id, 'default:usage-bench_c' || (i % $3) || '-' || $4, i / $3, 'UsageRecorded', 'default',
                jsonb_build_object(
                  'usage_id', id, 'customer_id', 'bench_c' || (i % $3), 'metric_key', 'api_calls',
                  'value', (i % 1000)::text || '.25', 'timestamp', $5::text, 'idempotency_key', $6 || '-' || i,
                  'properties', jsonb_build_object('region', 'eu-west-1', 'endpoint', '/v1/things', 'status', 200),
                  'payload_hash', md5(i::text), 'source', 'ingest'),
                jsonb_build_object('tenant_id', 'default', 'actor', 'key_bench', 'request_id', $6 || '-r' || $1),
                $5::timestamptz
           FROM g`,
        [from, next - 1, CUSTOMERS, month, timestamp, RUN],
      );
    }
  };
  await Promise.all([writer(), writer()]);
  await pool.query(
    `INSERT INTO streams (stream, tenant_id, revision)
     SELECT 'default:usage-bench_c' || c || '-' || $3, 'default', ($1::bigint - 1 - c) / $2
       FROM generate_series(0, LEAST($2::bigint, $1::bigint) - 1) AS c
     ON CONFLICT (stream) DO UPDATE SET revision = EXCLUDED.revision`,
    [events, CUSTOMERS, month],
  );
  const seconds = (performance.now() - started) / 1000;
  return { seconds: Number(seconds.toFixed(3)), events_per_second: Math.round(events / seconds) };
}

/** Transactions and events written by ingestion since `since` (how much one flush carried). */
async function flushes(
  pool: Pool,
  since: Date,
): Promise<{ transactions: number; events: number; events_per_transaction: number }> {
  const result = await pool.query<{ transactions: string; events: string }>(
    `SELECT count(DISTINCT tx_id)::text AS transactions, count(*)::text AS events FROM events
      WHERE type = 'UsageRecorded' AND recorded_at >= $1`,
    [since],
  );
  const transactions = Number(result.rows[0].transactions);
  const events = Number(result.rows[0].events);
  return { transactions, events, events_per_transaction: Number((events / Math.max(1, transactions)).toFixed(1)) };
}

/**
 * The same rows (as the API would store them: event data, metadata, stream, revision) into a bare
 * table: no index, no constraint, no lock, no key check. Shipped the fastest way measured (one JSON
 * document per INSERT, json_to_recordset), 500 rows per INSERT, each its own transaction.
 */
async function rawInsert(pool: Pool, seconds: number, connections: number, db: string | null) {
  await pool.query(`DROP TABLE IF EXISTS bench_raw_usage`);
  await pool.query(`CREATE TABLE bench_raw_usage (id uuid, stream text, revision bigint, type text, tenant_id text,
    data jsonb, metadata jsonb, occurred_at timestamptz, recorded_at timestamptz DEFAULT clock_timestamp())`);
  const metadata = { tenant_id: 'default', actor: 'key_bench', request_id: RUN };
  const rows = (start: number) =>
    Array.from({ length: BATCH }, (_, i) => {
      const event = JSON.parse(eventJson((start + i) % CUSTOMERS)) as Record<string, unknown>;
      const id = randomUuid();
      const data = { usage_id: id, ...event, payload_hash: randomBytes(32).toString('hex'), source: 'ingest' };
      const stream = `default:usage-${String(event.customer_id)}-${timestamp.slice(0, 7)}`;
      return {
        id,
        stream,
        revision: start + i,
        type: 'UsageRecorded',
        tenant_id: 'default',
        data,
        metadata,
        occurred_at: timestamp,
      };
    });
  let events = 0;
  const cpuBefore = cpuParts({ db });
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        await pool.query(
          `INSERT INTO bench_raw_usage (id, stream, revision, type, tenant_id, data, metadata, occurred_at)
           SELECT * FROM json_to_recordset($1::json) AS r(id uuid, stream text, revision bigint, type text,
             tenant_id text, data jsonb, metadata jsonb, occurred_at timestamptz)`,
          [JSON.stringify(rows(sequence))],
        );
        events += BATCH;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu_us_per_event = cpuPerUnit(cpuBefore, cpuParts({ db }), events);
  await pool.query(`DROP TABLE bench_raw_usage`);
  return {
    connections,
    events,
    seconds: Number(elapsed.toFixed(3)),
    events_per_second: Math.round(events / elapsed),
    cpu_us_per_event,
  };
}

function randomUuid(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

async function bareCeiling(seconds: number) {
  const port = await freePort();
  const bare = startChild([join(root, 'dist', 'bench', 'ingestion-bare-server.js')], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('bare fastify', async () => (await fetch(`${url}/nothing`)).status === 404, bare);
    const single = await load(url, '/v1/events', SINGLE_CONNECTIONS, seconds, singleBody, 'none', bare.process.pid);
    const batch = await load(url, '/v1/events/batch', BATCH_CONNECTIONS, seconds, batchBody, 'none');
    return { single, batch: { ...batch, events_per_second: Math.round(batch.requests_per_second * BATCH) } };
  } finally {
    await bare.stop();
  }
}

async function runPhases(
  options: Options,
  apiUrl: string,
  key: string,
  pool: Pool,
  store: PostgresEventStore,
  subjects: CpuSubjects,
) {
  const { seconds, phases } = options;
  const report: Record<string, unknown> = {};
  let batchEventsPerSecond: number | undefined;
  let singleRequestsPerSecond: number | undefined;
  if (phases.includes('batch')) {
    const since = new Date();
    // The CPU of the load and of the catch-up after it: everything the machine did for these events.
    const cpuBefore = cpuParts(subjects);
    const batch = await load(apiUrl, '/v1/events/batch', BATCH_CONNECTIONS, seconds, batchBody, key);
    report.projector_catch_up_after_batch = await catchUp(pool, store);
    const cpu = cpuPerUnit(cpuBefore, cpuParts(subjects), batch.ok_requests * BATCH);
    batchEventsPerSecond = Math.round(batch.requests_per_second * BATCH);
    const flushed = await flushes(pool, since);
    report.batch = {
      ...batch,
      connections: BATCH_CONNECTIONS,
      events_per_request: BATCH,
      events_per_second: batchEventsPerSecond,
      flushes: flushed,
      cpu_us_per_event: cpu,
    };
  }
  if (phases.includes('single')) {
    const since = new Date();
    const cpuBefore = cpuParts(subjects);
    const single = await load(apiUrl, '/v1/events', SINGLE_CONNECTIONS, seconds, singleBody, key, subjects.api);
    report.projector_catch_up_after_single = await catchUp(pool, store);
    const cpu = cpuPerUnit(cpuBefore, cpuParts(subjects), single.ok_requests);
    singleRequestsPerSecond = single.requests_per_second;
    report.single = {
      ...single,
      connections: SINGLE_CONNECTIONS,
      flushes: await flushes(pool, since),
      cpu_us_per_request: cpu,
    };
  }
  if (phases.includes('ceilings')) {
    const bare = await bareCeiling(seconds);
    const raw = [
      await rawInsert(pool, seconds / 2, 1, subjects.db),
      await rawInsert(pool, seconds / 2, 4, subjects.db),
    ];
    const rawBest = Math.max(...raw.map((r) => r.events_per_second));
    report.ceilings = { bare_fastify: bare, raw_insert: raw };
    report.ratios = {
      batch_vs_raw_insert:
        batchEventsPerSecond === undefined ? null : Number((batchEventsPerSecond / rawBest).toFixed(3)),
      single_vs_bare_fastify:
        singleRequestsPerSecond === undefined
          ? null
          : Number((singleRequestsPerSecond / bare.single.requests_per_second).toFixed(3)),
    };
  }
  return report;
}

function startProjector(url: string, options: Options, dataDir: string, port: number): Child {
  const env = { DATABASE_URL: url, ABAXUS_DATA_DIR: dataDir, LOG_LEVEL: options.logLevel };
  const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
  // ABAXUS_BENCH_PROJECTOR_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the projector.
  const nodeArgs = (process.env.ABAXUS_BENCH_PROJECTOR_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return startChild([...nodeArgs, cli, 'projector'], { ...env, PROJECTOR_METRICS_PORT: String(port) });
}

async function startEngine(url: string, options: Options, dataDir: string, withProjector = true) {
  const apiPort = await freePort();
  const env = {
    DATABASE_URL: url,
    ABAXUS_DATA_DIR: dataDir,
    ABAXUS_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: options.logLevel,
    ABAXUS_RATE_LIMIT_PER_SECOND: String(BENCH_RATE_LIMIT),
  };
  const cli = join(root, 'dist', 'apps', 'cli', 'src', 'main.js');
  // ABAXUS_BENCH_API_NODE_ARGS: e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API alone.
  const nodeArgs = (process.env.ABAXUS_BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const api = startChild([...nodeArgs, cli, 'api'], { ...env, PORT: String(apiPort), HOST: '127.0.0.1' });
  const projector = withProjector ? startProjector(url, options, dataDir, await freePort()) : undefined;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitFor('api', async () => (await fetch(`${apiUrl}/readyz`)).status === 200, api);
  return { api, projector, apiUrl };
}

/**
 * CPU seconds the embedded cluster has used so far: the postmaster, its living backends, and the
 * backends that exited (their time is in the postmaster's children counters). Null without an
 * embedded cluster or /proc. CPU time, unlike wall time, is not inflated by other load on the machine.
 */
function postgresCpuSeconds(dbDir: string | null): number | null {
  if (dbDir === null || !existsSync('/proc/self/stat')) return null;
  const postmaster = Number(readFileSync(join(dbDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuSecondsOf(postmaster, true) ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster)
        total += cpuSecondsOf(Number(entry)) ?? 0;
    } catch {
      // The process exited meanwhile: its time moved to the postmaster's children counters.
    }
  }
  return total;
}

/**
 * The projector alone over a backlog: N events seeded while no projector runs, then the time from
 * its start until each projection has applied them all (`--only`: those projections, in-process).
 */
async function catchUpOnly(
  options: Options,
  url: string,
  dirs: { data: string; db: string | null },
  pool: Pool,
  store: PostgresEventStore,
) {
  const dataDir = dirs.data;
  const events = options.catchUpEvents!;
  const engine = await startEngine(url, options, dataDir, false);
  let projector: Child | undefined;
  let runner: ProjectionRunner | undefined;
  try {
    await seed(engine.apiUrl);
    const seeded = await seedUsage(pool, events);
    const target = await lastCommitted(pool);
    const postgresBefore = postgresCpuSeconds(dirs.db);
    const benchBefore = process.cpuUsage();
    const started = performance.now();
    let selected: readonly Projection[] = registeredProjections;
    if (options.only) {
      selected = registeredProjections.filter((projection) => options.only!.includes(projection.name));
      runner = new ProjectionRunner({ pool, store, projections: selected });
      await runner.start();
    } else {
      projector = startProjector(url, options, dataDir, await freePort());
    }
    const names = selected.map((projection) => projection.name);
    const reached = await waitForAll(pool, store, target, names, started);
    const seconds = Math.max(...Object.values(reached));
    const postgresAfter = postgresCpuSeconds(dirs.db);
    const inProcess = process.cpuUsage(benchBefore);
    const cpu = {
      // In-process (--only): this process's CPU, which includes the bench's own polling.
      projector: projector ? (cpuSecondsOf(projector.process.pid!) ?? 0) : (inProcess.user + inProcess.system) / 1e6,
      postgres: postgresBefore === null || postgresAfter === null ? null : postgresAfter - postgresBefore,
    };
    return {
      cpu_seconds: {
        projector: Number(cpu.projector.toFixed(2)),
        postgres: cpu.postgres === null ? null : Number(cpu.postgres.toFixed(2)),
        per_100k_events: Number((((cpu.projector + (cpu.postgres ?? 0)) * 100_000) / events).toFixed(2)),
      },
      events,
      seed: seeded,
      projections: options.only ? `in-process: ${names.join(', ')}` : 'abaxus projector (every projection)',
      seconds_from_start: seconds,
      events_per_second: Math.round(events / seconds),
      per_projection_seconds: reached,
    };
  } finally {
    await runner?.stop();
    await projector?.stop();
    await engine.api.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const database = await benchDatabase('ingestion');
  const dataDir = benchTempDir('abaxus-bench-ingestion-');
  const pool = createPool(database.url, { max: 8, applicationName: 'abaxus-bench-ingestion' });
  const store = new PostgresEventStore(pool);
  let engine: Awaited<ReturnType<typeof startEngine>> | undefined;
  try {
    await migrate(pool);
    const report: Record<string, unknown> = {
      bench: 'ingestion',
      mode: options.smoke ? 'smoke' : 'full',
      seconds_per_phase: options.seconds,
      postgres: database.label,
      cpus: cpus().length,
      api_log_level: options.logLevel,
      customers: CUSTOMERS,
    };
    if (options.catchUpEvents !== null) {
      report.catch_up_only = await catchUpOnly(
        options,
        database.url,
        { data: dataDir.path, db: database.dir },
        pool,
        store,
      );
    } else {
      engine = await startEngine(database.url, options, dataDir.path);
      const key = await seed(engine.apiUrl);
      const subjects = { api: engine.api.process.pid, projector: engine.projector?.process.pid, db: database.dir };
      Object.assign(report, await runPhases(options, engine.apiUrl, key, pool, store, subjects));
    }
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await engine?.api.stop();
    await engine?.projector?.stop();
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
