import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, freePort, waitForDatabase } from '#platform';
import { EngineProcess } from '../chaos/support/engine-process';
import { waitUntil } from '../chaos/support/wait';
import { CHAOS_ADMIN_KEY } from '../chaos/support/reconcile';
import { RestartablePostgres } from '../chaos/support/restartable-postgres';
import { serverUrl } from '../support/database';
import { runCli } from '../support/process';

/*
 * Processes started before their database (both restarted at once, containers started together):
 * `abaxus api` waits for it, up to ABAXUS_DATABASE_WAIT_SECONDS, and is ready once it is up; a
 * one-shot command fails at once; a database that answers but refuses us is never waited for.
 */
describe('starting before the database', () => {
  let cluster: RestartablePostgres;
  let dataDir: string;

  beforeAll(async () => {
    cluster = await RestartablePostgres.start('abaxus_wait');
    await cluster.stop();
    dataDir = mkdtempSync(join(tmpdir(), 'abaxus-wait-'));
  });
  afterAll(async () => {
    await cluster?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('abaxus api waits for an unreachable database, saying so, and is ready once it is up', async () => {
    const env = { DATABASE_URL: cluster.url, ABAXUS_DATA_DIR: dataDir, ABAXUS_ADMIN_KEY: CHAOS_ADMIN_KEY };
    const api = EngineProcess.spawn({ role: 'api', port: await freePort(), env: { ...env, LOG_LEVEL: 'warn' } });
    try {
      // It is waiting (it would have exited on the first refused connection before).
      await waitUntil('the API says it waits', async () => api.tail().includes('database not reachable yet'), {
        timeoutMs: 60_000,
        intervalMs: 100,
        describe: () => api.tail(),
      });
      expect(api.running).toBe(true);
      await cluster.startAgain();
      await api.waitReady();
      expect(api.starts).toBe(1);
    } finally {
      await api.stop();
    }
  }, 120_000);

  it('a one-shot command does not wait', async () => {
    await cluster.stop();
    const migrate = runCli(['migrate'], { DATABASE_URL: cluster.url, LOG_LEVEL: 'warn' });
    expect(await migrate.exited).toBe(1);
    expect(migrate.output()).toMatch(/ECONNREFUSED/);
    expect(migrate.output()).not.toContain('database not reachable yet');
  }, 60_000);

  it('waitForDatabase gives up after its timeout, and fails at once when the server refuses the login', async () => {
    const down = createPool(cluster.url, { max: 1 });
    const retries: number[] = [];
    await expect(
      waitForDatabase(down, { timeoutMs: 1_500, onRetry: (_, attempt) => retries.push(attempt) }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(retries.length).toBeGreaterThanOrEqual(2);
    await down.end();

    const url = new URL(serverUrl());
    url.password = 'not-the-password';
    const refused = createPool(url.toString(), { max: 1 });
    const attempts: number[] = [];
    await expect(waitForDatabase(refused, { timeoutMs: 30_000, onRetry: (_, a) => attempts.push(a) })).rejects.toThrow(
      /password authentication failed/,
    );
    expect(attempts).toEqual([]);
    await refused.end();
  }, 60_000);
});
