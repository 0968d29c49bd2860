import type { EventStore } from '#ledger';
import { loadBuiltModules, openBuiltStore } from '../../../../test/support/api';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';

/** The commands as the CLI calls them: no HTTP, no Nest, the same events. */
describe('tenancy operations (CLI path)', () => {
  const { api } = loadBuiltModules();
  let db: TestDatabase;
  let store: EventStore;
  let closeStore: () => Promise<void>;
  beforeAll(async () => {
    db = await createTestDatabase();
    ({ store, close: closeStore } = openBuiltStore(db.url));
  });
  afterAll(async () => {
    await closeStore?.();
    await db?.close();
  });

  it('creates a tenant with an admin key; every event records the CLI actor and one request id', async () => {
    const tenant = await api.createTenant({ store, name: 'From The CLI', actor: 'cli:alice' });
    expect(tenant).toMatchObject({
      id: expect.stringMatching(/^t_[0-9a-f]{12}$/),
      name: 'From The CLI',
      admin_key: expect.stringMatching(/^sk_/),
    });
    const [created] = (await store.readStream('$system:tenants')).filter(
      (e) => (e.data as { tenant_id: string }).tenant_id === tenant.id,
    );
    const [issued] = await store.readStream(`${tenant.id}:apikeys`);
    expect(created.metadata).toMatchObject({
      tenant_id: tenant.id,
      actor: 'cli:alice',
      request_id: expect.stringMatching(/^cmd-/),
    });
    expect(issued.metadata).toEqual(created.metadata);
  });

  it('issues and revokes keys for a tenant by id; revoking twice changes nothing', async () => {
    const tenant = await api.createTenant({ store, name: 'Keys Co', actor: 'cli:alice' });
    const key = await api.issueApiKey({
      store,
      tenantId: tenant.id,
      role: 'ingest',
      kind: 'secret',
      name: 'collector',
      actor: 'cli:bob',
    });
    expect(key).toMatchObject({
      role: 'ingest',
      kind: 'secret',
      name: 'collector',
      status: 'active',
      key: expect.stringMatching(/^sk_/),
    });
    const revoked = await api.revokeApiKey({ store, tenantId: tenant.id, keyId: key.id, actor: 'cli:bob' });
    expect(revoked).toMatchObject({ id: key.id, status: 'revoked' });
    expect(await api.revokeApiKey({ store, tenantId: tenant.id, keyId: key.id, actor: 'cli:bob' })).toEqual(revoked);
    const events = await store.readStream(`${tenant.id}:apikeys`);
    expect(events.map((e) => [e.type, e.metadata.actor])).toEqual([
      ['ApiKeyIssued', 'cli:alice'],
      ['ApiKeyIssued', 'cli:bob'],
      ['ApiKeyRevoked', 'cli:bob'],
    ]);
  });

  it('refuses an unknown tenant (TENANT.NOT_FOUND), an unknown key (API_KEY.NOT_FOUND) and a taken name (TENANT.NAME_TAKEN)', async () => {
    await expect(
      api.issueApiKey({ store, tenantId: 't_000000000000', role: 'admin', kind: 'secret', actor: 'cli:x' }),
    ).rejects.toMatchObject({
      code: 'TENANT.NOT_FOUND',
    });
    const tenant = await api.createTenant({ store, name: 'Unique Ltd', actor: 'cli:x' });
    await expect(
      api.revokeApiKey({ store, tenantId: tenant.id, keyId: 'key_nope00000000', actor: 'cli:x' }),
    ).rejects.toMatchObject({
      code: 'API_KEY.NOT_FOUND',
    });
    await expect(api.createTenant({ store, name: 'UNIQUE LTD', actor: 'cli:x' })).rejects.toMatchObject({
      code: 'TENANT.NAME_TAKEN',
    });
  });
});
