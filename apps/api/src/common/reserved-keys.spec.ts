import { startTestApi, type TestApi } from '../../../../test/support/api';
import { reservedKeyPaths } from './reserved-keys';

describe('reserved keys in request bodies', () => {
  it('finds them at any depth, with their path', () => {
    expect(
      reservedKeyPaths({ a: 1, metadata: { constructor: 'x', ok: { prototype: 1 } }, list: [{ constructor: 2 }] }),
    ).toEqual(['metadata.constructor', 'metadata.ok.prototype', 'list[0].constructor']);
    expect(reservedKeyPaths({ metadata: { construct: 'fine' } })).toEqual([]);
  });

  describe('over HTTP', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startTestApi();
    });
    afterAll(() => api?.close());

    it('refuses a customer whose metadata has a `constructor` key (it used to be dropped silently) and stores nothing', async () => {
      const response = await api.request('POST', '/v1/customers', {
        body: {
          id: 'cust_reserved',
          name: 'R',
          currency: 'USD',
          timezone: 'UTC',
          metadata: { constructor: 'x', plan: 'gold' },
        },
      });
      expect(response.status).toBe(400);
      expect((response.body as { errors: unknown }).errors).toEqual([
        { field: 'metadata.constructor', message: 'reserved key not allowed' },
      ]);
      expect((await api.request('GET', '/v1/customers/cust_reserved')).status).toBe(404);

      const valid = await api.request('POST', '/v1/customers', {
        body: { id: 'cust_reserved', name: 'R', currency: 'USD', timezone: 'UTC', metadata: { plan: 'gold' } },
      });
      expect(valid.status).toBe(201);
      expect((valid.body as { metadata: unknown }).metadata).toEqual({ plan: 'gold' });
    });
  });
});
