import { startDatabaseProxy, startTestApi, type TestApi, type TestResponse } from '../../../../../test/support/api';
import { createTestDatabase } from '../../../../../test/support/database';

/** Every 4xx/5xx is application/problem+json (RFC 9457) with a stable type URI, code and request id. */
function expectProblem(response: TestResponse, status: number, code: string): Record<string, unknown> {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.body as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    code,
    type: `https://abaxus.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
  });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.request_id).toBe(response.headers['x-request-id']);
  return body;
}

describe('problem+json errors over HTTP', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ config: { bodyLimitBytes: 4096 } });
  });
  afterAll(() => api?.close());

  it('400 names an unknown field and rejects the request', async () => {
    const response = await api.request('POST', '/v1/api-keys', {
      body: { role: 'finance', kind: 'secret', colour: 'blue' },
    });
    const body = expectProblem(response, 400, 'REQUEST.VALIDATION_FAILED');
    expect(body.errors).toEqual([{ field: 'colour', message: 'unknown field' }]);
  });

  it('400 lists every invalid field', async () => {
    const response = await api.request('POST', '/v1/api-keys', { body: { role: 'owner', kind: 'shared', name: 7 } });
    const body = expectProblem(response, 400, 'REQUEST.VALIDATION_FAILED');
    expect([...new Set((body.errors as Array<{ field: string }>).map((e) => e.field))].sort()).toEqual([
      'kind',
      'name',
      'role',
    ]);
  });

  it('400 for malformed JSON, and for a body that is not an object', async () => {
    expectProblem(await api.request('POST', '/v1/api-keys', { rawBody: '{"role": ' }), 400, 'REQUEST.MALFORMED_JSON');
    expectProblem(await api.request('POST', '/v1/api-keys', { body: ['admin'] }), 400, 'REQUEST.INVALID_BODY');
    expectProblem(await api.request('POST', '/v1/api-keys', {}), 400, 'REQUEST.INVALID_BODY');
  });

  it('400 for an invalid query parameter, named', async () => {
    const body = expectProblem(await api.request('GET', '/v1/api-keys?limit=0'), 400, 'REQUEST.VALIDATION_FAILED');
    expect(body.errors).toEqual([expect.objectContaining({ field: 'limit' })]);
    const unknown = expectProblem(await api.request('GET', '/v1/api-keys?sort=asc'), 400, 'REQUEST.VALIDATION_FAILED');
    expect(unknown.errors).toEqual([{ field: 'sort', message: 'unknown field' }]);
  });

  it('401 without a key, with a malformed or unknown key, with a challenge header', async () => {
    for (const key of [null, 'not-a-key', 'sk_unknownkey000000000000000000000000']) {
      const response = await api.request('GET', '/v1/api-keys', { key });
      expectProblem(response, 401, 'AUTH.UNAUTHENTICATED');
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="abaxus"/);
    }
    const basic = await api.request('GET', '/v1/api-keys', {
      key: null,
      headers: { authorization: `Basic ${api.adminKey}` },
    });
    expectProblem(basic, 401, 'AUTH.UNAUTHENTICATED');
  });

  it('403 for a role the route does not allow', async () => {
    const finance = await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } });
    const response = await api.request('POST', '/v1/api-keys', {
      key: finance.body.key,
      body: { role: 'admin', kind: 'secret' },
    });
    expectProblem(response, 403, 'AUTH.FORBIDDEN');
  });

  it('404 for an unknown route and for an unknown resource', async () => {
    expectProblem(await api.request('GET', '/v1/no-such-thing'), 404, 'REQUEST.ROUTE_NOT_FOUND');
    expectProblem(await api.request('GET', '/v1/api-keys/key_doesnotexist0000'), 404, 'API_KEY.NOT_FOUND');
  });

  it('413 for a body over the configured limit', async () => {
    const response = await api.request('POST', '/v1/api-keys', {
      body: { role: 'finance', kind: 'secret', name: 'x'.repeat(5000) },
    });
    expectProblem(response, 413, 'REQUEST.BODY_TOO_LARGE');
  });

  it('415 for anything but JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await api.request('POST', '/v1/api-keys', {
        rawBody: 'role=admin',
        headers: { 'content-type': type },
      });
      expectProblem(response, 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('echoes a sane X-Request-Id and replaces an insane one', async () => {
    const sane = await api.request('GET', '/v1/nope', { headers: { 'x-request-id': 'req-123.abc' } });
    expect(sane.headers['x-request-id']).toBe('req-123.abc');
    expect(sane.body.request_id).toBe('req-123.abc');
    const insane = await api.request('GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(300) } });
    expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('an unreachable database', () => {
  it('is 503 SERVICE.UNAVAILABLE with Retry-After, not 500, and /readyz says why', async () => {
    const db = await createTestDatabase();
    const proxy = await startDatabaseProxy(db.url);
    const api = await startTestApi({ db, databaseUrl: proxy.url });
    try {
      expect((await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } })).status).toBe(
        201,
      );
      await proxy.cut();
      const response = await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } });
      const body = expectProblem(response, 503, 'SERVICE.UNAVAILABLE');
      expect(response.headers['retry-after']).toBe('5');
      expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
      const ready = await api.request('GET', '/readyz', { key: null });
      expectProblem(ready, 503, 'SERVICE.NOT_READY');
      expect(ready.body.checks).toEqual(
        expect.arrayContaining([
          { name: 'database', status: 'failed', detail: 'unreachable' },
          { name: 'event_store', status: 'failed', detail: 'unreachable' },
        ]),
      );
    } finally {
      await api.close();
      await db.close();
    }
  });
});
