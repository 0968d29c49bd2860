import { eventually, startTestApi, type TestApi } from '../../../../../test/support/api';

/**
 * Two API replicas on one database: each authenticates from its own in-memory key directory, which
 * follows the event log. What one replica issues or revokes reaches the other through the store's
 * subscription (LISTEN/NOTIFY, 250 ms poll), without a database round trip per request.
 */
describe('key directory across two replicas', () => {
  let one: TestApi;
  let two: TestApi;
  beforeAll(async () => {
    one = await startTestApi();
    two = await startTestApi({ db: one.db });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('a key revoked on one replica is refused (401) by the other', async () => {
    const created = await one.request('POST', '/v1/api-keys', { body: { role: 'admin', kind: 'secret' } });
    await eventually(
      async () => (await two.request('GET', '/v1/api-keys', { key: created.body.key })).status === 200,
      'replica two to accept the new key',
    );

    expect((await one.request('DELETE', `/v1/api-keys/${created.body.id}`)).status).toBe(200);
    expect((await one.request('GET', '/v1/api-keys', { key: created.body.key })).status).toBe(401);
    await eventually(
      async () => (await two.request('GET', '/v1/api-keys', { key: created.body.key })).status === 401,
      'replica two to refuse the revoked key',
    );
    const listed = await two.request('GET', `/v1/api-keys/${created.body.id}`);
    expect(listed.body).toMatchObject({ status: 'revoked' });
  });

  it('a tenant created on one replica can use the other', async () => {
    const tenant = await one.request('POST', '/v1/tenants', { body: { name: 'Cross Replica Co' } });
    await eventually(
      async () => (await two.request('GET', '/v1/api-keys', { key: tenant.body.admin_key })).status === 200,
      'replica two to know the tenant',
    );
  });

  it('a replica started later loads every key, revocations included, before it listens', async () => {
    const kept = await one.request('POST', '/v1/api-keys', { body: { role: 'auditor', kind: 'secret' } });
    const dropped = await one.request('POST', '/v1/api-keys', { body: { role: 'auditor', kind: 'secret' } });
    await one.request('DELETE', `/v1/api-keys/${dropped.body.id}`);
    const three = await startTestApi({ db: one.db });
    try {
      expect((await three.request('GET', '/v1/api-keys', { key: kept.body.key })).status).toBe(200);
      expect((await three.request('GET', '/v1/api-keys', { key: dropped.body.key })).status).toBe(401);
    } finally {
      await three.close();
    }
  });
});
