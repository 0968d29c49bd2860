import { startTestApi, type TestApi } from '../../../../test/support/api';

describe('tenant settings (GET and PUT /v1/settings)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  const events = async (tenant = 'default') =>
    api.store.readStream(`${tenant}:settings`).catch(() => [] as Awaited<ReturnType<TestApi['store']['readStream']>>);

  it('answers the defaults until changed: one hour of billing grace', async () => {
    const response = await api.request('GET', '/v1/settings');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ billing_grace_seconds: 3600, updated_at: null });
  });

  it('PUT records the settings with the caller as actor; the same PUT again records nothing', async () => {
    const put = await api.request('PUT', '/v1/settings', { body: { billing_grace_seconds: 600 } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ billing_grace_seconds: 600, updated_at: expect.any(String) });
    expect((await api.request('GET', '/v1/settings')).body).toEqual(put.body);
    const again = await api.request('PUT', '/v1/settings', { body: { billing_grace_seconds: 600 } });
    expect(again.body).toEqual(put.body);
    const recorded = await events();
    expect(recorded.map((e) => [e.type, (e.data as { billing_grace_seconds: number }).billing_grace_seconds])).toEqual([
      ['TenantSettingsUpdated', 600],
    ]);
    const [adminKey] = (await api.request('GET', '/v1/api-keys')).body.data as Array<{ id: string }>;
    expect(recorded[0].metadata).toMatchObject({
      tenant_id: 'default',
      actor: adminKey.id,
      request_id: expect.any(String),
    });
  });

  it.each([
    [{ billing_grace_seconds: -1 }],
    [{ billing_grace_seconds: 1.5 }],
    [{ billing_grace_seconds: '60' }],
    [{ billing_grace_seconds: 7_776_001 }],
    [{}],
  ])('refuses %j: 400 naming billing_grace_seconds, nothing recorded', async (body) => {
    const response = await api.request('PUT', '/v1/settings', { body });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain('billing_grace_seconds');
    expect(await events()).toHaveLength(1);
  });

  it('refuses unknown fields', async () => {
    const response = await api.request('PUT', '/v1/settings', { body: { billing_grace_seconds: 60, grace: 1 } });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('REQUEST.VALIDATION_FAILED');
  });

  it('is admin only, reads included; another tenant has its own settings', async () => {
    for (const role of ['finance', 'auditor', 'ingest']) {
      const key = (await api.request('POST', '/v1/api-keys', { body: { role, kind: 'secret' } })).body.key as string;
      expect((await api.request('GET', '/v1/settings', { key })).status).toBe(403);
      expect((await api.request('PUT', '/v1/settings', { key, body: { billing_grace_seconds: 1 } })).status).toBe(403);
    }
    expect((await api.request('GET', '/v1/settings', { key: null })).status).toBe(401);
    const other = await api.request('POST', '/v1/tenants', { body: { name: 'Other' } });
    const key = other.body.admin_key as string;
    expect((await api.request('GET', '/v1/settings', { key })).body).toEqual({
      billing_grace_seconds: 3600,
      updated_at: null,
    });
    expect((await api.request('PUT', '/v1/settings', { key, body: { billing_grace_seconds: 0 } })).status).toBe(200);
    expect((await api.request('GET', '/v1/settings')).body.billing_grace_seconds).toBe(600);
    expect(await events(other.body.id)).toHaveLength(1);
  });
});
