import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '#platform';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { EngineProcess } from './support/engine-process';
import { ClientStats, RetryingEventClient, usageEvent } from './support/event-client';
import {
  CHAOS_ADMIN_KEY,
  exactCount,
  expectNothingLostOrDoubled,
  periodAroundNow,
  seedCatalog,
  storedCounts,
  summaryCount,
  type ChaosCatalog,
} from './support/reconcile';
import { chaosDurationMs, chaosTimeoutMs, reportChaos } from './support/report';
import { delay, randomBetween, waitUntil } from './support/wait';

/**
 * Issue #6: "Kill -9 the API process while 32 clients stream events with retries (same idempotency
 * key): after restart, the exact count equals the number of distinct keys the clients sent, not one
 * more, not one less." The API (`abaxus api`) is SIGKILLed every 1-4 s and restarted on the same
 * port; the projector runs in its own `abaxus projector` process and is left alone.
 */
const CLIENTS = 32;
const BATCH_EVERY = 10;
const BATCH_SIZE = 10;
const catalog: ChaosCatalog = { metricKey: 'chaos_api_kill', customers: ['cus_k0', 'cus_k1', 'cus_k2', 'cus_k3'] };

// Generous: on a busy 2-core machine one API restart took up to 38 s.
jest.setTimeout(chaosTimeoutMs(300_000));

describe('chaos: kill -9 the API under 32 retrying clients', () => {
  let db: TestDatabase;
  let dataDir: string;
  let api: EngineProcess | undefined;
  let projector: EngineProcess | undefined;
  let admin: RetryingEventClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'abaxus-chaos-api-kill-'));
    const env = { DATABASE_URL: db.url, ABAXUS_DATA_DIR: dataDir, ABAXUS_ADMIN_KEY: CHAOS_ADMIN_KEY };
    projector = await EngineProcess.start({
      role: 'projector',
      env: { ...env, PROJECTOR_METRICS_PORT: String(await freePort()) },
    });
    // warn: one log line per request would be most of the machine's work.
    api = await EngineProcess.start({ role: 'api', port: await freePort(), env: { ...env, LOG_LEVEL: 'warn' } });
    admin = new RetryingEventClient({ baseUrl: api.url!, key: CHAOS_ADMIN_KEY, stats: new ClientStats() });
    await seedCatalog(admin, catalog);
  });

  afterAll(async () => {
    await admin?.close();
    await api?.stop();
    await projector?.stop();
    await db?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** One producer: single events (and some batches) with fresh keys while the kills go on. */
  async function stream(client: RetryingEventClient, index: number, killing: () => boolean): Promise<void> {
    const customer = catalog.customers[index % catalog.customers.length];
    for (let step = 0; killing(); step += 1) {
      const key = (n: number) => `kill-c${index}-s${step}-${n}`;
      // The second step is a batch (so every run has some, however few steps the kills leave), then every tenth.
      if (step % BATCH_EVERY === 1) {
        await client.sendBatch(
          Array.from({ length: BATCH_SIZE }, (_, n) => usageEvent(customer, catalog.metricKey, key(n))),
        );
      } else {
        await client.send(usageEvent(customer, catalog.metricKey, key(0)));
      }
    }
  }

  /**
   * SIGKILL, restart on the same port, repeat after 1-4 s, until `stopAt` and at least twice.
   * Returns the restarts survived and the slowest restart (kill to /readyz 200).
   */
  async function killLoop(engine: EngineProcess, stopAt: number): Promise<{ restarts: number; slowestMs: number }> {
    let restarts = 0;
    let slowestMs = 0;
    while (Date.now() < stopAt || restarts < 2) {
      await delay(randomBetween(1_000, 4_000));
      const killedAt = Date.now();
      expect(await engine.kill('SIGKILL')).toBe('SIGKILL');
      await engine.restart();
      slowestMs = Math.max(slowestMs, Date.now() - killedAt);
      restarts += 1;
    }
    return { restarts, slowestMs };
  }

  it('counts every key the clients sent exactly once, with no 500, across SIGKILLs of the API', async () => {
    const stats = new ClientStats();
    const clients = Array.from(
      { length: CLIENTS },
      () => new RetryingEventClient({ baseUrl: api!.url!, key: CHAOS_ADMIN_KEY, stats }),
    );
    const durationMs = chaosDurationMs();
    const faultsStartedAt = Date.now();
    const stopAt = faultsStartedAt + durationMs;
    let killing = true;
    let faultsEndedAt = 0;
    const kills = killLoop(api!, stopAt).finally(() => {
      killing = false;
      faultsEndedAt = Date.now();
    });
    const [{ restarts, slowestMs }] = await Promise.all([
      kills,
      ...clients.map((client, index) => stream(client, index, () => killing)),
    ]).catch(async (error: Error) => {
      await Promise.all(clients.map((client) => client.abort()));
      throw new Error(`${error.message}\napi:${api!.tail()}\nprojector:${projector!.tail()}`);
    });
    await Promise.all(clients.map((client) => client.close()));

    const sent = stats.keysSent;
    const acknowledged = stats.acknowledged();
    // Exact compute waits for the projector to pass the head it saw: the read model is complete after it.
    const period = periodAroundNow();
    const exact = await exactCount(admin, catalog, period);
    const stored = await storedCounts(db.pool, catalog.metricKey);
    let summary = { count: -1, lagSeconds: -1 };
    await waitUntil(
      'the usage summary to equal the exact count',
      async () => {
        summary = await summaryCount(admin, catalog, period);
        return summary.count === exact;
      },
      { describe: () => `summary ${JSON.stringify(summary)}, exact ${exact}\n${projector!.tail()}` },
    );

    reportChaos({
      scenario: 'api-kill',
      // Faults go on until the window ends and the minimum number of them happened.
      duration_ms: faultsEndedAt - faultsStartedAt,
      figures: {
        clients: CLIENTS,
        keys_sent: sent.size,
        keys_acknowledged: acknowledged.size,
        accepted_202: stats.accepted.size,
        duplicate_202: stats.duplicate.size,
        requests_tried_events: stats.tried['POST /v1/events'] ?? 0,
        requests_tried_batch: stats.tried['POST /v1/events/batch'] ?? 0,
        connection_errors: stats.connectionErrors,
        timeouts: stats.timeouts,
        unavailable_503: stats.unavailable,
        rate_limited_429: stats.rateLimited,
        server_errors_500: stats.serverErrors,
        api_restarts_survived: restarts,
        slowest_restart_ms: slowestMs,
        counted_exact: exact,
        counted_log_events: stored.usage_recorded_events,
        counted_read_model_rows: stored.usage_events_rows,
        counted_summary: summary.count,
      },
    });

    expect(stats.serverErrorSamples).toEqual([]);
    expect(stats.serverErrors).toBe(0);
    expect(restarts).toBeGreaterThanOrEqual(2);
    expect(stats.tried['POST /v1/events/batch']).toBeGreaterThan(0);
    // Every key the clients sent was acknowledged (they retry until it is), and nothing else was.
    await expectNothingLostOrDoubled(db.pool, catalog, stats, { exact, stored });
    expect(summary.count).toBe(sent.size);
  });
});
