import { Writable } from 'node:stream';
import pino from 'pino';
import type { EventStore } from '#ledger';
import { eventually, startTestApi, type TestApi } from '../../../../../test/support/api';
import { apiLogger } from './logging';

/** Collects JSON log lines in memory. */
function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines, text: () => JSON.stringify(lines) };
}

describe('API logs', () => {
  let api: TestApi;
  let logs: ReturnType<typeof memoryLogger>;
  let breakReads = false;
  beforeAll(async () => {
    logs = memoryLogger();
    const breakable = (store: EventStore): EventStore =>
      Object.assign(Object.create(store) as EventStore, {
        readStream: (...args: Parameters<EventStore['readStream']>) =>
          breakReads
            ? Promise.reject(new Error('secret internal detail: relation "x" at /srv/db'))
            : store.readStream(...args),
      });
    api = await startTestApi({ logger: logs.logger, config: { logLevel: 'info' }, wrapStore: breakable });
  });
  afterAll(() => api?.close());

  it('logs each request as JSON with its request id, never the bearer token or an issued key', async () => {
    const created = await api.request('POST', '/v1/api-keys', {
      body: { role: 'finance', kind: 'secret' },
      headers: { 'x-request-id': 'log-probe-1' },
    });
    expect(created.status).toBe(201);
    const line = await eventually(
      async () => logs.lines.find((l) => l.reqId === 'log-probe-1' && l.msg === 'request completed'),
      'the request log line',
    );
    expect(line).toMatchObject({ method: 'POST', url: '/v1/api-keys', route: '/v1/api-keys', statusCode: 201 });
    expect(logs.lines.filter((l) => l.reqId === 'log-probe-1' && l.msg === 'request completed')).toHaveLength(1);
    expect(logs.text()).not.toMatch(/Bearer|authorization/i);
    expect(logs.text()).not.toContain(api.adminKey);
    expect(logs.text()).not.toContain(created.body.key);
  });

  it('does not log health probes', async () => {
    await api.request('GET', '/healthz', { key: null, headers: { 'x-request-id': 'probe-1' } });
    await api.request('GET', '/v1/nope', { headers: { 'x-request-id': 'after-probe-1' } });
    await eventually(async () => logs.lines.some((l) => l.reqId === 'after-probe-1'), 'the later request');
    expect(logs.lines.some((l) => l.reqId === 'probe-1')).toBe(false);
  });

  it('answers an unexpected failure with a bare 500 and logs the cause with the request id', async () => {
    breakReads = true;
    try {
      const response = await api.request('POST', '/v1/api-keys', {
        body: { role: 'finance', kind: 'secret' },
        headers: { 'x-request-id': 'boom-1' },
      });
      expect(response.status).toBe(500);
      expect(response.body).toMatchObject({ code: 'INTERNAL.ERROR', request_id: 'boom-1' });
      expect(JSON.stringify(response.body)).not.toMatch(/secret internal detail|\/srv\/db|at .*\.js/);
      const logged = logs.lines.find((l) => l.reqId === 'boom-1' && l.msg === 'unexpected error');
      expect((logged?.err as { message?: string })?.message).toContain('secret internal detail');
    } finally {
      breakReads = false;
    }
  });

  it('redacts key fields wherever the API logger meets them', () => {
    const memory = memoryLogger();
    const logger = apiLogger({ logLevel: 'info' } as never, memory.logger);
    logger.info({ key: 'sk_abc', admin_key: 'sk_def', tenant: { admin_key: 'sk_ghi' } }, 'issued');
    expect(memory.lines[0]).toMatchObject({
      key: '[redacted]',
      admin_key: '[redacted]',
      tenant: { admin_key: '[redacted]' },
    });
    logger.warn({ headers: { authorization: 'Bearer sk_jkl' }, call: { authorization: 'Bearer sk_mno' } }, 'by hand');
    expect(memory.lines[1]).toMatchObject({
      headers: { authorization: '[redacted]' },
      call: { authorization: '[redacted]' },
    });
    expect(JSON.stringify(memory.lines)).not.toMatch(/sk_/);
  });
});
