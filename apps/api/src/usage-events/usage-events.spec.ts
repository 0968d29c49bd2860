import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import type { RecordedEvent } from '../../../../libs/ledger/src';

/**
 * POST /v1/events, /batch and /backfill over real HTTP on the built app: validation (422 naming the
 * field), idempotency (duplicates and conflicts, under concurrency and across a restart), roles.
 */
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
const month = (timestamp: string) => new Date(timestamp).toISOString().slice(0, 7);

let keyCounter = 0;
const newKey = (prefix = 'k') => `${prefix}-${process.pid}-${++keyCounter}`;

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  expect(response.status).toBe(status);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((e) => e.field);

describe('usage ingestion over HTTP', () => {
  let api: TestApi;
  let ingest: string;
  let finance: string;
  let auditor: string;
  let publishable: string;
  const timestamp = iso(-60 * MINUTE);

  const post = (path: string, body: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const event = (overrides: Record<string, unknown> = {}) => ({
    customer_id: 'cust_acme',
    metric_key: 'api_calls',
    value: '1.5',
    timestamp,
    idempotency_key: newKey(),
    properties: { region: 'eu-west-1', status: 200, cached: false, trace: null },
    ...overrides,
  });

  /** UsageRecorded events of a customer's month, optionally only those of one key. */
  async function recorded(customer: string, at: string, key?: string): Promise<RecordedEvent[]> {
    try {
      const events = await api.store.readStream(`default:usage-${customer}-${month(at)}`);
      return events.filter(
        (e) =>
          e.type === 'UsageRecorded' &&
          (key === undefined || (e.data as { idempotency_key: string }).idempotency_key === key),
      );
    } catch {
      return [];
    }
  }

  beforeAll(async () => {
    api = await startTestApi();
    const issue = async (role: string, kind = 'secret') => (await post('/v1/api-keys', { role, kind })).body.key;
    [ingest, finance, auditor, publishable] = [
      await issue('ingest'),
      await issue('finance'),
      await issue('auditor'),
      await issue('auditor', 'publishable'),
    ];
    const created = await Promise.all([
      post('/v1/customers', { id: 'cust_acme', name: 'Acme', currency: 'EUR' }),
      post('/v1/customers', { id: 'cust_old', name: 'Old', currency: 'EUR' }),
      post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum' }),
      post('/v1/metrics', { key: 'old_metric', name: 'Old', aggregation: 'sum' }),
    ]);
    expect(created.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect((await post('/v1/customers/cust_old/archive', {})).status).toBe(200);
    expect((await post('/v1/metrics/old_metric/archive', {})).status).toBe(200);
  });
  afterAll(() => api?.close());

  describe('POST /v1/events', () => {
    it('202 accepted once committed: the event is in the log, normalised, with who sent it', async () => {
      const body = event({ value: '1.50', timestamp: '2026-11-20T15:30:00.250+02:00' });
      const response = await api.request('POST', '/v1/events', {
        body,
        key: ingest,
        headers: { 'x-request-id': 'req-usage-1' },
      });
      expect(response.status).toBe(202);
      expect(response.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        status: 'accepted',
        idempotency_key: body.idempotency_key,
      });
      const [stored] = await recorded('cust_acme', '2026-11-20T13:30:00.250Z', body.idempotency_key);
      expect(stored.id).toBe(response.body.id);
      expect(stored.stream).toBe('default:usage-cust_acme-2026-11');
      expect(stored.data).toEqual({
        usage_id: response.body.id,
        customer_id: 'cust_acme',
        metric_key: 'api_calls',
        value: '1.5',
        timestamp: '2026-11-20T13:30:00.250Z',
        idempotency_key: body.idempotency_key,
        properties: body.properties,
        payload_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        source: 'ingest',
      });
      expect(stored.occurred_at.toISOString()).toBe('2026-11-20T13:30:00.250Z');
      expect(stored.metadata).toMatchObject({
        tenant_id: 'default',
        actor: expect.stringMatching(/^key_/),
        request_id: 'req-usage-1',
      });
      const keyRow = await api.db.pool.query(
        'SELECT usage_id::text AS id FROM usage_idempotency WHERE idempotency_key = $1',
        [body.idempotency_key],
      );
      expect(keyRow.rows).toEqual([{ id: response.body.id }]);
    });

    it('the same key and payload again (spelled differently) is 202 duplicate with the original id; nothing changes', async () => {
      const body = event();
      const first = await post('/v1/events', body, ingest);
      const respelled = {
        ...body,
        value: 1.5,
        timestamp: new Date(timestamp).toISOString().replace('Z', '+00:00'),
        properties: { trace: null, cached: false, status: 200.0, region: 'eu-west-1' },
      };
      const again = await post('/v1/events', respelled, ingest);
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ id: first.body.id, status: 'duplicate', idempotency_key: body.idempotency_key });
      expect(await recorded('cust_acme', timestamp, body.idempotency_key)).toHaveLength(1);
    });

    it('the same key with another payload is 409 EVENT.IDEMPOTENCY_CONFLICT naming the key and the event; nothing changes', async () => {
      const body = event();
      const first = await post('/v1/events', body, ingest);
      const before = await recorded('cust_acme', timestamp);
      for (const change of [{ value: '2' }, { properties: {} }, { timestamp: iso(-61 * MINUTE) }]) {
        const conflict = expectProblem(
          await post('/v1/events', { ...body, ...change }, ingest),
          409,
          'EVENT.IDEMPOTENCY_CONFLICT',
        );
        expect(conflict).toMatchObject({ idempotency_key: body.idempotency_key, existing_id: first.body.id });
        expect(conflict.detail).toContain(first.body.id);
      }
      expect(await recorded('cust_acme', timestamp)).toEqual(before);
    });

    it('-0 is recorded as 0; values at the limits of DECIMAL(20,10) are accepted', async () => {
      for (const [value, stored] of [
        ['-0', '0'],
        [-0, '0'],
        ['9999999999.9999999999', '9999999999.9999999999'],
        ['0.0000000001', '0.0000000001'],
        [12, '12'],
      ] as const) {
        const body = event({ value });
        expect((await post('/v1/events', body, ingest)).status).toBe(202);
        const [record] = await recorded('cust_acme', timestamp, body.idempotency_key);
        expect((record.data as { value: string }).value).toBe(stored);
      }
    });

    const ZONELESS = new Date(Date.now() - DAY).toISOString().slice(0, 19);
    const invalid: Array<[string, Record<string, unknown>, string[]]> = [
      ['an unknown customer', { customer_id: 'cust_nobody' }, ['customer_id']],
      ['an archived customer', { customer_id: 'cust_old' }, ['customer_id']],
      ['an unknown metric', { metric_key: 'nope' }, ['metric_key']],
      ['an archived metric', { metric_key: 'old_metric' }, ['metric_key']],
      ['no customer_id', { customer_id: undefined }, ['customer_id']],
      ['no value', { value: undefined }, ['value']],
      ['value "NaN"', { value: 'NaN' }, ['value']],
      ['value "Infinity"', { value: 'Infinity' }, ['value']],
      ['value "1e3" (exponent strings)', { value: '1e3' }, ['value']],
      ['30 fractional digits', { value: '0.000000000000000000000000000001' }, ['value']],
      ['11 integer digits (string)', { value: '12345678901' }, ['value']],
      ['11 integer digits (number)', { value: 12345678901 }, ['value']],
      ['a negative value', { value: '-1' }, ['value']],
      ['a boolean value', { value: true }, ['value']],
      ['a timestamp without a zone', { timestamp: ZONELESS }, ['timestamp']],
      ['a timestamp 10 minutes in the future', { timestamp: iso(10 * MINUTE) }, ['timestamp']],
      ['an impossible date', { timestamp: '2026-02-30T00:00:00Z' }, ['timestamp']],
      ['a date only', { timestamp: '2026-11-20' }, ['timestamp']],
      ['an offset beyond +23:59', { timestamp: `${timestamp.slice(0, 19)}+99:99` }, ['timestamp']],
      ['a timestamp 36 days old', { timestamp: iso(-36 * DAY) }, ['timestamp']],
      ['no idempotency_key', { idempotency_key: undefined }, ['idempotency_key']],
      ['an empty idempotency_key', { idempotency_key: '' }, ['idempotency_key']],
      ['a blank idempotency_key', { idempotency_key: '   ' }, ['idempotency_key']],
      ['a 256-character idempotency_key', { idempotency_key: 'k'.repeat(256) }, ['idempotency_key']],
      ['a control character in the key', { idempotency_key: 'a\u0007b' }, ['idempotency_key']],
      ['an unpaired surrogate in the key', { idempotency_key: 'a\ud800b' }, ['idempotency_key']],
      ['nested properties', { properties: { a: { b: 1 } } }, ['properties.a']],
      ['an array property', { properties: { tags: ['x'] } }, ['properties.tags']],
      ['properties as an array', { properties: [1] }, ['properties']],
      [
        '51 properties',
        { properties: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`p${i}`, i])) },
        ['properties'],
      ],
      ['a 65-character property name', { properties: { ['n'.repeat(65)]: 1 } }, [`properties.${'n'.repeat(65)}`]],
      ['a 1025-character property value', { properties: { note: 'x'.repeat(1025) } }, ['properties.note']],
      ['a NUL in a property value', { properties: { note: 'a\u0000b' } }, ['properties.note']],
      ['a "constructor" property', { properties: { constructor: 'x' } }, ['properties.constructor']],
      ['a "prototype" property', { properties: { prototype: 1 } }, ['properties.prototype']],
      ['an unsafe integer property', { properties: { big: 2 ** 60 } }, ['properties.big']],
      [
        'several problems at once',
        { customer_id: 'cust_nobody', value: 'x', timestamp: 'now', properties: { a: {} } },
        ['customer_id', 'value', 'timestamp', 'properties.a'],
      ],
    ];
    it.each(invalid)('422 EVENT.INVALID for %s, naming the field', async (_label, change, fields) => {
      const body = event(change);
      const problem = expectProblem(await post('/v1/events', body, ingest), 422, 'EVENT.INVALID');
      expect(fieldsOf(problem)).toEqual(fields);
      expect(problem.errors.every((e: { message: string }) => e.message.length > 0)).toBe(true);
      if (typeof body.idempotency_key === 'string') {
        const keys = await api.db.pool.query('SELECT 1 FROM usage_idempotency WHERE idempotency_key = $1', [
          body.idempotency_key,
        ]);
        expect(keys.rowCount).toBe(0);
      }
    });

    it('says why a zoneless timestamp or an old one is refused', async () => {
      const zoneless = expectProblem(
        await post('/v1/events', event({ timestamp: ZONELESS }), ingest),
        422,
        'EVENT.INVALID',
      );
      expect(zoneless.errors[0].message).toMatch(/time zone/);
      const old = expectProblem(
        await post('/v1/events', event({ timestamp: iso(-40 * DAY) }), ingest),
        422,
        'EVENT.INVALID',
      );
      expect(old.errors[0].message).toMatch(/backfill/);
    });

    it('422 for 1e400 (a JSON number beyond any double) and for a value of 31 digits', async () => {
      const key = newKey();
      const raw = `{"customer_id":"cust_acme","metric_key":"api_calls","value":1e400,"timestamp":"${timestamp}","idempotency_key":"${key}"}`;
      const problem = expectProblem(
        await api.request('POST', '/v1/events', { rawBody: raw, key: ingest }),
        422,
        'EVENT.INVALID',
      );
      expect(fieldsOf(problem)).toEqual(['value']);
      expect(
        fieldsOf(
          expectProblem(await post('/v1/events', event({ value: '1'.repeat(31) }), ingest), 422, 'EVENT.INVALID'),
        ),
      ).toEqual(['value']);
    });

    it('accepts a timestamp just under 5 minutes ahead and any age up to 35 days', async () => {
      expect((await post('/v1/events', event({ timestamp: iso(4 * MINUTE) }), ingest)).status).toBe(202);
      expect((await post('/v1/events', event({ timestamp: iso(-34 * DAY) }), ingest)).status).toBe(202);
    });

    it('400 for an unknown top-level field and for a __proto__ key (refused by the JSON parser); nothing recorded', async () => {
      const body = event({ colour: 'blue' });
      const unknown = expectProblem(await post('/v1/events', body, ingest), 400, 'REQUEST.VALIDATION_FAILED');
      expect(unknown.errors).toEqual([{ field: 'colour', message: 'unknown field' }]);
      const key = newKey();
      const raw = `{"customer_id":"cust_acme","metric_key":"api_calls","value":1,"timestamp":"${timestamp}","idempotency_key":"${key}","properties":{"__proto__":{"admin":true}}}`;
      expect((await api.request('POST', '/v1/events', { rawBody: raw, key: ingest })).status).toBe(400);
      expect(await recorded('cust_acme', timestamp, key)).toEqual([]);
      expect(await recorded('cust_acme', timestamp, body.idempotency_key as string)).toEqual([]);
    });

    it('1,000 concurrent retries of one key count once: all 202 with one id, 999 duplicates', async () => {
      const body = event();
      const responses = await Promise.all(Array.from({ length: 1000 }, () => post('/v1/events', body, ingest)));
      expect(new Set(responses.map((r) => r.status))).toEqual(new Set([202]));
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      expect(responses.filter((r) => r.body.status === 'accepted')).toHaveLength(1);
      expect(responses.filter((r) => r.body.status === 'duplicate')).toHaveLength(999);
      expect(await recorded('cust_acme', timestamp, body.idempotency_key as string)).toHaveLength(1);
    });

    it('sees catalog changes made on this replica at once (read-your-writes)', async () => {
      expect((await post('/v1/customers', { id: 'cust_new', name: 'New', currency: 'EUR' })).status).toBe(201);
      expect((await post('/v1/events', event({ customer_id: 'cust_new' }), ingest)).status).toBe(202);
      expect((await post('/v1/metrics', { key: 'fresh', name: 'Fresh', aggregation: 'max' })).status).toBe(201);
      expect((await post('/v1/events', event({ metric_key: 'fresh' }), ingest)).status).toBe(202);
      expect((await post('/v1/metrics/fresh/archive', {})).status).toBe(200);
      const archived = expectProblem(
        await post('/v1/events', event({ metric_key: 'fresh' }), ingest),
        422,
        'EVENT.INVALID',
      );
      expect(archived.errors).toEqual([{ field: 'metric_key', message: 'the metric is archived' }]);
      expect((await post('/v1/customers/cust_new/archive', {})).status).toBe(200);
      expect(
        fieldsOf(
          expectProblem(await post('/v1/events', event({ customer_id: 'cust_new' }), ingest), 422, 'EVENT.INVALID'),
        ),
      ).toEqual(['customer_id']);
    });
  });

  describe('POST /v1/events/batch', () => {
    it('207 with one result per event, in order: good, in-batch duplicate and conflict, invalid, earlier key', async () => {
      const earlier = event();
      const earlierId = (await post('/v1/events', earlier, ingest)).body.id;
      const good = event();
      const other = event({ value: '3' });
      const events = [
        good,
        { ...good },
        { ...good, value: '99' },
        event({ value: 'abc' }),
        earlier,
        { ...earlier, value: '42' },
        other,
        'not an object',
        event({ surprise: true }),
      ];
      const response = await post('/v1/events/batch', { events }, ingest);
      expect(response.status).toBe(207);
      const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = response.body.results;
      expect(r0).toEqual({
        index: 0,
        status: 202,
        id: expect.any(String),
        outcome: 'accepted',
        idempotency_key: good.idempotency_key,
      });
      expect(r1).toEqual({
        index: 1,
        status: 202,
        id: r0.id,
        outcome: 'duplicate',
        idempotency_key: good.idempotency_key,
      });
      expect(r2).toMatchObject({
        index: 2,
        status: 409,
        id: r0.id,
        error: {
          code: 'EVENT.IDEMPOTENCY_CONFLICT',
          status: 409,
          existing_id: r0.id,
          idempotency_key: good.idempotency_key,
        },
      });
      expect(r3).toMatchObject({
        index: 3,
        status: 422,
        error: { code: 'EVENT.INVALID', errors: [{ field: 'value' }] },
      });
      expect(r3.id).toBeUndefined();
      expect(r4).toMatchObject({ index: 4, status: 202, id: earlierId, outcome: 'duplicate' });
      expect(r5).toMatchObject({ index: 5, status: 409, id: earlierId, error: { existing_id: earlierId } });
      expect(r6).toMatchObject({ index: 6, status: 202, outcome: 'accepted' });
      expect(r7).toMatchObject({ index: 7, status: 422, error: { code: 'EVENT.INVALID' } });
      expect(r8).toMatchObject({
        index: 8,
        status: 422,
        error: { errors: [{ field: 'surprise', message: 'unknown field' }] },
      });
      expect(response.body.summary).toEqual({ accepted: 2, duplicate: 2, conflict: 2, invalid: 3 });
      expect(response.body.results).toHaveLength(events.length);
      const stored = await recorded('cust_acme', timestamp, good.idempotency_key);
      expect(stored.map((e) => (e.data as { value: string }).value)).toEqual(['1.5']);
      expect(await recorded('cust_acme', timestamp, other.idempotency_key as string)).toHaveLength(1);
      expect(await recorded('cust_acme', timestamp, earlier.idempotency_key as string)).toHaveLength(1);
    });

    it('500 events are one request; 501 is 413 EVENT.BATCH_TOO_LARGE, none is 422, no array is 400', async () => {
      const five = Array.from({ length: 500 }, () => event({ properties: {} }));
      const full = await post('/v1/events/batch', { events: five }, ingest);
      expect(full.status).toBe(207);
      expect(full.body.summary).toEqual({ accepted: 500, duplicate: 0, conflict: 0, invalid: 0 });
      expectProblem(
        await post('/v1/events/batch', { events: [...five, event()] }, ingest),
        413,
        'EVENT.BATCH_TOO_LARGE',
      );
      expectProblem(await post('/v1/events/batch', { events: [] }, ingest), 422, 'EVENT.BATCH_EMPTY');
      const notArray = expectProblem(
        await post('/v1/events/batch', { events: event() }, ingest),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(fieldsOf(notArray)).toEqual(['events']);
      const extra = expectProblem(
        await post('/v1/events/batch', { events: [event()], dry_run: true }, ingest),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(fieldsOf(extra)).toEqual(['dry_run']);
      expectProblem(await post('/v1/events/batch', [event()], ingest), 400, 'REQUEST.INVALID_BODY');
    });
  });

  describe('POST /v1/events/backfill', () => {
    it('records past events of any age with source "backfill" and the reason; still refuses the far future', async () => {
      const ancient = event({ timestamp: '2024-01-15T10:00:00Z' });
      const response = await post(
        '/v1/events/backfill',
        {
          reason: 'gateway logs replayed after the January outage',
          events: [ancient, event({ timestamp: iso(10 * MINUTE) })],
        },
        finance,
      );
      expect(response.status).toBe(207);
      expect(response.body.results[0]).toMatchObject({ status: 202, outcome: 'accepted' });
      expect(response.body.results[1]).toMatchObject({ status: 422, error: { errors: [{ field: 'timestamp' }] } });
      const [stored] = await recorded('cust_acme', '2024-01-15T10:00:00Z', ancient.idempotency_key as string);
      expect(stored.stream).toBe('default:usage-cust_acme-2024-01');
      expect(stored.data).toMatchObject({
        source: 'backfill',
        backfill_reason: 'gateway logs replayed after the January outage',
      });
      // The same key through live ingestion is the same event: a duplicate, not a second count.
      const live = await post('/v1/events/batch', { events: [ancient] }, ingest);
      expect(live.body.results[0]).toMatchObject({
        status: 202,
        outcome: 'duplicate',
        id: response.body.results[0].id,
      });
      // A key not recorded yet is still too old for live ingestion.
      const unrecorded = await post('/v1/events', event({ timestamp: '2024-01-15T10:00:00Z' }), ingest);
      expect(fieldsOf(expectProblem(unrecorded, 422, 'EVENT.INVALID'))).toEqual(['timestamp']);
      const again = await post('/v1/events/backfill', { reason: 'retry', events: [ancient] }, finance);
      expect(again.body.results[0]).toMatchObject({
        status: 202,
        outcome: 'duplicate',
        id: response.body.results[0].id,
      });
    });

    it('needs a reason (400) and a finance or admin key (403)', async () => {
      const missing = expectProblem(
        await post('/v1/events/backfill', { events: [event()] }, finance),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(fieldsOf(missing)).toEqual(['reason']);
      expectProblem(
        await post('/v1/events/backfill', { reason: 'x', events: [event()] }, ingest),
        403,
        'AUTH.FORBIDDEN',
      );
      expect((await post('/v1/events/backfill', { reason: 'x', events: [event()] })).status).toBe(207);
    });
  });

  describe('roles', () => {
    it('ingest and admin keys may record; finance, auditor and publishable keys may not', async () => {
      expect((await post('/v1/events', event())).status).toBe(202);
      expect((await post('/v1/events/batch', { events: [event()] })).status).toBe(207);
      expectProblem(await post('/v1/events', event(), finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/events', event(), auditor), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/events', event(), publishable), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/events/batch', { events: [event()] }, publishable), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/events', event(), null), 401, 'AUTH.UNAUTHENTICATED');
    });

    it('an ingest key can do nothing else', async () => {
      const attempts: Array<[string, string, unknown?]> = [
        ['GET', '/v1/events?customer_id=cust_acme&metric_key=api_calls'],
        ['POST', '/v1/events/00000000-0000-4000-8000-000000000000/void', { reason: 'x' }],
        ['POST', '/v1/events/backfill', { reason: 'x', events: [event()] }],
        ['GET', '/v1/metrics'],
        ['POST', '/v1/metrics', { key: 'by_ingest', name: 'x', aggregation: 'sum' }],
        ['GET', '/v1/customers'],
        ['POST', '/v1/customers', { id: 'by_ingest', name: 'x', currency: 'EUR' }],
        ['GET', '/v1/api-keys'],
        ['POST', '/v1/api-keys', { role: 'admin', kind: 'secret' }],
      ];
      for (const [method, path, body] of attempts) {
        expectProblem(await api.request(method, path, { body, key: ingest }), 403, 'AUTH.FORBIDDEN');
      }
    });
  });

  describe('retries of recorded events after what would refuse them changed', () => {
    it('an archived customer or metric refuses new events, but a retry of a recorded key is its duplicate or 409', async () => {
      expect((await post('/v1/customers', { id: 'cust_gone', name: 'Gone', currency: 'EUR' })).status).toBe(201);
      expect((await post('/v1/metrics', { key: 'gone_metric', name: 'Gone', aggregation: 'sum' })).status).toBe(201);
      const byCustomer = event({ customer_id: 'cust_gone' });
      const byMetric = event({ metric_key: 'gone_metric' });
      const first = await post('/v1/events/batch', { events: [byCustomer, byMetric] }, ingest);
      expect(first.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['accepted', 'accepted']);
      expect((await post('/v1/customers/cust_gone/archive', {})).status).toBe(200);
      expect((await post('/v1/metrics/gone_metric/archive', {})).status).toBe(200);

      const single = await post('/v1/events', byCustomer, ingest);
      expect(single.status).toBe(202);
      expect(single.body).toMatchObject({ status: 'duplicate', id: first.body.results[0].id });
      const conflict = expectProblem(
        await post('/v1/events', { ...byCustomer, value: '2' }, ingest),
        409,
        'EVENT.IDEMPOTENCY_CONFLICT',
      );
      expect(conflict.existing_id).toBe(first.body.results[0].id);

      const batch = await post(
        '/v1/events/batch',
        { events: [byMetric, event({ metric_key: 'gone_metric' }), event({ customer_id: 'cust_gone' })] },
        ingest,
      );
      expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([202, 422, 422]);
      expect(batch.body.results[0]).toMatchObject({ outcome: 'duplicate', id: first.body.results[1].id });
      expect(batch.body.results[1].error.errors).toEqual([{ field: 'metric_key', message: 'the metric is archived' }]);
      expect(await recorded('cust_gone', timestamp)).toHaveLength(1);
    });
  });

  describe('a property a meter reads as the quantity', () => {
    beforeAll(async () => {
      const metrics = await Promise.all([
        post('/v1/metrics', {
          key: 'tokens_in',
          name: 'Tokens',
          aggregation: 'sum',
          field: 'properties.tokens',
          filters: { region: { eq: 'eu' } },
        }),
        post('/v1/metrics', {
          key: 'users_seen',
          name: 'Users',
          aggregation: 'unique_count',
          field: 'properties.tokens',
        }),
      ]);
      expect(metrics.map((r) => r.status)).toEqual([201, 201]);
    });
    const metered = (tokens: unknown, overrides: Record<string, unknown> = {}) =>
      event({ metric_key: 'tokens_in', properties: { region: 'eu', tokens }, ...overrides });

    it("follows value's rules (422 naming it) where the meter reads it, and only there", async () => {
      const refused: Array<[unknown, string]> = [
        [-3, 'must not be negative'],
        ['abc', 'must be a decimal number such as "12.5"'],
        [true, 'must be a decimal number (a string such as "12.5" or a JSON number)'],
        [12_345_678_901.5, 'must have at most 10 digits before the decimal point'],
        ['0.12345678901', 'must have at most 10 digits after the decimal point'],
      ];
      for (const [tokens, message] of refused) {
        const body = expectProblem(await post('/v1/events', metered(tokens), ingest), 422, 'EVENT.INVALID');
        expect(body.errors).toEqual([
          { field: 'properties.tokens', message: `${message} (metric "tokens_in" meters it)` },
        ]);
      }
      const accepted = [
        metered(5),
        metered('2.5'),
        metered(null),
        event({ metric_key: 'tokens_in', properties: { region: 'eu' } }), // no value: counts for count only
        metered('n/a', { properties: { region: 'us', tokens: 'n/a' } }), // outside the filter: not metered
        event({ metric_key: 'users_seen', properties: { tokens: 'abc' } }), // unique_count: any scalar
      ];
      const batch = await post('/v1/events/batch', { events: [...accepted, metered(-1)] }, ingest);
      expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([202, 202, 202, 202, 202, 202, 422]);
    });

    it('a version published since that meters a property does not turn a retry of a recorded event into 422', async () => {
      expect((await post('/v1/metrics', { key: 'later_meter', name: 'Later', aggregation: 'sum' })).status).toBe(201);
      const recordedEvent = event({ metric_key: 'later_meter', properties: { tokens: 'abc' } });
      const first = await post('/v1/events', recordedEvent, ingest);
      expect(first.body.status).toBe('accepted');
      const published = await post('/v1/metrics/later_meter/versions', {
        aggregation: 'sum',
        field: 'properties.tokens',
        effective_from: iso(-2 * DAY),
      });
      expect(published.status).toBe(201);
      const retry = await post('/v1/events', recordedEvent, ingest);
      expect(retry.body).toMatchObject({ status: 'duplicate', id: first.body.id });
      const fresh = await post('/v1/events', { ...recordedEvent, idempotency_key: newKey() }, ingest);
      expect(fieldsOf(expectProblem(fresh, 422, 'EVENT.INVALID'))).toEqual(['properties.tokens']);
    });
  });

  describe('JSON numbers a double cannot hold as written', () => {
    /** The event's JSON with `numbers` written in as raw JSON number tokens in place of '@name' strings. */
    const rawJson = (body: unknown, numbers: Record<string, string>) =>
      Object.entries(numbers).reduce((text, [name, token]) => text.replace(`"@${name}"`, token), JSON.stringify(body));
    const send = (path: string, body: unknown, numbers: Record<string, string>, key = ingest) =>
      api.request('POST', path, { rawBody: rawJson(body, numbers), key });

    it('a value with more digits than a double keeps is recorded exactly, and its string form is its duplicate', async () => {
      const first = event({ value: '@v' });
      const accepted = await send('/v1/events', first, { v: '1234567890.123456789' });
      expect(accepted.body).toMatchObject({ status: 'accepted' });
      const [stored] = await recorded('cust_acme', timestamp, first.idempotency_key as string);
      expect((stored.data as { value: string }).value).toBe('1234567890.123456789');
      const again = await post('/v1/events', { ...first, value: '1234567890.123456789' }, ingest);
      expect(again.body).toMatchObject({ status: 'duplicate', id: accepted.body.id });

      const widest = event({ value: '@v' });
      expect((await send('/v1/events', widest, { v: '9999999999.9999999999' })).status).toBe(202);
      const [top] = await recorded('cust_acme', timestamp, widest.idempotency_key as string);
      expect((top.data as { value: string }).value).toBe('9999999999.9999999999');
    });

    it('a value a double would round into range is 422 on value, as its string would be', async () => {
      for (const [token, message] of [
        ['123456789.12345678901', 'must have at most 10 digits after the decimal point'],
        ['1e-400', 'must have at most 10 digits after the decimal point'],
        ['1e-99999999', 'has too many digits after the decimal point'],
        ['12345678901234567890', 'must have at most 10 digits before the decimal point'],
        ['1e99999999', 'must be a finite number'],
      ]) {
        const body = expectProblem(
          await send('/v1/events', event({ value: '@v' }), { v: token }),
          422,
          'EVENT.INVALID',
        );
        expect(body.errors).toEqual([{ field: 'value', message }]);
      }
    });

    it('a property a double cannot hold is 422 naming it; in a batch only that event is refused', async () => {
      const single = await send('/v1/events', event({ properties: { tokens: '@p' } }), { p: '0.1000000000000000001' });
      expect(expectProblem(single, 422, 'EVENT.INVALID').errors).toEqual([
        {
          field: 'properties.tokens',
          message: '0.1000000000000000001 cannot be kept exactly as a JSON number: send it as a string',
        },
      ]);
      const events = [event(), event({ properties: { n: '@p' } }), event({ value: '@v' })];
      const batch = await send(
        '/v1/events/batch',
        { events },
        { p: '12345678901234567890', v: '1234567890.1234567891' },
      );
      expect(batch.status).toBe(207);
      expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([202, 422, 202]);
      expect(batch.body.results[1].error.errors.map((e: { field: string }) => e.field)).toEqual(['properties.n']);
      const [third] = await recorded('cust_acme', timestamp, events[2].idempotency_key as string);
      expect((third.data as { value: string }).value).toBe('1234567890.1234567891');
    });
  });

  describe('restart', () => {
    it('the write-side dedupe survives a restart: a new app on the same database answers duplicate and conflict', async () => {
      const body = event();
      const first = await post('/v1/events', body, ingest);
      await api.stopApi();
      const second = await startTestApi({ db: api.db });
      try {
        const again = await second.request('POST', '/v1/events', { body, key: ingest });
        expect(again.body).toEqual({ id: first.body.id, status: 'duplicate', idempotency_key: body.idempotency_key });
        expectProblem(
          await second.request('POST', '/v1/events', { body: { ...body, value: '7' }, key: ingest }),
          409,
          'EVENT.IDEMPOTENCY_CONFLICT',
        );
      } finally {
        await second.close();
      }
      expect(await recorded('cust_acme', timestamp, body.idempotency_key as string)).toHaveLength(1);
    });
  });
});
