import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

/** `npm run demo` as a newcomer runs it: a child process against a running engine (the test API + projector). */
describe('npm run demo', () => {
  let api: TestApi;
  let projector: TestProjector;
  let dataDir: string;

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    dataDir = mkdtempSync(join(tmpdir(), 'abaxus-demo-'));
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await projector?.stop();
    await api?.close();
  });

  function demo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('npm', ['run', '--silent', 'demo'], {
        cwd: repoRoot,
        env: { ...process.env, ABAXUS_URL: '', ABAXUS_KEY: '', ABAXUS_DATA_DIR: '', ...env },
        stdio: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('walks the eight steps, printing each request, and ends with a closed, readable invoice', async () => {
    const run = await demo({ ABAXUS_URL: api.baseUrl, ABAXUS_KEY: api.adminKey });
    expect(run.stderr.replace(/^npm warn.*\n/gm, '')).toBe('');
    expect(run.code).toBe(0);
    for (let n = 1; n <= 8; n++) expect(run.stdout).toContain(`Step ${n}/8`);
    for (const request of [
      'POST /v1/metrics',
      'POST /v1/price-plans',
      'POST /v1/customers',
      'POST /v1/subscriptions',
      'POST /v1/events/batch',
      'GET /v1/usage/summary',
      'POST /v1/usage/compute',
      'POST /v1/pricing/calculate',
      'POST /v1/invoices',
    ]) {
      expect(run.stdout).toContain(`→ ${request}`);
    }
    expect(run.stdout).toMatch(/"duplicate": the same event/);
    expect(run.stdout).toMatch(/Summary 2250 \(eventual\), compute 2250 over 21 events/);
    // 29.00 + (2250 - 1000 free) x 0.002 = 31.50
    expect(run.stdout).toMatch(/Total due \(USD\) +31\.50/);
    const number = /INVOICE (INV-\d{6})/.exec(run.stdout)![1];
    await projector.caughtUp();
    const listed = await api.request('GET', '/v1/invoices?status=closed');
    expect(listed.body.data).toEqual([expect.objectContaining({ number, total: '31.50' })]);
  }, 120_000);

  it('reads the admin key npm start saved when ABAXUS_KEY is unset, and runs again with fresh ids', async () => {
    writeFileSync(join(dataDir, 'admin-key'), `${api.adminKey}\n`);
    const run = await demo({ ABAXUS_URL: api.baseUrl, ABAXUS_DATA_DIR: dataDir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/INVOICE INV-000002/);
  }, 120_000);

  it('says what to do when it has no key or no engine to talk to', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'abaxus-demo-empty-'));
    try {
      const noKey = await demo({ ABAXUS_URL: api.baseUrl, ABAXUS_DATA_DIR: empty });
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toMatch(/no API key: set ABAXUS_KEY, or start the engine once with `npm start`/);
      const noEngine = await demo({ ABAXUS_URL: 'http://127.0.0.1:9', ABAXUS_KEY: api.adminKey });
      expect(noEngine.code).toBe(1);
      expect(noEngine.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9 .*is the engine running/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 120_000);
});
