import type { FastifyRequest } from 'fastify';
import {
  eventually,
  loadBuiltFile,
  startTestApi,
  type TestApi,
  type TestResponse,
} from '../../../../../test/support/api';
import { openRawClient, type RawClient } from '../../../../../test/support/raw-http';
import type * as RateLimit from './rate-limit';

/** Small, so a burst of concurrent requests exceeds it even if it straddles two one-second windows. */
const PER_SECOND = 3;
const BURST = 20;

const burst = (send: () => Promise<TestResponse>, count = BURST) => Promise.all(Array.from({ length: count }, send));
const statuses = (responses: TestResponse[]) => responses.map((r) => r.status);

describe('rate limiting per API key', () => {
  let api: TestApi;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    api = await startTestApi({ config: { rateLimitPerSecond: PER_SECOND } });
    // The admin key creates the others (the limit is per key: it is not spent by the tests' own keys).
    const created = await Promise.all(
      ['a', 'b'].map(() => api.request('POST', '/v1/api-keys', { body: { role: 'admin', kind: 'secret' } })),
    );
    [keyA, keyB] = created.map((c) => c.body.key as string);
  });
  afterAll(() => api?.close());

  it('answers 429 problem+json with Retry-After past the limit, and serves the key again after it', async () => {
    const responses = await burst(() => api.request('GET', '/v1/api-keys', { key: keyA }));
    const limited = responses.filter((r) => r.status === 429);
    // At most 2 windows x 3 can pass; every other answer is a 429, never an error.
    expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(2 * PER_SECOND);
    expect(limited.length).toBeGreaterThanOrEqual(BURST - 2 * PER_SECOND);
    expect(new Set(statuses(responses))).toEqual(new Set([200, 429]));
    const [first] = limited;
    expect(first!.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(first!.body).toMatchObject({ status: 429, code: 'REQUEST.RATE_LIMITED', type: expect.any(String) });
    expect(Number(first!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(first)).not.toContain(keyA);
    await eventually(
      async () => (await api.request('GET', '/v1/api-keys', { key: keyA })).status === 200,
      'key A to be served again after Retry-After',
      5_000,
    );
  });

  it('a throttled request with a body closes its connection instead of reading the body', async () => {
    const TEN_MB = 10 * 1024 * 1024;
    let client: RawClient | undefined;
    // The burst and the raw request must share a one-second window: retry until they do.
    for (let attempt = 0; attempt < 10 && client?.answer()?.status !== 429; attempt++) {
      client?.socket.destroy();
      await burst(() => api.request('GET', '/v1/api-keys', { key: keyA }));
      client = await openRawClient(api.baseUrl);
      await client.write(
        `POST /v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${keyA}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`,
      );
      await eventually(async () => client!.answer() !== undefined, 'an answer before the body');
    }
    expect(client!.answer()).toMatchObject({ status: 429, headers: { connection: 'close' } });
    // Now the client sends its body anyway: the server has hung up and reads none of it (on a
    // kept-alive connection Node would read and discard all 10 MB).
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    while (sent < TEN_MB && (await client!.write(piece))) sent += piece.length;
    await client!.closed;
    expect(sent).toBeLessThan(TEN_MB);
  });

  it('counts each key on its own: another key is served while one is throttled', async () => {
    const [a, b] = await Promise.all([
      burst(() => api.request('GET', '/v1/api-keys', { key: keyA })),
      api.request('GET', '/v1/api-keys', { key: keyB }),
    ]);
    expect(statuses(a)).toContain(429);
    expect(b.status).toBe(200);
  });

  it('without a valid key, counts per client IP (random tokens do not escape it) and still answers 429 first', async () => {
    const anonymous = await burst(() => api.request('GET', '/v1/api-keys', { key: null }));
    expect(new Set(statuses(anonymous))).toEqual(new Set([401, 429]));
    await eventually(
      async () => (await api.request('GET', '/v1/api-keys', { key: null })).status === 401,
      'the IP window to pass',
    );
    let n = 0;
    const random = await burst(() =>
      api.request('GET', '/v1/api-keys', { key: `sk_random${String(++n).padStart(30, '0')}` }),
    );
    expect(statuses(random)).toContain(429);
  });

  it('never limits /healthz, /readyz and /metrics', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const responses = await burst(() => api.request('GET', path, { key: null }));
      expect({ path, statuses: [...new Set(statuses(responses))] }).toEqual({ path, statuses: [200] });
      expect(responses[0]!.headers).not.toHaveProperty('x-ratelimit-limit');
    }
  });

  it('keys the counter by the key id (or the IP), never by the raw key', () => {
    const { rateLimitKey } = loadBuiltFile<typeof RateLimit>('apps/api/src/common/protection/rate-limit');
    const request = (authorization?: string) =>
      ({ headers: authorization ? { authorization } : {}, ip: '10.0.0.7' }) as unknown as FastifyRequest;
    const authenticate = (token: string) =>
      token === 'sk_valid' ? { keyId: 'key_1', tenantId: 't', role: 'admin' as const, kind: 'secret' as const } : null;
    expect(rateLimitKey(request('Bearer sk_valid'), authenticate)).toBe('key:key_1');
    expect(rateLimitKey(request('Bearer sk_revoked'), authenticate)).toBe('ip:10.0.0.7');
    expect(rateLimitKey(request('Basic c2tfdmFsaWQ='), authenticate)).toBe('ip:10.0.0.7');
    expect(rateLimitKey(request(), authenticate)).toBe('ip:10.0.0.7');
  });

  it('ABAXUS_RATE_LIMIT_PER_SECOND=0 turns it off', async () => {
    const unlimited = await startTestApi({ db: api.db, config: { rateLimitPerSecond: 0 } });
    try {
      const responses = await burst(() => unlimited.request('GET', '/v1/api-keys', { key: keyA }), 40);
      expect([...new Set(statuses(responses))]).toEqual([200]);
      expect(responses[0]!.headers).not.toHaveProperty('x-ratelimit-limit');
    } finally {
      await unlimited.close();
    }
  });
});
