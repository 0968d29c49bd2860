import type { LiveSubscriptionsCounter as Counter } from './live-subscription-counter';
import { loadBuiltFile, startTestApi, type TestApi } from '../../../../test/support/api';
import { startTestProjector } from '../../../../test/support/projector';

/**
 * The count behind CUSTOMER.HAS_LIVE_SUBSCRIPTIONS, on the built class: from the read model when it
 * is current, from the log when there is no read model or it stays behind.
 */
describe('LiveSubscriptionsCounter', () => {
  let api: TestApi;
  let counter: Counter;

  const post = (path: string, body?: unknown) => api.request('POST', path, { body });
  const subscribe = async (customerId: string) =>
    (await post('/v1/subscriptions', { customer_id: customerId, plan_key: 'pro', start_date: '2024-01-01' })).body
      .id as string;

  beforeAll(async () => {
    api = await startTestApi();
    const { LiveSubscriptionsCounter } = loadBuiltFile<{ LiveSubscriptionsCounter: typeof Counter }>(
      'apps/api/src/subscriptions/live-subscription-counter',
    );
    counter = new LiveSubscriptionsCounter(api.store, api.db.pool);
    for (const id of ['c1', 'c2', 'c3']) await post('/v1/customers', { id, name: id, currency: 'USD' });
    const plan = { key: 'pro', name: 'Pro', currency: 'USD', billing_interval: 'month', charges: [], publish: true };
    expect((await post('/v1/price-plans', plan)).status).toBe(201);
  });
  afterAll(() => api?.close());

  it('without a read model, folds the log: live ones count, ended ones do not, other tenants never', async () => {
    const first = await subscribe('c1');
    await subscribe('c1');
    expect(await counter.countLive('default', 'c1')).toBe(2);
    await post(`/v1/subscriptions/${first}/cancel`, { at: 'now' });
    expect(await counter.countLive('default', 'c1')).toBe(1);
    expect(await counter.countLive('default', 'c2')).toBe(0);
    expect(await counter.countLive('other', 'c1')).toBe(0);
  });

  it('reads the read model when it is current, and the log when it stays behind', async () => {
    const projector = await startTestProjector(api, { only: ['subscriptions'] });
    try {
      await projector.caughtUp();
      expect(await counter.countLive('default', 'c1')).toBe(1);
      // A row only the read model has: counted, so the count came from the read model.
      await api.db.pool.query(
        `INSERT INTO subscriptions__v1 (tenant_id, id, customer_id, plan_key, plan_version, status, start_date,
                                        subscription, created_at, stream_revision)
         VALUES ('default', 'sub_phantom', 'c3', 'pro', 1, 'active', now(), '{}', now(), 0)`,
      );
      expect(await counter.countLive('default', 'c3')).toBe(1);
      await api.db.pool.query(`DELETE FROM subscriptions__v1 WHERE id = 'sub_phantom'`);
    } finally {
      await projector.stop();
    }
    // The projector is gone: a new subscription is only in the log, and still counted.
    await subscribe('c2');
    expect(await counter.countLive('default', 'c2')).toBe(1);
  });
});
