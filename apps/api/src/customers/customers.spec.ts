import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

const acme = {
  id: 'cust_acme',
  name: 'Acme Inc.',
  email: 'billing@acme.test',
  currency: 'USD',
  timezone: 'America/New_York',
  payment: { provider: 'stripe', customer_ref: 'cus_123', payment_method_ref: 'pm_456' },
  metadata: { crm_id: '0012', seats: 12, vip: true },
};

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((e) => e.field);

describe('customers over HTTP', () => {
  let api: TestApi;
  let finance: string;
  let auditor: string;

  const post = (path: string, body: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const patch = (id: string, body: unknown, key?: string | null) =>
    api.request('PATCH', `/v1/customers/${id}`, { body, key });
  const eventsOf = async (id: string) => api.store.readStream(`default:customer-${id}`);

  beforeAll(async () => {
    api = await startTestApi();
    finance = (await post('/v1/api-keys', { role: 'finance', kind: 'secret' })).body.key;
    auditor = (await post('/v1/api-keys', { role: 'auditor', kind: 'secret' })).body.key;
  });
  afterAll(() => api?.close());

  describe('POST /v1/customers', () => {
    it('creates the customer with the id chosen by the caller: 201', async () => {
      const response = await api.request('POST', '/v1/customers', {
        body: acme,
        headers: { 'x-request-id': 'req-c-1' },
      });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        ...acme,
        created_at: expect.stringMatching(/Z$/),
        updated_at: response.body.created_at,
        archived_at: null,
      });
      const [event] = await eventsOf('cust_acme');
      expect(event.type).toBe('CustomerCreated');
      expect(event.metadata).toMatchObject({
        tenant_id: 'default',
        actor: expect.stringMatching(/^key_/),
        request_id: 'req-c-1',
      });
    });

    it('applies defaults (no email, no payment, UTC, empty metadata)', async () => {
      const response = await post('/v1/customers', { id: 'cust_min', name: 'Min', currency: 'EUR' });
      expect(response.body).toMatchObject({ email: null, payment: null, timezone: 'UTC', metadata: {} });
    });

    it('is idempotent: the same body again is 201 with the same customer and records nothing', async () => {
      const again = await post('/v1/customers', { ...acme, timezone: 'america/new_york' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual((await api.request('GET', '/v1/customers/cust_acme')).body);
      expect(await eventsOf('cust_acme')).toHaveLength(1);
    });

    it('refuses the same id with different details: 409 CUSTOMER.ALREADY_EXISTS', async () => {
      expectProblem(await post('/v1/customers', { ...acme, currency: 'EUR' }), 409, 'CUSTOMER.ALREADY_EXISTS');
      expectProblem(await post('/v1/customers', { ...acme, metadata: {} }), 409, 'CUSTOMER.ALREADY_EXISTS');
    });

    it('concurrent identical creates all get the customer, and it is created once', async () => {
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => post('/v1/customers', { ...acme, id: 'cust_raced' })),
      );
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
      // Equal as JSON values (key order aside: bodies read back from jsonb order keys differently).
      for (const response of responses) expect(response.body).toEqual(responses[0].body);
      expect(await eventsOf('cust_raced')).toHaveLength(1);
    });

    it('422 CUSTOMER.INVALID names every bad field', async () => {
      const body = expectProblem(
        await post('/v1/customers', {
          id: 'bad id!',
          name: ' ',
          email: 'not-an-email',
          currency: 'usd',
          timezone: 'Mars/Olympus',
          payment: { provider: 'paypal' },
          metadata: { nested: { a: 1 }, list: [1] },
        }),
        422,
        'CUSTOMER.INVALID',
      );
      expect(fieldsOf(body)).toEqual([
        'id',
        'name',
        'email',
        'currency',
        'timezone',
        'payment.provider',
        'payment.customer_ref',
        'metadata.nested',
        'metadata.list',
      ]);
      expect(fieldsOf(expectProblem(await post('/v1/customers', { id: 'c2' }), 422, 'CUSTOMER.INVALID'))).toEqual([
        'name',
        'currency',
      ]);
      const big = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
      expect(
        fieldsOf(
          expectProblem(await post('/v1/customers', { ...acme, id: 'c3', metadata: big }), 422, 'CUSTOMER.INVALID'),
        ),
      ).toEqual(['metadata']);
    });

    it('400 names an unknown field, nested ones too', async () => {
      const top = expectProblem(
        await post('/v1/customers', { ...acme, id: 'c4', plan: 'gold' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(top.errors).toEqual([{ field: 'plan', message: 'unknown field' }]);
      const nested = expectProblem(
        await post('/v1/customers', { ...acme, id: 'c4', payment: { ...acme.payment, iban: 'DE00' } }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(nested.errors).toEqual([{ field: 'payment.iban', message: 'unknown field' }]);
    });

    it('401 without a key; 403 for finance and auditor keys', async () => {
      expectProblem(await post('/v1/customers', { ...acme, id: 'c5' }, null), 401, 'AUTH.UNAUTHENTICATED');
      expectProblem(await post('/v1/customers', { ...acme, id: 'c5' }, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/customers', { ...acme, id: 'c5' }, auditor), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('GET /v1/customers/:id', () => {
    it('reads the stream, for admin, finance and auditor keys', async () => {
      for (const key of [undefined, finance, auditor]) {
        const response = await api.request('GET', '/v1/customers/cust_acme', { key });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ id: 'cust_acme', currency: 'USD' });
      }
    });

    it('404 CUSTOMER.NOT_FOUND for an unknown id or one no customer can have; 401 without a key', async () => {
      expectProblem(await api.request('GET', '/v1/customers/nope'), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await api.request('GET', `/v1/customers/${encodeURIComponent('a b')}`), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await api.request('GET', '/v1/customers/cust_acme', { key: null }), 401, 'AUTH.UNAUTHENTICATED');
    });
  });

  describe('PATCH /v1/customers/:id', () => {
    beforeAll(async () => {
      await post('/v1/customers', { ...acme, id: 'cust_patch' });
    });

    it('changes only the fields sent (payment and metadata whole) and reads back right away', async () => {
      const response = await patch('cust_patch', { name: 'Acme Corp', metadata: { crm_id: '0099' } });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        name: 'Acme Corp',
        email: acme.email,
        payment: acme.payment,
        metadata: { crm_id: '0099' },
        currency: 'USD',
      });
      expect(response.body.updated_at >= response.body.created_at).toBe(true);
      expect((await api.request('GET', '/v1/customers/cust_patch')).body).toEqual(response.body);
      const updated = (await eventsOf('cust_patch')).filter((e) => e.type === 'CustomerUpdated');
      expect(updated.map((e) => e.data)).toEqual([
        expect.objectContaining({ changes: { name: 'Acme Corp', metadata: { crm_id: '0099' } } }),
      ]);
    });

    it('clears email and payment with null; nothing to change records nothing', async () => {
      const cleared = await patch('cust_patch', { email: null, payment: null });
      expect(cleared.body).toMatchObject({ email: null, payment: null });
      const before = (await eventsOf('cust_patch')).length;
      const same = await patch('cust_patch', { email: null, currency: 'USD', timezone: 'America/New_York' });
      expect(same.status).toBe(200);
      expect(same.body).toEqual(cleared.body);
      expect(await eventsOf('cust_patch')).toHaveLength(before);
    });

    it.each([
      ['currency', 'EUR'],
      ['timezone', 'Europe/Paris'],
    ])('422 CUSTOMER.IMMUTABLE_FIELD names %s, fixed once created', async (field, value) => {
      const body = expectProblem(
        await patch('cust_patch', { name: 'x', [field]: value }),
        422,
        'CUSTOMER.IMMUTABLE_FIELD',
      );
      expect(fieldsOf(body)).toEqual([field]);
      expect((await api.request('GET', '/v1/customers/cust_patch')).body[field]).not.toBe(value);
    });

    it('422 CUSTOMER.INVALID names bad values; 400 names unknown fields (id included)', async () => {
      const body = expectProblem(
        await patch('cust_patch', { email: 'x', metadata: { a: null } }),
        422,
        'CUSTOMER.INVALID',
      );
      expect(fieldsOf(body)).toEqual(['email', 'metadata.a']);
      for (const extra of [{ id: 'other' }, { plan: 'gold' }]) {
        const unknown = expectProblem(await patch('cust_patch', extra), 400, 'REQUEST.VALIDATION_FAILED');
        expect(fieldsOf(unknown)).toEqual(Object.keys(extra));
      }
    });

    it('finance keys may change payment details only; auditors nothing', async () => {
      const payment = { provider: 'adyen', customer_ref: 'shopper_1', payment_method_ref: null };
      const ok = await patch('cust_patch', { payment }, finance);
      expect(ok.status).toBe(200);
      expect(ok.body.payment).toEqual(payment);
      const denied = expectProblem(
        await patch('cust_patch', { name: 'By finance', payment }, finance),
        403,
        'AUTH.FORBIDDEN',
      );
      expect(denied.detail).toMatch(/name/);
      expectProblem(await patch('cust_patch', { payment }, auditor), 403, 'AUTH.FORBIDDEN');
      expect((await api.request('GET', '/v1/customers/cust_patch')).body.name).toBe('Acme Corp');
    });

    it('404 for an unknown customer; 401 without a key', async () => {
      expectProblem(await patch('nope', { name: 'x' }), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await patch('cust_patch', { name: 'x' }, null), 401, 'AUTH.UNAUTHENTICATED');
    });
  });

  describe('POST /v1/customers/:id/archive', () => {
    it('archives instead of deleting (200, still readable); twice is idempotent; archived customers cannot change', async () => {
      await post('/v1/customers', { ...acme, id: 'cust_gone' });
      const archived = await post('/v1/customers/cust_gone/archive', undefined);
      expect(archived.status).toBe(200);
      expect(archived.body.archived_at).toEqual(expect.any(String));
      const again = await post('/v1/customers/cust_gone/archive', undefined);
      expect(again.body).toEqual(archived.body);
      expect((await eventsOf('cust_gone')).map((e) => e.type)).toEqual(['CustomerCreated', 'CustomerArchived']);
      expect((await api.request('GET', '/v1/customers/cust_gone')).body).toEqual(archived.body);
      expectProblem(await patch('cust_gone', { name: 'Later' }), 409, 'CUSTOMER.ARCHIVED');
    });

    it('404 for an unknown customer; 403 for finance and auditor keys', async () => {
      expectProblem(await post('/v1/customers/nope/archive', undefined), 404, 'CUSTOMER.NOT_FOUND');
      expectProblem(await post('/v1/customers/cust_acme/archive', undefined, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/customers/cust_acme/archive', undefined, auditor), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('GET /v1/customers (the customers read model)', () => {
    let projector: TestProjector;
    beforeAll(async () => {
      projector = await startTestProjector(api, { only: ['customers'] });
    });
    afterAll(() => projector?.stop());

    it('lists what GET /v1/customers/:id shows, by id, without archived customers unless asked', async () => {
      await projector.caughtUp();
      const list = await api.request('GET', '/v1/customers?limit=100', { key: auditor });
      expect(list.status).toBe(200);
      const ids = list.body.data.map((c: { id: string }) => c.id);
      expect(ids).toEqual(['cust_acme', 'cust_min', 'cust_patch', 'cust_raced']);
      for (const customer of list.body.data) {
        expect(customer).toEqual((await api.request('GET', `/v1/customers/${customer.id}`)).body);
      }
      const all = await api.request('GET', '/v1/customers?limit=100&include_archived=true');
      expect(all.body.data.map((c: { id: string }) => c.id)).toEqual([
        'cust_acme',
        'cust_gone',
        'cust_min',
        'cust_patch',
        'cust_raced',
      ]);
    });

    it('pages with limit and an opaque cursor, without repeats or gaps', async () => {
      for (let i = 0; i < 5; i++) await post('/v1/customers', { id: `page_${i}`, name: `P${i}`, currency: 'GBP' });
      await projector.caughtUp();
      const all = (await api.request('GET', '/v1/customers?limit=100')).body.data.map((c: { id: string }) => c.id);
      expect(all).toHaveLength(9);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await api.request('GET', `/v1/customers?limit=3${query}`, { key: finance });
        expect(page.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.data.map((c: { id: string }) => c.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(all);
    });

    it('400 for a bad cursor or limit or an unknown parameter; 401 without a key', async () => {
      for (const query of ['cursor=garbage', 'limit=0', 'include_archived=1', 'email=x']) {
        const body = expectProblem(
          await api.request('GET', `/v1/customers?${query}`),
          400,
          'REQUEST.VALIDATION_FAILED',
        );
        expect(fieldsOf(body)).toEqual([query.split('=')[0]]);
      }
      expectProblem(await api.request('GET', '/v1/customers', { key: null }), 401, 'AUTH.UNAUTHENTICATED');
    });
  });

  it('documents every customers endpoint in /docs', async () => {
    const paths = (await api.request('GET', '/docs/json', { key: null })).body.paths as Record<
      string,
      Record<string, { summary?: string }>
    >;
    for (const [path, method] of [
      ['/v1/customers', 'post'],
      ['/v1/customers', 'get'],
      ['/v1/customers/{id}', 'get'],
      ['/v1/customers/{id}', 'patch'],
      ['/v1/customers/{id}/archive', 'post'],
    ]) {
      expect(paths[path]?.[method]?.summary).toEqual(expect.any(String));
    }
  });
});
