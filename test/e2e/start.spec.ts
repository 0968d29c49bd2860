import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/process';

/**
 * `abaxus start` as a user runs it: a real process, an embedded PostgreSQL under ABAXUS_DATA_DIR,
 * real HTTP. Proves the data survives a restart and that SIGTERM shuts everything down cleanly.
 */
describe('abaxus start (embedded PostgreSQL)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'abaxus-start-'));
  });
  // A failed assertion must not leave a server running (Jest would wait for it).
  const started: Array<ReturnType<typeof runCli>> = [];
  afterAll(async () => {
    for (const proc of started)
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    ABAXUS_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: '',
    EVENT_STORE_URL: '',
    ABAXUS_ADMIN_KEY: '',
    LOG_LEVEL: 'warn',
    ...extra,
  });

  async function startOnce(extra: Record<string, string> = {}) {
    const proc = runCli(['start'], env(extra));
    started.push(proc);
    const [, url] = await proc.waitFor(/ABAXUS listening on (http:\/\/\S+)/, 90_000);
    return { proc, url };
  }

  it('starts, is ready, prints the admin key once, stops on SIGTERM, and keeps its data across restarts', async () => {
    const first = await startOnce();
    const printed = first.proc.output().match(/Admin key \(shown once\): (sk_\w+)/);
    expect(printed).not.toBeNull();
    const keyFile = join(dataDir, 'admin-key');
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(printed![1]);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    const keys = await fetch(`${first.url}/v1/api-keys`, { headers: { authorization: `Bearer ${printed![1]}` } });
    expect(keys.status).toBe(200);
    const bogus = await fetch(`${first.url}/v1/api-keys`, {
      headers: { authorization: 'Bearer sk_not_a_real_key_000000000000' },
    });
    expect(bogus.status).toBe(401);
    const created = await fetch(`${first.url}/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${printed![1]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'finance', kind: 'secret', name: 'restart-proof' }),
    });
    expect(created.status).toBe(201);
    const financeKey = ((await created.json()) as { key: string }).key;

    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);

    // Second start: the projector takes its page size from the environment (its start is logged at info).
    const second = await startOnce({ ABAXUS_PROJECTOR_BATCH_SIZE: '1234', LOG_LEVEL: 'info' });
    expect(second.proc.output()).toMatch(/"msg":"projector started"/);
    expect(second.proc.output()).toMatch(/"batch_size":1234[,}]/);
    expect(second.proc.output()).not.toMatch(/shown once/);
    expect(second.proc.output()).toContain(keyFile);
    const again = await fetch(`${second.url}/v1/api-keys`, { headers: { authorization: `Bearer ${financeKey}` } });
    // finance may read; what matters is that the key issued before the restart still authenticates
    expect(again.status).not.toBe(401);
    second.proc.child.kill('SIGINT');
    expect(await second.proc.exited).toBe(0);
  }, 180_000);
});
