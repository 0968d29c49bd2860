import { createHash } from 'node:crypto';
import { startTestApi, type TestApi } from '../../../../test/support/api';

describe('API keys over HTTP', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  const issue = (body: Record<string, unknown>, key?: string) => api.request('POST', '/v1/api-keys', { body, key });

  it('issues a key shown once: the response has it, the record and the list only show a prefix', async () => {
    const created = await issue({ name: 'backend', role: 'finance', kind: 'secret' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'backend',
      role: 'finance',
      kind: 'secret',
      status: 'active',
      revoked_at: null,
    });
    expect(created.body.id).toMatch(/^key_[A-Za-z0-9]+$/);
    expect(created.body.key).toMatch(/^sk_[A-Za-z0-9]{32,}$/);
    expect(created.body.prefix).toBe(created.body.key.slice(0, 10));

    const one = await api.request('GET', `/v1/api-keys/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ ...created.body, key: undefined });
    expect(JSON.stringify(one.body)).not.toContain(created.body.key);
    const list = await api.request('GET', '/v1/api-keys');
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
  });

  it('stores only the SHA-256 of the key and its prefix in the event', async () => {
    const created = await issue({ role: 'auditor', kind: 'secret' });
    const events = await api.store.readStream('default:apikeys');
    const issued = events.find((e) => (e.data as { key_id: string }).key_id === created.body.id)!;
    expect(issued.type).toBe('ApiKeyIssued');
    expect(issued.data).toMatchObject({
      key_sha256: createHash('sha256').update(created.body.key).digest('hex'),
      prefix: created.body.prefix,
    });
    expect(JSON.stringify(issued)).not.toContain(created.body.key);
  });

  it('a created key works on the very next request (read-your-writes)', async () => {
    for (let i = 0; i < 5; i++) {
      const created = await issue({ role: 'admin', kind: 'secret' });
      expect((await api.request('GET', '/v1/api-keys', { key: created.body.key })).status).toBe(200);
    }
  });

  it('revokes a key: 200 with the revoked record, then the key gets 401; revoking again is idempotent', async () => {
    const created = await issue({ role: 'admin', kind: 'secret' });
    const revoked = await api.request('DELETE', `/v1/api-keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: created.body.id, status: 'revoked', revoked_at: expect.any(String) });
    expect((await api.request('GET', '/v1/api-keys', { key: created.body.key })).status).toBe(401);
    const again = await api.request('DELETE', `/v1/api-keys/${created.body.id}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(revoked.body);
    const events = await api.store.readStream('default:apikeys');
    expect(
      events.filter((e) => e.type === 'ApiKeyRevoked' && (e.data as { key_id: string }).key_id === created.body.id),
    ).toHaveLength(1);
  });

  it('revoking an unknown key is 404 API_KEY.NOT_FOUND', async () => {
    const response = await api.request('DELETE', '/v1/api-keys/key_unknown000000000000');
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('API_KEY.NOT_FOUND');
  });

  it('a publishable key cannot POST (or read keys)', async () => {
    const publishable = await issue({ role: 'admin', kind: 'publishable' });
    expect(publishable.body.key).toMatch(/^pk_/);
    const post = await issue({ role: 'finance', kind: 'secret' }, publishable.body.key);
    expect(post.status).toBe(403);
    expect(post.body.code).toBe('AUTH.FORBIDDEN');
    expect((await api.request('GET', '/v1/api-keys', { key: publishable.body.key })).status).toBe(403);
  });

  it('an ingest key cannot manage keys; an auditor may read them but not change them', async () => {
    const ingest = (await issue({ role: 'ingest', kind: 'secret' })).body.key;
    const auditor = (await issue({ role: 'auditor', kind: 'secret' })).body.key;
    const target = (await issue({ role: 'finance', kind: 'secret' })).body.id;
    expect((await issue({ role: 'ingest', kind: 'secret' }, ingest)).status).toBe(403);
    expect((await api.request('GET', '/v1/api-keys', { key: ingest })).status).toBe(403);
    expect((await api.request('DELETE', `/v1/api-keys/${target}`, { key: ingest })).status).toBe(403);
    expect((await api.request('GET', '/v1/api-keys', { key: auditor })).status).toBe(200);
    expect((await api.request('GET', `/v1/api-keys/${target}`, { key: auditor })).status).toBe(200);
    expect((await api.request('DELETE', `/v1/api-keys/${target}`, { key: auditor })).status).toBe(403);
    expect((await api.request('GET', `/v1/api-keys/${target}`)).body.status).toBe('active');
  });

  it('paginates with limit and an opaque cursor, oldest first, without repeats or gaps', async () => {
    for (let i = 0; i < 4; i++) await issue({ name: `page-${i}`, role: 'auditor', kind: 'secret' });
    const all = (await api.request('GET', '/v1/api-keys?limit=100')).body.data.map((k: { id: string }) => k.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : '?limit=3';
      const page = await api.request('GET', `/v1/api-keys${query}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((k: { id: string }) => k.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(all.length).toBeGreaterThan(6);
    const bad = await api.request('GET', '/v1/api-keys?cursor=garbage');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'cursor' })]);
  });

  it('every issued event carries the tenant, the actor (key id) and the request id', async () => {
    const me = (await api.request('GET', '/v1/api-keys?limit=1')).body.data[0].id;
    const created = await api.request('POST', '/v1/api-keys', {
      body: { role: 'finance', kind: 'secret' },
      headers: { 'x-request-id': 'req-issue-1' },
    });
    await api.request('DELETE', `/v1/api-keys/${created.body.id}`, { headers: { 'x-request-id': 'req-revoke-1' } });
    const events = (await api.store.readStream('default:apikeys')).filter(
      (e) => (e.data as { key_id: string }).key_id === created.body.id,
    );
    expect(events.map((e) => [e.type, e.metadata])).toEqual([
      ['ApiKeyIssued', expect.objectContaining({ tenant_id: 'default', actor: me, request_id: 'req-issue-1' })],
      ['ApiKeyRevoked', expect.objectContaining({ tenant_id: 'default', actor: me, request_id: 'req-revoke-1' })],
    ]);
  });
});
