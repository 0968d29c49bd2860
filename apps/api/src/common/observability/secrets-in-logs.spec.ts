import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadBuiltModules, repoRoot, sendRequest, startTestApi, type TestApi } from '../../../../../test/support/api';

/** Every line the logger writes, as raw text (what an operator's log pipeline would store). */
function capture() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * Keys are shown once, in the response that creates them, and nowhere else: not in the API's logs
 * (at the most verbose level, Fastify's and nestjs-pino's lines included), not in error bodies, not
 * in later reads. The matrix spec (auth-matrix.spec.ts) checks every 401/403 body and header.
 */
describe('secrets never logged', () => {
  let api: TestApi;
  let logs: ReturnType<typeof capture>;
  beforeAll(async () => {
    logs = capture();
    api = await startTestApi({ logger: pino({ level: 'trace' }, logs.stream), config: { logLevel: 'trace' } });
  });
  afterAll(() => api?.close());

  it('valid, malformed and revoked keys, key and tenant creation: no secret and no bearer value in the logs', async () => {
    const secrets: string[] = [api.adminKey];
    const seen = (requestId: string) => logs.text().includes(`"reqId":"${requestId}"`);

    const created = await api.request('POST', '/v1/api-keys', {
      body: { role: 'admin', kind: 'secret' },
      headers: { 'x-request-id': 'secret-create' },
    });
    expect(created.status).toBe(201);
    secrets.push(created.body.key);
    const tenant = await api.request('POST', '/v1/tenants', { body: { name: 'Log Probe Co' } });
    expect(tenant.status).toBe(201);
    secrets.push(tenant.body.admin_key);

    expect((await api.request('GET', '/v1/api-keys', { key: created.body.key })).status).toBe(200);
    const malformed = `sk_malformed$$${'x'.repeat(30)}`;
    secrets.push(malformed);
    for (const authorization of [`Bearer ${malformed}`, `Basic ${Buffer.from(`u:${malformed}`).toString('base64')}`]) {
      const response = await sendRequest(api.baseUrl, 'GET', '/v1/api-keys', {
        headers: { authorization, 'x-request-id': 'secret-malformed' },
      });
      expect(response.status).toBe(401);
    }
    expect((await api.request('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    const revoked = await api.request('GET', '/v1/api-keys', {
      key: created.body.key,
      headers: { 'x-request-id': 'secret-revoked' },
    });
    expect(revoked.status).toBe(401);

    // The logs did record these requests (so a leak would have been seen), and nothing secret.
    for (const id of ['secret-create', 'secret-malformed', 'secret-revoked']) expect(seen(id)).toBe(true);
    for (const secret of secrets) expect(logs.text().includes(secret)).toBe(false);
    expect(logs.text()).not.toMatch(/bearer|basic [a-z0-9+/=]{8}/i);
  });

  it('shows a key once: in its creation response, never in reads or error bodies', async () => {
    const created = await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } });
    const key: string = created.body.key;
    expect(key).toMatch(/^sk_/);
    const reads = [
      await api.request('GET', `/v1/api-keys/${created.body.id}`),
      await api.request('GET', '/v1/api-keys?limit=100'),
      await api.request('DELETE', `/v1/api-keys/${created.body.id}`),
      await api.request('GET', `/v1/api-keys/${created.body.id}`, { key }),
      // A key smuggled into a request body is refused without being echoed.
      await api.request('POST', '/v1/api-keys', { body: { role: 'admin', kind: 'secret', key } }),
    ];
    expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 401, 400]);
    for (const read of reads) expect(JSON.stringify(read.body) + JSON.stringify(read.headers)).not.toContain(key);
    expect(reads[0]!.body).toMatchObject({ id: created.body.id, prefix: key.slice(0, 10) });
  });

  it('the CLI logger redacts key fields too (its real output, from a child process)', () => {
    loadBuiltModules();
    const secret = 'sk_cli0secret0000000000000000000000';
    const script = `
      const { createLogger } = require('./dist/apps/cli/src/runtime.js');
      const logger = createLogger({ logLevel: 'info' }, 'cli-probe');
      logger.info({ key: '${secret}', adminKey: '${secret}', tenant: { admin_key: '${secret}', key: '${secret}' },
        req: { headers: { authorization: 'Bearer ${secret}' } } }, 'issued');`;
    const child = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const line = JSON.parse(child.stdout);
    expect(line).toMatchObject({ msg: 'issued', key: '[redacted]', adminKey: '[redacted]' });
    expect(child.stdout).not.toContain(secret);
  });
});
