import { startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';

const apiCalls = {
  key: 'api_calls',
  name: 'API calls',
  unit: 'call',
  aggregation: 'sum',
  field: 'value',
  filters: { endpoint: { not_in: ['/health'] } },
  group_by: ['region'],
};

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const fieldsOf = (body: { errors?: Array<{ field: string }> }) => (body.errors ?? []).map((e) => e.field);

describe('metrics over HTTP', () => {
  let api: TestApi;
  let finance: string;
  let auditor: string;

  const post = (path: string, body: unknown, key?: string | null, headers?: Record<string, string>) =>
    api.request('POST', path, { body, key, headers });
  const eventsOf = async (key: string) => api.store.readStream(`default:metric-${key}`);

  beforeAll(async () => {
    api = await startTestApi();
    finance = (await post('/v1/api-keys', { role: 'finance', kind: 'secret' })).body.key;
    auditor = (await post('/v1/api-keys', { role: 'auditor', kind: 'secret' })).body.key;
  });
  afterAll(() => api?.close());

  describe('POST /v1/metrics', () => {
    it('creates version 1 (from the beginning of time) and answers 201 with the metric', async () => {
      const response = await post('/v1/metrics', apiCalls, undefined, { 'x-request-id': 'req-create-1' });
      expect(response.status).toBe(201);
      expect(response.body).toEqual({
        key: 'api_calls',
        name: 'API calls',
        unit: 'call',
        latest_version: 1,
        versions: [
          {
            version: 1,
            effective_from: null,
            aggregation: 'sum',
            field: 'value',
            percentile: null,
            filters: { endpoint: { not_in: ['/health'] } },
            group_by: ['region'],
            published_at: response.body.created_at,
          },
        ],
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        archived_at: null,
      });
      const [event] = await eventsOf('api_calls');
      expect(event.type).toBe('MetricCreated');
      expect(event.metadata).toMatchObject({
        tenant_id: 'default',
        actor: expect.stringMatching(/^key_/),
        request_id: 'req-create-1',
      });
    });

    it('is idempotent: the same body again is 201 with the same metric and records nothing', async () => {
      const first = await api.request('GET', '/v1/metrics/api_calls');
      const again = await post('/v1/metrics', { ...apiCalls, field: undefined, name: ' API calls ' });
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(await eventsOf('api_calls')).toHaveLength(1);
    });

    it('refuses the same key with a different definition: 409 METRIC.ALREADY_EXISTS', async () => {
      expectProblem(await post('/v1/metrics', { ...apiCalls, aggregation: 'max' }), 409, 'METRIC.ALREADY_EXISTS');
      expectProblem(await post('/v1/metrics', { ...apiCalls, unit: 'request' }), 409, 'METRIC.ALREADY_EXISTS');
    });

    it('accepts every aggregation, unique_count of a property and percentile with its percentile', async () => {
      for (const aggregation of ['sum', 'count', 'max', 'min', 'last', 'first', 'avg']) {
        expect((await post('/v1/metrics', { key: `agg_${aggregation}`, name: aggregation, aggregation })).status).toBe(
          201,
        );
      }
      const users = await post('/v1/metrics', {
        key: 'users',
        name: 'Users',
        aggregation: 'unique_count',
        field: 'properties.user_id',
      });
      expect(users.body.versions[0]).toMatchObject({ aggregation: 'unique_count', field: 'properties.user_id' });
      const latency = await post('/v1/metrics', {
        key: 'latency',
        name: 'Latency',
        unit: 'ms',
        aggregation: 'percentile',
        percentile: 99.9,
      });
      expect(latency.body.versions[0]).toMatchObject({ aggregation: 'percentile', percentile: '99.9' });
      const filtered = await post('/v1/metrics', {
        key: 'filtered',
        name: 'Filtered',
        aggregation: 'count',
        filters: { a: { eq: 'x' }, b: { neq: 1 }, c: { in: [true] }, d: { not_in: ['y'] }, e: { exists: false } },
      });
      expect(filtered.status).toBe(201);
    });

    it('422 METRIC.INVALID names every bad field of the definition', async () => {
      const body = expectProblem(
        await post('/v1/metrics', {
          key: 'bad key',
          name: '',
          aggregation: 'median',
          field: 'props.x',
          filters: { region: { like: 'eu%' } },
          group_by: 'region',
        }),
        422,
        'METRIC.INVALID',
      );
      expect(fieldsOf(body)).toEqual(['key', 'aggregation', 'field', 'filters.region', 'group_by', 'name']);
      expect(
        fieldsOf(
          expectProblem(
            await post('/v1/metrics', { key: 'p', name: 'P', aggregation: 'percentile' }),
            422,
            'METRIC.INVALID',
          ),
        ),
      ).toEqual(['percentile']);
      expect(fieldsOf(expectProblem(await post('/v1/metrics', { name: 'No key' }), 422, 'METRIC.INVALID'))).toEqual([
        'key',
        'aggregation',
      ]);
    });

    it('400 names an unknown field', async () => {
      const body = expectProblem(
        await post('/v1/metrics', { ...apiCalls, key: 'other', colour: 'blue' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(body.errors).toEqual([{ field: 'colour', message: 'unknown field' }]);
    });

    it('401 without a key; 403 for finance and auditor keys', async () => {
      expectProblem(await post('/v1/metrics', apiCalls, null), 401, 'AUTH.UNAUTHENTICATED');
      expectProblem(await post('/v1/metrics', { ...apiCalls, key: 'by_finance' }, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/metrics', { ...apiCalls, key: 'by_auditor' }, auditor), 403, 'AUTH.FORBIDDEN');
      await expect(eventsOf('by_finance')).rejects.toThrow(/not found/);
    });

    it('concurrent creates of one key: identical ones all get the metric, conflicting ones a 409; one event', async () => {
      const body = { key: 'raced', name: 'Raced', aggregation: 'sum' };
      const same = await Promise.all(Array.from({ length: 6 }, () => post('/v1/metrics', body)));
      expect(same.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
      for (const response of same) expect(response.body).toEqual(same[0].body);
      const mixed = await Promise.all(
        ['max', 'min', 'avg'].map((aggregation) => post('/v1/metrics', { ...body, key: 'raced_2', aggregation })),
      );
      expect(mixed.map((r) => r.status).sort()).toEqual([201, 409, 409]);
      expect(await eventsOf('raced')).toHaveLength(1);
      expect(await eventsOf('raced_2')).toHaveLength(1);
    });

    it('replays the first response for a repeated Idempotency-Key', async () => {
      const headers = { 'idempotency-key': 'create-storage-1' };
      const first = await post(
        '/v1/metrics',
        { key: 'storage', name: 'Storage', aggregation: 'max' },
        undefined,
        headers,
      );
      const second = await post(
        '/v1/metrics',
        { key: 'storage', name: 'Storage', aggregation: 'max' },
        undefined,
        headers,
      );
      expect(second.status).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body).toEqual(first.body);
    });
  });

  describe('POST /v1/metrics/:key/versions', () => {
    it('publishes version 2 from effective_from (normalized to UTC) and answers with every version', async () => {
      const response = await post('/v1/metrics/api_calls/versions', {
        aggregation: 'count',
        filters: {},
        effective_from: '2026-03-01T00:00:00-05:00',
      });
      expect(response.status).toBe(201);
      expect(response.body.latest_version).toBe(2);
      expect(
        response.body.versions.map((v: { version: number; effective_from: string | null }) => [
          v.version,
          v.effective_from,
        ]),
      ).toEqual([
        [1, null],
        [2, '2026-03-01T05:00:00.000Z'],
      ]);
      expect(response.body.versions[1]).toMatchObject({
        aggregation: 'count',
        field: 'value',
        filters: {},
        group_by: [],
      });
      // The first version is untouched.
      expect(response.body.versions[0]).toMatchObject({ aggregation: 'sum', group_by: ['region'] });
    });

    it('the same version again is a no-op', async () => {
      const again = await post('/v1/metrics/api_calls/versions', {
        aggregation: 'count',
        effective_from: '2026-03-01T05:00:00Z',
      });
      expect(again.status).toBe(201);
      expect(again.body.latest_version).toBe(2);
      expect((await eventsOf('api_calls')).filter((e) => e.type === 'MetricVersionPublished')).toHaveLength(1);
    });

    it('422 METRIC.INVALID_VERSION names effective_from when it is not later than the previous version', async () => {
      for (const effective_from of ['2026-03-01T05:00:00Z', '2026-01-01T00:00:00Z']) {
        const body = expectProblem(
          await post('/v1/metrics/api_calls/versions', { aggregation: 'max', effective_from }),
          422,
          'METRIC.INVALID_VERSION',
        );
        expect(fieldsOf(body)).toEqual(['effective_from']);
      }
    });

    it('422 METRIC.INVALID names a bad definition and a bad or missing effective_from', async () => {
      const body = expectProblem(
        await post('/v1/metrics/api_calls/versions', {
          aggregation: 'sum',
          percentile: 50,
          effective_from: '2026-13-01',
        }),
        422,
        'METRIC.INVALID',
      );
      expect(fieldsOf(body)).toEqual(['percentile', 'effective_from']);
      expect(
        fieldsOf(
          expectProblem(await post('/v1/metrics/api_calls/versions', { aggregation: 'sum' }), 422, 'METRIC.INVALID'),
        ),
      ).toEqual(['effective_from']);
    });

    it('400 for fields that are not versioned (name, unit, key) or unknown', async () => {
      for (const extra of [{ name: 'Calls' }, { unit: 'req' }, { key: 'api_calls' }, { colour: 'blue' }]) {
        const body = expectProblem(
          await post('/v1/metrics/api_calls/versions', {
            aggregation: 'sum',
            effective_from: '2027-01-01T00:00:00Z',
            ...extra,
          }),
          400,
          'REQUEST.VALIDATION_FAILED',
        );
        expect(fieldsOf(body)).toEqual(Object.keys(extra));
      }
    });

    it('404 for an unknown metric; 403 for a finance key', async () => {
      const version = { aggregation: 'sum', effective_from: '2027-01-01T00:00:00Z' };
      expectProblem(await post('/v1/metrics/nope/versions', version), 404, 'METRIC.NOT_FOUND');
      expectProblem(await post('/v1/metrics/api_calls/versions', version, finance), 403, 'AUTH.FORBIDDEN');
    });
  });

  describe('GET /v1/metrics/:key', () => {
    it('reads the stream: every version, right after the write, for admin, finance and auditor', async () => {
      for (const key of [undefined, finance, auditor]) {
        const response = await api.request('GET', '/v1/metrics/api_calls', { key });
        expect(response.status).toBe(200);
        expect(response.body.versions).toHaveLength(2);
      }
    });

    it('404 METRIC.NOT_FOUND for an unknown key or one no metric can have; 401 without a key', async () => {
      expectProblem(await api.request('GET', '/v1/metrics/nope'), 404, 'METRIC.NOT_FOUND');
      expectProblem(await api.request('GET', `/v1/metrics/${encodeURIComponent('bad key')}`), 404, 'METRIC.NOT_FOUND');
      expectProblem(await api.request('GET', '/v1/metrics/api_calls', { key: null }), 401, 'AUTH.UNAUTHENTICATED');
    });
  });

  describe('POST /v1/metrics/:key/archive', () => {
    it('archives (200, archived_at set, still readable); twice is idempotent; archived metrics take no versions', async () => {
      await post('/v1/metrics', { key: 'old_meter', name: 'Old', aggregation: 'count' });
      const archived = await post('/v1/metrics/old_meter/archive', undefined);
      expect(archived.status).toBe(200);
      expect(archived.body.archived_at).toEqual(expect.any(String));
      const again = await post('/v1/metrics/old_meter/archive', undefined);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(archived.body);
      expect((await eventsOf('old_meter')).map((e) => e.type)).toEqual(['MetricCreated', 'MetricArchived']);
      expect((await api.request('GET', '/v1/metrics/old_meter')).body).toEqual(archived.body);
      expectProblem(
        await post('/v1/metrics/old_meter/versions', { aggregation: 'sum', effective_from: '2027-01-01T00:00:00Z' }),
        409,
        'METRIC.ARCHIVED',
      );
    });

    it('404 for an unknown metric; 403 for finance and auditor keys', async () => {
      expectProblem(await post('/v1/metrics/nope/archive', undefined), 404, 'METRIC.NOT_FOUND');
      expectProblem(await post('/v1/metrics/api_calls/archive', undefined, finance), 403, 'AUTH.FORBIDDEN');
      expectProblem(await post('/v1/metrics/api_calls/archive', undefined, auditor), 403, 'AUTH.FORBIDDEN');
    });
  });

  it('GET /v1/metrics is 503 (not a 500) while the projector has never built the list', async () => {
    const response = expectProblem(await api.request('GET', '/v1/metrics'), 503, 'SERVICE.UNAVAILABLE');
    expect(response.detail).toMatch(/projector/);
  });

  describe('GET /v1/metrics (the metrics read model)', () => {
    let projector: TestProjector;
    beforeAll(async () => {
      projector = await startTestProjector(api, { only: ['metrics'] });
    });
    afterAll(() => projector?.stop());

    it('lists what GET /v1/metrics/:key shows, by key, without archived metrics unless asked', async () => {
      await projector.caughtUp();
      const list = await api.request('GET', '/v1/metrics?limit=100');
      expect(list.status).toBe(200);
      const keys = list.body.data.map((m: { key: string }) => m.key);
      expect(keys).toEqual([...keys].sort());
      expect(keys).toContain('api_calls');
      expect(keys).not.toContain('old_meter');
      expect(list.body.data.find((m: { key: string }) => m.key === 'api_calls')).toEqual(
        (await api.request('GET', '/v1/metrics/api_calls')).body,
      );
      const all = await api.request('GET', '/v1/metrics?limit=100&include_archived=true', { key: auditor });
      expect(all.body.data.find((m: { key: string }) => m.key === 'old_meter')).toEqual(
        (await api.request('GET', '/v1/metrics/old_meter')).body,
      );
      expect((await api.request('GET', '/v1/metrics?include_archived=false&limit=100')).body.data).toHaveLength(
        keys.length,
      );
    });

    it('a new write shows up once the projector has caught up', async () => {
      await post('/v1/metrics', { key: 'zz_late', name: 'Late', aggregation: 'sum' });
      await post('/v1/metrics/zz_late/versions', { aggregation: 'max', effective_from: '2026-05-01T00:00:00Z' });
      await projector.caughtUp();
      const list = await api.request('GET', '/v1/metrics?limit=100', { key: finance });
      expect(list.body.data.find((m: { key: string }) => m.key === 'zz_late').latest_version).toBe(2);
    });

    it('pages with limit and an opaque cursor, without repeats or gaps', async () => {
      const all = (await api.request('GET', '/v1/metrics?limit=100&include_archived=true')).body.data.map(
        (m: { key: string }) => m.key,
      );
      expect(all.length).toBeGreaterThan(8);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const page = await api.request('GET', `/v1/metrics?limit=3&include_archived=true${query}`);
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.data.map((m: { key: string }) => m.key));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(all);
    });

    it('400 for a bad cursor, limit or include_archived, or an unknown parameter', async () => {
      for (const query of ['cursor=garbage', 'limit=0', 'limit=101', 'include_archived=yes', 'sort=key']) {
        const body = expectProblem(await api.request('GET', `/v1/metrics?${query}`), 400, 'REQUEST.VALIDATION_FAILED');
        expect(fieldsOf(body)).toEqual([query.split('=')[0]]);
      }
    });

    it('401 without a key', async () => {
      expectProblem(await api.request('GET', '/v1/metrics', { key: null }), 401, 'AUTH.UNAUTHENTICATED');
    });
  });

  it('documents every metrics endpoint in /docs', async () => {
    const docs = await api.request('GET', '/docs/json', { key: null });
    expect(docs.status).toBe(200);
    const paths = docs.body.paths as Record<string, Record<string, { summary?: string }>>;
    for (const [path, method] of [
      ['/v1/metrics', 'post'],
      ['/v1/metrics', 'get'],
      ['/v1/metrics/{key}', 'get'],
      ['/v1/metrics/{key}/versions', 'post'],
      ['/v1/metrics/{key}/archive', 'post'],
    ]) {
      expect(paths[path]?.[method]?.summary).toEqual(expect.any(String));
    }
    expect(docs.body.components.schemas.MetricView).toBeDefined();
  });
});
