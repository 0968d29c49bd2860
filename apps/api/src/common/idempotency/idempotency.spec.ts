import { startTestApi, type TestApi } from '../../../../../test/support/api';

describe('Idempotency-Key on POST', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  const post = (path: string, body: unknown, key: string, extra: Record<string, string> = {}) =>
    api.request('POST', path, { body, headers: { 'idempotency-key': key, ...extra } });
  const keyCount = async () =>
    (await api.store.readStream('default:apikeys')).filter((e) => e.type === 'ApiKeyIssued').length;

  it('replays the original status and body for the same key and request, without running the command again', async () => {
    const before = await keyCount();
    const first = await post('/v1/api-keys', { name: 'once', role: 'finance', kind: 'secret' }, 'create-once-1');
    expect(first.status).toBe(201);
    // Same JSON, other key order and spacing: the same request.
    const replay = await api.request('POST', '/v1/api-keys', {
      rawBody: '{ "kind": "secret",   "role": "finance", "name": "once" }',
      headers: { 'idempotency-key': 'create-once-1' },
    });
    expect(replay.status).toBe(201);
    // The secret is shown once: the replay is the same record with `key: null`.
    expect(first.body.key).toMatch(/^sk_/);
    expect(replay.body).toEqual({ ...first.body, key: null });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await keyCount()).toBe(before + 1);
  });

  it('never stores an issued secret: api key and tenant admin key are null in idempotent_requests', async () => {
    const issued = await post('/v1/api-keys', { name: 'stored', role: 'finance', kind: 'secret' }, 'secret-1');
    const tenant = await post('/v1/tenants', { name: 'Secretive' }, 'secret-2');
    expect(issued.status).toBe(201);
    expect(tenant.status).toBe(201);
    const { rows } = await api.db.pool.query<{ body: string }>(
      "SELECT response::text AS body FROM idempotent_requests WHERE key IN ('secret-1', 'secret-2')",
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.body).not.toContain(issued.body.key);
      expect(row.body).not.toContain(tenant.body.admin_key);
      expect(row.body).not.toMatch(/sk_[A-Za-z0-9_]{20,}/);
    }
    const replay = await post('/v1/tenants', { name: 'Secretive' }, 'secret-2');
    expect(replay.body).toEqual({ ...tenant.body, admin_key: null });
  });

  it('the same key with a different body is 422 IDEMPOTENCY.KEY_REUSED', async () => {
    await post('/v1/api-keys', { role: 'finance', kind: 'secret' }, 'reused-1');
    const reused = await post('/v1/api-keys', { role: 'auditor', kind: 'secret' }, 'reused-1');
    expect(reused.status).toBe(422);
    expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reused.body.code).toBe('IDEMPOTENCY.KEY_REUSED');
  });

  it('concurrent duplicates run the command once and all get the same response', async () => {
    const before = await keyCount();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        post('/v1/api-keys', { name: 'race', role: 'finance', kind: 'secret' }, 'race-1'),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await keyCount()).toBe(before + 1);
  });

  it('replays a domain rejection too (409 stays 409), but not a validation error', async () => {
    await api.request('POST', '/v1/tenants', { body: { name: 'Taken Name' } });
    const first = await post('/v1/tenants', { name: 'taken name' }, 'tenant-dup-1');
    expect(first.status).toBe(409);
    const replay = await post('/v1/tenants', { name: 'taken name' }, 'tenant-dup-1');
    expect(replay.status).toBe(409);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');

    const invalid = await post('/v1/api-keys', { role: 'nope', kind: 'secret' }, 'fix-and-retry-1');
    expect(invalid.status).toBe(400);
    const fixed = await post('/v1/api-keys', { role: 'finance', kind: 'secret' }, 'fix-and-retry-1');
    expect(fixed.status).toBe(201);
  });

  it('keys are per tenant: another tenant may use the same key for its own request', async () => {
    const other = (await api.request('POST', '/v1/tenants', { body: { name: 'Other Tenant' } })).body.admin_key;
    const mine = await post('/v1/api-keys', { role: 'finance', kind: 'secret' }, 'shared-key-1');
    const theirs = await api.request('POST', '/v1/api-keys', {
      key: other,
      body: { role: 'auditor', kind: 'secret' },
      headers: { 'idempotency-key': 'shared-key-1' },
    });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('rejects an unusable Idempotency-Key header', async () => {
    const response = await post('/v1/api-keys', { role: 'finance', kind: 'secret' }, 'x'.repeat(300));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'REQUEST.INVALID_HEADER', errors: [{ field: 'Idempotency-Key' }] });
  });

  it('stores the response in idempotent_requests, scoped by tenant', async () => {
    await post('/v1/api-keys', { role: 'finance', kind: 'secret' }, 'stored-1');
    const { rows } = await api.db.pool.query(
      "SELECT tenant_id, status, method, path, response->>'kind' AS kind FROM idempotent_requests WHERE key = 'stored-1'",
    );
    expect(rows).toEqual([{ tenant_id: 'default', status: 201, method: 'POST', path: '/v1/api-keys', kind: 'secret' }]);
  });
});
