import { startTestApi, type TestApi } from '../../../../test/support/api';

describe('tenants (operator)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  it('the operator creates a tenant; its admin key works at once and sees only its own tenant', async () => {
    const created = await api.request('POST', '/v1/tenants', { body: { name: 'Acme Inc.' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^t_[0-9a-f]{12}$/),
      name: 'Acme Inc.',
      created_at: expect.any(String),
      admin_key: expect.stringMatching(/^sk_[A-Za-z0-9]{32,}$/),
    });
    const keys = await api.request('GET', '/v1/api-keys', { key: created.body.admin_key });
    expect(keys.status).toBe(200);
    expect(keys.body.data).toEqual([
      expect.objectContaining({ role: 'admin', kind: 'secret', prefix: created.body.admin_key.slice(0, 10) }),
    ]);
    const operatorKeys = (await api.request('GET', '/v1/api-keys')).body.data.map((k: { id: string }) => k.id);
    expect(operatorKeys).not.toContain(keys.body.data[0].id);

    const registry = await api.store.readStream('$system:tenants');
    const event = registry.find((e) => (e.data as { tenant_id: string }).tenant_id === created.body.id)!;
    expect(event.type).toBe('TenantCreated');
    expect(event.metadata).toMatchObject({
      tenant_id: created.body.id,
      actor: operatorKeys[0],
      request_id: expect.any(String),
    });
    const [issued] = await api.store.readStream(`${created.body.id}:apikeys`);
    expect(issued.metadata).toMatchObject({
      tenant_id: created.body.id,
      actor: operatorKeys[0],
      request_id: event.metadata.request_id,
    });
  });

  it('tenant names are unique, ignoring case and surrounding spaces: 409 TENANT.NAME_TAKEN', async () => {
    expect((await api.request('POST', '/v1/tenants', { body: { name: 'Globex' } })).status).toBe(201);
    const duplicate = await api.request('POST', '/v1/tenants', { body: { name: '  gLoBeX ' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({
      code: 'TENANT.NAME_TAKEN',
      type: 'https://abaxus.dev/problems/tenant-name-taken',
    });
  });

  it('a blank or missing name is 400 naming the field', async () => {
    for (const body of [{ name: '   ' }, {}]) {
      const response = await api.request('POST', '/v1/tenants', { body });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' })]));
    }
  });

  it("another tenant's admin is not the operator: 403 on POST /v1/tenants", async () => {
    const tenant = await api.request('POST', '/v1/tenants', { body: { name: 'Initech' } });
    const response = await api.request('POST', '/v1/tenants', { key: tenant.body.admin_key, body: { name: 'Sneaky' } });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('AUTH.FORBIDDEN');
  });

  it('non-admin keys of the default tenant are not the operator either', async () => {
    const finance = await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } });
    const response = await api.request('POST', '/v1/tenants', { key: finance.body.key, body: { name: 'Nope' } });
    expect(response.status).toBe(403);
  });
});
