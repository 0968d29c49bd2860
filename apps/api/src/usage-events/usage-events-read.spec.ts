import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';
import type { EventStore } from '../../../../libs/ledger/src';

/**
 * GET /v1/events (from the usage projection), POST /v1/events/:id/void, and the KurrentDB-mode
 * write path (the store writer: no synchronous key check, the projection decides), over real HTTP.
 */
const HOUR = 3_600_000;
let keyCounter = 0;
const newKey = () => `r-${process.pid}-${++keyCounter}`;

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  expect(response.status).toBe(status);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

async function seedCatalog(api: TestApi, customers: string[], metrics: string[]): Promise<void> {
  for (const id of customers) {
    expect((await api.request('POST', '/v1/customers', { body: { id, name: id, currency: 'EUR' } })).status).toBe(201);
  }
  for (const key of metrics) {
    expect((await api.request('POST', '/v1/metrics', { body: { key, name: key, aggregation: 'sum' } })).status).toBe(
      201,
    );
  }
}

describe('usage events: list and void', () => {
  let api: TestApi;
  let projector: TestProjector;
  let finance: string;
  let auditor: string;
  const base = Date.now() - 5 * HOUR;
  const at = (i: number) => new Date(base + Math.floor(i / 3) * 1000).toISOString();

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api, { only: ['usage'] });
    finance = (await api.request('POST', '/v1/api-keys', { body: { role: 'finance', kind: 'secret' } })).body.key;
    auditor = (await api.request('POST', '/v1/api-keys', { body: { role: 'auditor', kind: 'secret' } })).body.key;
    await seedCatalog(api, ['cust_list', 'cust_void'], ['api_calls', 'storage']);
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  describe('GET /v1/events', () => {
    let ids: string[];

    beforeAll(async () => {
      // 250 events, three per second (ties on the timestamp are broken by id), plus noise in another metric.
      const events = Array.from({ length: 250 }, (_, i) => ({
        customer_id: 'cust_list',
        metric_key: 'api_calls',
        value: `${i}.50`,
        timestamp: at(i),
        idempotency_key: newKey(),
        properties: { i },
      }));
      const responses = await Promise.all([
        api.request('POST', '/v1/events/batch', { body: { events: events.slice(0, 125) } }),
        api.request('POST', '/v1/events/batch', { body: { events: events.slice(125) } }),
        api.request('POST', '/v1/events', {
          body: { ...events[0], metric_key: 'storage', idempotency_key: newKey() },
        }),
      ]);
      ids = responses.slice(0, 2).flatMap((r) => r.body.results.map((x: { id: string }) => x.id));
      expect(new Set(ids).size).toBe(250);
      await projector.caughtUp();
    });

    it('pages through every event exactly once, in (timestamp, id) order, with keyset cursors', async () => {
      const seen: Array<{ id: string; timestamp: string }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `/v1/events?customer_id=cust_list&metric_key=api_calls&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
        const page = await api.request('GET', query, { key: auditor });
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(7);
        expect(page.body.meta).toEqual({ consistency: 'eventual', as_of: expect.any(String), lag_seconds: 0 });
        seen.push(...page.body.data);
        cursor = page.body.next_cursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(Math.ceil(250 / 7));
      expect(seen.map((e) => e.id).sort()).toEqual([...ids].sort());
      const order = seen.map((e) => [Date.parse(e.timestamp), e.id] as const);
      const sorted = [...order].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
      expect(order).toEqual(sorted);
    });

    it("without metric_key: every metric's events of the customer, interleaved by (timestamp, id), each once", async () => {
      const all = async (query: string, limit: number) => {
        const seen: Array<{ id: string; timestamp: string; metric_key: string }> = [];
        let cursor: string | null = null;
        do {
          const url: string = `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
          const page = await api.request('GET', url, { key: auditor });
          expect(page.status).toBe(200);
          expect(page.body.data.length).toBeLessThanOrEqual(limit);
          seen.push(...page.body.data);
          cursor = page.body.next_cursor;
        } while (cursor !== null);
        return seen;
      };
      const byTime = (events: Array<{ id: string; timestamp: string }>) =>
        [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.id < b.id ? -1 : 1));
      const seen = await all('/v1/events?customer_id=cust_list', 7);
      expect(seen).toHaveLength(251);
      expect(seen).toEqual(byTime(seen));
      const storage = seen.filter((e) => e.metric_key === 'storage');
      expect(storage).toHaveLength(1);
      expect(seen.filter((e) => e.metric_key === 'api_calls').map((e) => e.id)).toEqual(
        (await all('/v1/events?customer_id=cust_list&metric_key=api_calls', 50)).map((e) => e.id),
      );
      // The same window as with one metric: from inclusive, to exclusive, over every metric.
      const window = `from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(6))}`;
      const windowed = await all(`/v1/events?customer_id=cust_list&${window}`, 2);
      expect(windowed.map((e) => e.id)).toEqual(seen.slice(0, 7).map((e) => e.id));
      expect(windowed.map((e) => e.metric_key).sort()).toEqual([...Array(6).fill('api_calls'), 'storage']);
      // A customer without usage: an empty page.
      expect((await api.request('GET', '/v1/events?customer_id=cust_void', { key: auditor })).body).toMatchObject({
        data: [],
        next_cursor: null,
      });
      // Cursors of the two lists do not mix.
      const oneMetric = await api.request('GET', '/v1/events?customer_id=cust_list&metric_key=api_calls&limit=1');
      const everyMetric = await api.request('GET', '/v1/events?customer_id=cust_list&limit=1');
      for (const [query, cursor] of [
        ['/v1/events?customer_id=cust_list', oneMetric.body.next_cursor],
        ['/v1/events?customer_id=cust_list&metric_key=api_calls', everyMetric.body.next_cursor],
      ]) {
        const refused = expectProblem(
          await api.request('GET', `${query}&cursor=${cursor}`),
          400,
          'REQUEST.VALIDATION_FAILED',
        );
        expect(refused.errors).toEqual([
          { field: 'cursor', message: expect.stringMatching(/another list or with other filters/) },
        ]);
      }
    });

    it('a cursor continues only the query that returned it: other filters or another list are 400 naming cursor', async () => {
      const base = '/v1/events?customer_id=cust_list&metric_key=api_calls';
      const first = await api.request('GET', `${base}&limit=5`, { key: auditor });
      const cursor: string = first.body.next_cursor;
      // Another limit is the same query.
      const next = await api.request('GET', `${base}&limit=3&cursor=${cursor}`, { key: auditor });
      expect(next.status).toBe(200);
      const sixth = (await api.request('GET', `${base}&limit=6`, { key: auditor })).body.data[5];
      expect(next.body.data[0]).toEqual(sixth);
      // The same window written with another offset is the same query.
      const windowed = (from: string) => `${base}&from=${encodeURIComponent(from)}&limit=2`;
      const utcPage = await api.request('GET', windowed('2020-01-01T00:00:00Z'), { key: auditor });
      for (const sameInstant of ['2020-01-01T00:00:00.000+00:00', '2020-01-01T02:00:00+02:00']) {
        const page = await api.request('GET', `${windowed(sameInstant)}&cursor=${utcPage.body.next_cursor}`, {
          key: auditor,
        });
        expect(page.status).toBe(200);
        expect(page.body.data[0]).toEqual((await api.request('GET', `${base}&limit=3`, { key: auditor })).body.data[2]);
      }
      for (const other of [
        '/v1/events?customer_id=cust_void&metric_key=api_calls',
        '/v1/events?customer_id=cust_list&metric_key=storage',
        `${base}&from=${encodeURIComponent(at(0))}`,
      ]) {
        const refused = expectProblem(
          await api.request('GET', `${other}&cursor=${cursor}`, { key: auditor }),
          400,
          'REQUEST.VALIDATION_FAILED',
        );
        expect(refused.errors).toEqual([
          { field: 'cursor', message: expect.stringMatching(/another list or with other filters/) },
        ]);
      }
      // Another list: not even the shape of its cursors.
      const customers = expectProblem(
        await api.request('GET', `/v1/customers?cursor=${cursor}`),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(customers.errors).toEqual([{ field: 'cursor', message: expect.any(String) }]);
      // Another tenant: its own customer and metric of the same names, the same cursor.
      const otherAdmin = (await api.request('POST', '/v1/tenants', { body: { name: 'Cursor Other' } })).body.admin_key;
      const asOther = { key: otherAdmin };
      const customer = { id: 'cust_list', name: 'cust_list', currency: 'EUR' };
      expect((await api.request('POST', '/v1/customers', { ...asOther, body: customer })).status).toBe(201);
      const metric = { key: 'api_calls', name: 'api_calls', aggregation: 'sum' };
      expect((await api.request('POST', '/v1/metrics', { ...asOther, body: metric })).status).toBe(201);
      expect((await api.request('GET', `${base}&limit=5`, asOther)).status).toBe(200);
      expectProblem(await api.request('GET', `${base}&cursor=${cursor}`, asOther), 400, 'REQUEST.VALIDATION_FAILED');
      // A cursor issued before cursors carried their query (no `q`) still continues.
      const legacy = Buffer.from(JSON.stringify({ ts: sixth.timestamp, id: sixth.id })).toString('base64url');
      const legacyPage = await api.request('GET', `${base}&limit=1&cursor=${legacy}`, { key: auditor });
      expect(legacyPage.status).toBe(200);
      expect(legacyPage.body.data[0]).toEqual(
        (await api.request('GET', `${base}&limit=7`, { key: auditor })).body.data[6],
      );
    });

    it('shows each event as recorded: canonical value, timestamp, key, properties, source', async () => {
      const page = await api.request('GET', '/v1/events?customer_id=cust_list&metric_key=api_calls&limit=1', {
        key: finance,
      });
      expect(page.body.data[0]).toEqual({
        id: expect.any(String),
        idempotency_key: expect.any(String),
        customer_id: 'cust_list',
        metric_key: 'api_calls',
        value: expect.stringMatching(/^\d+\.5$/),
        timestamp: at(0),
        properties: { i: expect.any(Number) },
        recorded_at: expect.stringMatching(/Z$/),
        source: 'ingest',
        voided_at: null,
        void_reason: null,
      });
    });

    it('filters by timestamp: from inclusive, to exclusive', async () => {
      const from = at(30);
      const to = at(60);
      const page = await api.request(
        'GET',
        `/v1/events?customer_id=cust_list&metric_key=api_calls&from=${from}&to=${to}&limit=1000`,
      );
      expect(page.body.data).toHaveLength(30);
      expect(page.body.data[0].timestamp).toBe(from);
      expect(page.body.data.every((e: { timestamp: string }) => e.timestamp >= from && e.timestamp < to)).toBe(true);
    });

    it('400 for a bad cursor, a bad bound or a missing filter; 404 for an unknown customer or metric; 403 for ingest keys', async () => {
      const base = '/v1/events?customer_id=cust_list&metric_key=api_calls';
      expectProblem(await api.request('GET', `${base}&cursor=bm9wZQ`), 400, 'REQUEST.VALIDATION_FAILED');
      expectProblem(await api.request('GET', `${base}&from=yesterday`), 400, 'REQUEST.VALIDATION_FAILED');
      expectProblem(await api.request('GET', `${base}&limit=1001`), 400, 'REQUEST.VALIDATION_FAILED');
      expectProblem(await api.request('GET', '/v1/events?metric_key=api_calls'), 400, 'REQUEST.VALIDATION_FAILED');
      expectProblem(
        await api.request('GET', `/v1/events?customer_id=cust_list&metric_key=`),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(
        await api.request('GET', '/v1/events?customer_id=nobody&metric_key=api_calls'),
        404,
        'CUSTOMER.NOT_FOUND',
      );
      expectProblem(
        await api.request('GET', '/v1/events?customer_id=cust_list&metric_key=nope'),
        404,
        'METRIC.NOT_FOUND',
      );
      const ingest = (await api.request('POST', '/v1/api-keys', { body: { role: 'ingest', kind: 'secret' } })).body.key;
      expectProblem(await api.request('GET', base, { key: ingest }), 403, 'AUTH.FORBIDDEN');
    });

    it('422 USAGE.INVALID_PERIOD for a to not later than from, as summary, compute and histogram answer', async () => {
      for (const [from, to] of [
        ['2026-11-21T00:00:00Z', '2026-11-20T00:00:00Z'],
        ['2026-11-21T00:00:00Z', '2026-11-21T01:00:00+01:00'],
      ]) {
        const response = await api.request(
          'GET',
          `/v1/events?customer_id=cust_list&metric_key=api_calls&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
        );
        expect(expectProblem(response, 422, 'USAGE.INVALID_PERIOD').errors).toEqual([
          { field: 'to', message: 'must be later than from' },
        ]);
      }
    });
  });

  describe('POST /v1/events/:id/void', () => {
    const record = async () => {
      const body = {
        customer_id: 'cust_void',
        metric_key: 'api_calls',
        value: 3,
        timestamp: new Date(base).toISOString(),
        idempotency_key: newKey(),
      };
      return (await api.request('POST', '/v1/events', { body })).body.id as string;
    };
    const typesIn = async (stream: string) => (await api.store.readStream(stream)).map((e) => e.type);
    const stream = `default:usage-cust_void-${new Date(base).toISOString().slice(0, 7)}`;

    it('appends UsageVoided next to the event; the original stays; the list shows the void', async () => {
      const id = await record();
      const response = await api.request('POST', `/v1/events/${id}/void`, {
        body: { reason: 'sent twice by a buggy SDK' },
        key: finance,
        headers: { 'x-request-id': 'req-void-1' },
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id,
        status: 'voided',
        reason: 'sent twice by a buggy SDK',
        voided_at: expect.stringMatching(/Z$/),
        voided_by: expect.stringMatching(/^key_/),
      });
      const events = await api.store.readStream(stream);
      const voided = events.find((e) => e.type === 'UsageVoided')!;
      expect(events.find((e) => e.id === id)!.type).toBe('UsageRecorded');
      expect(voided.data).toEqual({
        usage_id: id,
        customer_id: 'cust_void',
        metric_key: 'api_calls',
        timestamp: new Date(base).toISOString(),
        reason: 'sent twice by a buggy SDK',
      });
      expect(voided.metadata).toMatchObject({ tenant_id: 'default', request_id: 'req-void-1' });
      await projector.caughtUp();
      const listed = await api.request('GET', '/v1/events?customer_id=cust_void&metric_key=api_calls&limit=100');
      expect(listed.body.data.find((e: { id: string }) => e.id === id)).toMatchObject({
        voided_at: response.body.voided_at,
        void_reason: 'sent twice by a buggy SDK',
      });
    });

    it('voiding twice (even with another reason, even concurrently) answers the first void and records nothing', async () => {
      const id = await record();
      const before = (await typesIn(stream)).length;
      const answers = await Promise.all(
        ['a', 'b', 'c'].map((reason) => api.request('POST', `/v1/events/${id}/void`, { body: { reason } })),
      );
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers[1].body).toEqual(answers[0].body);
      expect(answers[2].body).toEqual(answers[0].body);
      const again = await api.request('POST', `/v1/events/${id}/void`, { body: { reason: 'later' }, key: finance });
      expect(again.body).toEqual(answers[0].body);
      expect((await typesIn(stream)).length).toBe(before + 1);
    });

    it('404 EVENT.NOT_FOUND for an unknown or malformed id; 400 without a reason; 403 for auditors', async () => {
      expectProblem(
        await api.request('POST', '/v1/events/00000000-0000-4000-8000-000000000000/void', { body: { reason: 'x' } }),
        404,
        'EVENT.NOT_FOUND',
      );
      expectProblem(
        await api.request('POST', '/v1/events/not-a-uuid/void', { body: { reason: 'x' } }),
        404,
        'EVENT.NOT_FOUND',
      );
      const id = await record();
      expectProblem(await api.request('POST', `/v1/events/${id}/void`, { body: {} }), 400, 'REQUEST.VALIDATION_FAILED');
      expectProblem(
        await api.request('POST', `/v1/events/${id}/void`, { body: { reason: '   ' } }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expectProblem(
        await api.request('POST', `/v1/events/${id}/void`, { body: { reason: 'x' }, key: auditor }),
        403,
        'AUTH.FORBIDDEN',
      );
    });
  });
});

describe('usage events in KurrentDB mode (the store writer: no synchronous key check)', () => {
  let api: TestApi;
  let projector: TestProjector;
  const timestamp = new Date(Date.now() - HOUR).toISOString();

  beforeAll(async () => {
    // The Postgres store seen through the port only, as the API sees a KurrentDB store.
    const asKurrent = (store: EventStore): EventStore =>
      new Proxy(store, {
        get: (target, property, receiver) => {
          if (property === 'kind') return 'kurrentdb';
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    api = await startTestApi({ wrapStore: asKurrent });
    projector = await startTestProjector(api, { only: ['usage'] });
    await seedCatalog(api, ['cust_a', 'cust_b'], ['api_calls']);
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  it('answers accepted with the key-derived id; a same-stream retry is a no-op, a reused key in another stream is left to the projection', async () => {
    const key = newKey();
    const body = { customer_id: 'cust_a', metric_key: 'api_calls', value: '2', timestamp, idempotency_key: key };
    const first = await api.request('POST', '/v1/events', { body });
    const retry = await api.request('POST', '/v1/events', { body });
    expect(first.body).toEqual({ id: expect.any(String), status: 'accepted', idempotency_key: key });
    expect(retry.body).toEqual(first.body);
    // Same stream, same id, other payload: the store refuses it, so this one is still a 409.
    expectProblem(
      await api.request('POST', '/v1/events', { body: { ...body, value: '5' } }),
      409,
      'EVENT.IDEMPOTENCY_CONFLICT',
    );
    // Another customer's stream: nothing can tell synchronously; the log holds both, the projection counts the first.
    const elsewhere = await api.request('POST', '/v1/events', { body: { ...body, customer_id: 'cust_b' } });
    expect(elsewhere.body).toMatchObject({ id: first.body.id, status: 'accepted' });
    const month = timestamp.slice(0, 7);
    expect(await api.store.readStream(`default:usage-cust_a-${month}`)).toHaveLength(1);
    expect(await api.store.readStream(`default:usage-cust_b-${month}`)).toHaveLength(1);
    await projector.caughtUp();
    const counted = await api.db.pool.query(
      'SELECT customer_id, value::text FROM usage_events WHERE idempotency_key = $1',
      [key],
    );
    expect(counted.rows).toEqual([{ customer_id: 'cust_a', value: '2.0000000000' }]);
    const keyRows = await api.db.pool.query('SELECT 1 FROM usage_idempotency WHERE idempotency_key = $1', [key]);
    expect(keyRows.rowCount).toBe(0);
  });

  it('voids through the read model, once', async () => {
    const body = { customer_id: 'cust_a', metric_key: 'api_calls', value: '1', timestamp, idempotency_key: newKey() };
    const id = (await api.request('POST', '/v1/events', { body })).body.id;
    await projector.caughtUp();
    const first = await api.request('POST', `/v1/events/${id}/void`, { body: { reason: 'test' } });
    expect(first.body).toMatchObject({ id, status: 'voided', reason: 'test' });
    expect((await api.request('POST', `/v1/events/${id}/void`, { body: { reason: 'again' } })).body).toEqual(
      first.body,
    );
    const voids = (await api.store.readStream(`default:usage-cust_a-${timestamp.slice(0, 7)}`)).filter(
      (e) => e.type === 'UsageVoided',
    );
    expect(voids).toHaveLength(1);
  });
});
