import { startTestApi, type TestApi } from '../../../../test/support/api';
import { MAX_INPUT_DEPTH, reservedKeyPaths, unsafeInput } from './reserved-keys';

describe('reserved keys in request bodies', () => {
  it('finds them at any depth, with their path', () => {
    expect(
      reservedKeyPaths({ a: 1, metadata: { constructor: 'x', ok: { prototype: 1 } }, list: [{ constructor: 2 }] }),
    ).toEqual(['metadata.constructor', 'metadata.ok.prototype', 'list[0].constructor']);
    expect(reservedKeyPaths({ metadata: { construct: 'fine' } })).toEqual([]);
  });

  it('finds strings PostgreSQL cannot store as sent (NUL, unpaired surrogates), in values and keys', () => {
    expect(
      unsafeInput({ name: 'a\u0000b', ok: 'Zoë 😀', list: ['\ud800', 'x\udfffy'], metadata: { 'k\u0000': 1 } }),
    ).toEqual([
      { field: 'name', message: 'must not contain NUL or unpaired surrogate characters' },
      { field: 'list[0]', message: 'must not contain NUL or unpaired surrogate characters' },
      { field: 'list[1]', message: 'must not contain NUL or unpaired surrogate characters' },
      { field: 'metadata.k\u0000', message: 'must not contain NUL or unpaired surrogate characters' },
    ]);
    expect(unsafeInput('\u0000', 'id')).toEqual([
      { field: 'id', message: 'must not contain NUL or unpaired surrogate characters' },
    ]);
    expect(unsafeInput({ name: 'fine 😀', n: 1, b: true, z: null })).toEqual([]);
  });

  it('refuses nesting deeper than MAX_INPUT_DEPTH whole, and survives 100,000 levels', () => {
    let deep: unknown = { constructor: 1 };
    for (let level = 0; level < MAX_INPUT_DEPTH; level++) deep = { a: deep };
    expect(unsafeInput(deep)).toEqual([
      { field: Array(MAX_INPUT_DEPTH).fill('a').join('.'), message: `nested deeper than ${MAX_INPUT_DEPTH} levels` },
    ]);
    const huge = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(unsafeInput({ x: huge })).toHaveLength(1);
    let shallow: unknown = 'leaf';
    for (let level = 0; level < MAX_INPUT_DEPTH - 1; level++) shallow = { a: shallow };
    expect(unsafeInput(shallow)).toEqual([]);
  });

  describe('over HTTP', () => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startTestApi();
    });
    afterAll(() => api?.close());
    const head = async () =>
      (await api.db.pool.query<{ head: string }>('SELECT coalesce(max(position), 0)::text AS head FROM events')).rows[0]
        .head;

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

    // Found by test/fuzz: each of these was a 500 (PostgreSQL refuses NUL in text and jsonb).
    it('a NUL in a body value, a path parameter or a query value is 400 naming it, and stores nothing', async () => {
      const before = await head();
      const patched = await api.request('PATCH', '/v1/customers/cust_reserved', {
        body: { metadata: { crm: 'a\u0000b' } },
      });
      expect(patched).toMatchObject({
        status: 400,
        body: { code: 'REQUEST.VALIDATION_FAILED', errors: [{ field: 'metadata.crm' }] },
      });
      const archived = await api.request('POST', '/v1/customers/%00/archive');
      expect(archived).toMatchObject({ status: 400, body: { errors: [{ field: 'id' }] } });
      const invoice = await api.request('GET', '/v1/invoices/inv%00x');
      expect(invoice).toMatchObject({ status: 400, body: { errors: [{ field: 'id' }] } });
      const audit = await api.request('GET', '/v1/audit-log?stream=%00');
      expect(audit).toMatchObject({ status: 400, body: { errors: [{ field: 'stream' }] } });
      const surrogate = await api.request('PATCH', '/v1/customers/cust_reserved', { rawBody: '{"name":"x\\ud800"}' });
      expect(surrogate).toMatchObject({ status: 400, body: { errors: [{ field: 'name' }] } });
      expect(await head()).toBe(before);
      expect((await api.request('GET', '/v1/customers/cust_reserved')).body).toMatchObject({ name: 'R' });
    });
  });
});
