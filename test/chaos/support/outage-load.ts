import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, freePort } from '#platform';
import type { Pool } from 'pg';
import { EngineProcess } from './engine-process';
import { ClientStats, probe, RetryingEventClient, usageEvent, type ClientAnswer } from './event-client';
import {
  CHAOS_ADMIN_KEY,
  exactCount,
  periodAroundNow,
  seedCatalog,
  storedCounts,
  summaryCount,
  type ChaosCatalog,
  type StoredCounts,
} from './reconcile';
import { RestartablePostgres } from './restartable-postgres';
import { chaosDurationMs } from './report';
import { delay, waitUntil } from './wait';

/** Every BATCH_EVERY-th step of a client is a batch of BATCH_SIZE events, the others single events. */
export const BATCH_EVERY = 10;
export const BATCH_SIZE = 10;

/**
 * One client's load while `faulting()`: fresh keys (`<prefix>-c<index>-s<step>-<n>`) for one customer
 * of the catalog, single events and every tenth step a batch, each retried by the client until 202.
 */
export async function streamEvents(
  client: RetryingEventClient,
  catalog: ChaosCatalog,
  options: { index: number; prefix: string; faulting: () => boolean },
): Promise<void> {
  const customer = catalog.customers[options.index % catalog.customers.length];
  for (let step = 0; options.faulting(); step += 1) {
    const key = (n: number) => `${options.prefix}-c${options.index}-s${step}-${n}`;
    if (step % BATCH_EVERY === BATCH_EVERY - 1) {
      await client.sendBatch(
        Array.from({ length: BATCH_SIZE }, (_, n) => usageEvent(customer, catalog.metricKey, key(n))),
      );
    } else {
      await client.send(usageEvent(customer, catalog.metricKey, key(0)));
    }
  }
}

/**
 * /readyz and reads (summary, a customer, an exact compute) one after another while `faulting()`;
 * each answer goes to `onAnswer` and is counted by `endpoint status` in the returned record.
 */
export async function probeReads(
  apiUrl: string,
  catalog: ChaosCatalog,
  faulting: () => boolean,
  onAnswer: (answer: ClientAnswer) => void,
): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  const [first, second, third] = catalog.customers;
  const period = periodAroundNow();
  const query = new URLSearchParams({ customer_id: first, metric_key: catalog.metricKey, ...period }).toString();
  const probes: Array<() => Promise<ClientAnswer>> = [
    () => probe(apiUrl, 'GET', '/readyz'),
    () => probe(apiUrl, 'GET', `/v1/usage/summary?${query}`, { key: CHAOS_ADMIN_KEY }),
    () => probe(apiUrl, 'GET', `/v1/customers/${second}`, { key: CHAOS_ADMIN_KEY }),
    () =>
      probe(apiUrl, 'POST', '/v1/usage/compute', {
        key: CHAOS_ADMIN_KEY,
        body: { customer_id: third, metric_key: catalog.metricKey, ...period },
      }),
  ];
  for (let i = 0; faulting(); i += 1) {
    const answer = await probes[i % probes.length]();
    const name = `${answer.endpoint} ${answer.status}`;
    seen[name] = (seen[name] ?? 0) + 1;
    onAnswer(answer);
    await delay(100);
  }
  return seen;
}

/** 500s and transport errors among probe answers (`endpoint status` -> count). */
export function failedProbes(seen: Record<string, number>): string[] {
  return Object.keys(seen).filter((name) => / (500|error)$/.test(name));
}

export interface Settled {
  exact: number;
  summary: { count: number; lagSeconds: number };
  stored: StoredCounts;
}

/**
 * After the faults, with no intervention: waits for /readyz 200 and for the summary to equal the
 * exact count (the projector resumed and caught up), then reads what the log and read model hold.
 */
export async function settle(rig: OutageRig, catalog: ChaosCatalog): Promise<Settled> {
  const { api, projector, admin, pool } = rig;
  await waitUntil(
    'GET /readyz 200 after the faults',
    async () => (await probe(api.url!, 'GET', '/readyz')).status === 200,
    {
      describe: () => api.tail(),
    },
  );
  const period = periodAroundNow();
  let exact = -1;
  let summary = { count: -1, lagSeconds: -1 };
  let lastError = '';
  await waitUntil(
    'the usage summary to equal the exact count',
    async () => {
      try {
        exact = await exactCount(admin, catalog, period);
        summary = await summaryCount(admin, catalog, period);
      } catch (error) {
        // The projector may still be in its retry backoff: compute's bounded wait can run out.
        lastError = (error as Error).message;
        return false;
      }
      return summary.count === exact;
    },
    { describe: () => `summary ${JSON.stringify(summary)}, exact ${exact}, ${lastError}\n${projector.tail()}` },
  );
  return { exact, summary, stored: await storedCounts(pool, catalog.metricKey) };
}

/** What a database-outage scenario runs: a cluster of its own, `abaxus api` and `abaxus projector` on it. */
export interface OutageRig {
  cluster: RestartablePostgres;
  /** A small pool of the test's own, for reading what the log and read model hold. */
  pool: Pool;
  api: EngineProcess;
  projector: EngineProcess;
  /** The admin key's client, after the catalog is seeded. */
  admin: RetryingEventClient;
  close(): Promise<void>;
}

/**
 * Starts a durable cluster of its own, the API (which migrates) then the projector on it, and seeds
 * the catalog; `apiEnv` is added to the API's environment. close() thaws, stops and deletes it all.
 */
export async function startOutageRig(
  name: string,
  catalog: ChaosCatalog,
  apiEnv: Record<string, string> = {},
): Promise<OutageRig> {
  const cluster = await RestartablePostgres.start();
  const dataDir = mkdtempSync(join(tmpdir(), `abaxus-chaos-${name}-`));
  const started: Partial<OutageRig> = { cluster };
  const close = async () => {
    cluster.thaw();
    await started.admin?.close();
    await started.api?.stop();
    await started.projector?.stop();
    await started.pool?.end();
    await cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const env = { DATABASE_URL: cluster.url, ABAXUS_DATA_DIR: dataDir, ABAXUS_ADMIN_KEY: CHAOS_ADMIN_KEY };
    // The API migrates on start; the projector starts after it so it finds the schema.
    started.api = await EngineProcess.start({
      role: 'api',
      port: await freePort(),
      env: { ...env, LOG_LEVEL: 'warn', ...apiEnv },
    });
    started.projector = await EngineProcess.start({
      role: 'projector',
      env: { ...env, PROJECTOR_METRICS_PORT: String(await freePort()) },
    });
    started.pool = createPool(cluster.url, { max: 2, applicationName: 'abaxus-chaos-test' });
    started.admin = new RetryingEventClient({
      baseUrl: started.api.url!,
      key: CHAOS_ADMIN_KEY,
      stats: new ClientStats(),
    });
    await seedCatalog(started.admin, catalog);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { ...(started as Omit<OutageRig, 'close'>), close };
}

export interface FaultedLoad<T> {
  /** What the fault loop returned. */
  faults: T;
  stats: ClientStats;
  /** Probe answers by `endpoint status`. */
  probeStatuses: Record<string, number>;
  /** The fault window: from the start of the load to the end of the fault loop. */
  startedAt: number;
  endedAt: number;
}

/**
 * `clients` retrying clients stream events (streamEvents) and the reads are probed (probeReads)
 * while `faultLoop(stopAt)` runs (stopAt: now + the scenario's duration); load and probes stop when
 * it returns. Every client answer goes to `onAnswer`, every probe answer to `onProbe`. On a failure
 * `onFailure` runs first (e.g. to thaw), the clients are aborted and the engines' logs are appended.
 * Then waits for the clients' last retries and returns.
 */
export async function loadThroughFaults<T>(
  rig: OutageRig,
  catalog: ChaosCatalog,
  options: {
    clients: number;
    prefix: string;
    /** Per attempt; longer than the scenario's bound, so a hang shows as a slow answer, not a retry. */
    attemptTimeoutMs: number;
    faultLoop: (stopAt: number) => Promise<T>;
    onAnswer: (answer: ClientAnswer) => void;
    onProbe: (answer: ClientAnswer) => void;
    onFailure?: () => void;
  },
): Promise<FaultedLoad<T>> {
  const stats = new ClientStats();
  const clients = Array.from(
    { length: options.clients },
    () =>
      new RetryingEventClient({
        baseUrl: rig.api.url!,
        key: CHAOS_ADMIN_KEY,
        stats,
        attemptTimeoutMs: options.attemptTimeoutMs,
        onAnswer: options.onAnswer,
      }),
  );
  const startedAt = Date.now();
  let endedAt = 0;
  let done = false;
  const faulting = () => !done;
  const faults = options.faultLoop(startedAt + chaosDurationMs()).finally(() => {
    done = true;
    endedAt = Date.now();
  });
  const [faultResult, probeStatuses] = await Promise.all([
    faults,
    probeReads(rig.api.url!, catalog, faulting, options.onProbe),
    ...clients.map((client, index) => streamEvents(client, catalog, { index, prefix: options.prefix, faulting })),
  ]).catch(async (error: Error) => {
    options.onFailure?.();
    await Promise.all(clients.map((client) => client.abort()));
    throw new Error(`${error.message}\napi:${rig.api.tail()}\nprojector:${rig.projector.tail()}`);
  });
  await Promise.all(clients.map((client) => client.close()));
  return {
    faults: faultResult as T,
    stats,
    probeStatuses: probeStatuses as Record<string, number>,
    startedAt,
    endedAt,
  };
}

/** The figures every outage scenario reports: what the clients tried and got, and what was counted. */
export function loadFigures(stats: ClientStats, settled: Settled): Record<string, number> {
  return {
    requests_tried_events: stats.tried['POST /v1/events'] ?? 0,
    requests_tried_batch: stats.tried['POST /v1/events/batch'] ?? 0,
    unavailable_503: stats.unavailable,
    connection_errors: stats.connectionErrors,
    timeouts: stats.timeouts,
    keys_sent: stats.keysSent.size,
    keys_acknowledged: stats.acknowledged().size,
    accepted_202: stats.accepted.size,
    duplicate_202: stats.duplicate.size,
    counted_exact: settled.exact,
    counted_log_events: settled.stored.usage_recorded_events,
    counted_read_model_rows: settled.stored.usage_events_rows,
    counted_summary: settled.summary.count,
  };
}
