import { DateTime } from 'luxon';
import { AGGREGATIONS, usageChecksum } from '#domain';
import { loadBuiltFile, startTestApi, type TestApi, type TestResponse } from '../../../../test/support/api';
import { startTestProjector, type TestProjector } from '../../../../test/support/projector';
import type * as ProjectorModule from '../../../projector/src';
import { appendUsage, usageRecorded, usageVoided } from '../../../projector/src/usage/testing/usage-fixtures';

/*
 * The usage queries over real HTTP, with the projector running in-process: eventual summary and
 * histogram, exact compute (barrier, checksum, late events), and the parity law summary == compute
 * for every aggregation with a version published mid-period, voids and duplicates.
 */

function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  expect(response.status).toBe(status);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

const TZ = 'America/New_York';

describe('usage over HTTP', () => {
  let api: TestApi;
  let projector: TestProjector;
  let finance: string;
  let publishable: string;
  let ingest: string;

  const post = (path: string, body: unknown, key?: string | null) => api.request('POST', path, { body, key });
  const get = (path: string, key?: string | null) => api.request('GET', path, { key });
  const query = (params: Record<string, string>) => new URLSearchParams(params).toString();
  const summary = (params: Record<string, string>, key?: string) => get(`/v1/usage/summary?${query(params)}`, key);
  const compute = (body: Record<string, unknown>, key?: string) => post('/v1/usage/compute', body, key);

  beforeAll(async () => {
    api = await startTestApi();
    projector = await startTestProjector(api);
    finance = (await post('/v1/api-keys', { role: 'finance', kind: 'secret' })).body.key;
    publishable = (await post('/v1/api-keys', { role: 'auditor', kind: 'publishable' })).body.key;
    ingest = (await post('/v1/api-keys', { role: 'ingest', kind: 'secret' })).body.key;
    expect(
      (await post('/v1/metrics', { key: 'api_calls', name: 'API calls', aggregation: 'sum', group_by: ['region'] }))
        .status,
    ).toBe(201);
    expect((await post('/v1/metrics', { key: 'storage', name: 'Storage', aggregation: 'max' })).status).toBe(201);
    expect((await post('/v1/customers', { id: 'cus_1', name: 'One', currency: 'EUR', timezone: TZ })).status).toBe(201);
  });
  afterAll(async () => {
    await projector?.stop();
    await api?.close();
  });

  const now = () => DateTime.utc();
  const thisMonthInZone = () => {
    const start = now().setZone(TZ).startOf('month');
    return { start: start.toUTC().toISO()!, end: start.plus({ months: 1 }).toUTC().toISO()! };
  };

  describe('the promise: an accepted event is in the next exact answer', () => {
    it('POST /v1/events (202), then at once POST /v1/usage/compute: the event counts, no waiting by the client', async () => {
      const month = thisMonthInZone();
      const timestamp = now().minus({ seconds: 1 }).toISO();
      const before = await compute({
        customer_id: 'cus_1',
        metric_key: 'api_calls',
        period_start: month.start,
        period_end: month.end,
      });
      expect(before.status).toBe(200);
      const accepted = await post(
        '/v1/events',
        {
          customer_id: 'cus_1',
          metric_key: 'api_calls',
          value: '2.5',
          timestamp,
          idempotency_key: 'promise-1',
          properties: { region: 'eu' },
        },
        ingest,
      );
      expect(accepted.status).toBe(202);
      const after = await compute({
        customer_id: 'cus_1',
        metric_key: 'api_calls',
        period_start: month.start,
        period_end: month.end,
      });
      expect(after.status).toBe(200);
      expect(BigInt(after.body.event_count)).toBe(BigInt(before.body.event_count) + 1n);
      expect(Number(after.body.value) - Number(before.body.value ?? 0)).toBeCloseTo(2.5, 10);
      expect(after.body.meta).toMatchObject({
        consistency: 'exact',
        late_event_count: '0',
        meter_versions: [1],
        as_of_position: expect.stringMatching(/^\d+\/\d+$/),
        checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      });
      // A retry of the same event changes nothing.
      const retried = await post(
        '/v1/events',
        {
          customer_id: 'cus_1',
          metric_key: 'api_calls',
          value: '2.5',
          timestamp,
          idempotency_key: 'promise-1',
          properties: { region: 'eu' },
        },
        ingest,
      );
      expect([200, 202, 409]).toContain(retried.status);
      const again = await compute({
        customer_id: 'cus_1',
        metric_key: 'api_calls',
        period_start: month.start,
        period_end: month.end,
      });
      expect(again.body.event_count).toBe(after.body.event_count);
    });
  });

  describe('GET /v1/usage/summary', () => {
    it('defaults to the calendar month in the customer zone without a subscription, and says so', async () => {
      await projector.caughtUp();
      const response = await summary({ customer_id: 'cus_1', metric_key: 'api_calls' });
      expect(response.status).toBe(200);
      const month = thisMonthInZone();
      expect(response.body).toMatchObject({
        customer_id: 'cus_1',
        metric_key: 'api_calls',
        period_start: month.start,
        period_end: month.end,
        value: expect.any(String),
        groups: expect.any(Array),
        meta: {
          consistency: 'eventual',
          lag_seconds: 0,
          period_basis: 'calendar_month',
          source: expect.stringMatching(/^buckets/),
          meter_versions: [1],
        },
      });
      const exact = await compute({
        customer_id: 'cus_1',
        metric_key: 'api_calls',
        period_start: month.start,
        period_end: month.end,
        group_by: ['region'],
      });
      expect(response.body.value).toBe(exact.body.value);
      expect(response.body.groups).toEqual(exact.body.groups);
    });

    it('a repeated summary is answered again only when the read model moved: new events and voids show', async () => {
      const month = thisMonthInZone();
      const params = { customer_id: 'cus_1', metric_key: 'storage', period_start: month.start, period_end: month.end };
      const record = async (key: string, value: string) => {
        const response = await post('/v1/events', {
          customer_id: 'cus_1',
          metric_key: 'storage',
          value,
          timestamp: now().minus({ seconds: 1 }).toISO(),
          idempotency_key: key,
        });
        expect(response.status).toBe(202);
        return response.body.id as string;
      };
      await projector.caughtUp();
      const start = (await summary(params)).body.value as string | null;
      expect((await summary(params)).body.value).toBe(start); // the same read model: the same answer
      const big = await record('cache-1', '1000');
      await projector.caughtUp();
      expect((await summary(params)).body.value).toBe('1000');
      expect((await summary({ customer_id: 'cus_1' })).body.data[1]).toMatchObject({ value: '1000' });
      expect((await post(`/v1/events/${big}/void`, { reason: 'test' }, finance)).status).toBe(200);
      await projector.caughtUp();
      expect((await summary(params)).body.value).toBe(start);
      expect((await summary({ customer_id: 'cus_1' })).body.data[1]).toMatchObject({ value: start });
    });

    it('without metric_key: every metric of the tenant in one response', async () => {
      const response = await summary({ customer_id: 'cus_1' });
      expect(response.status).toBe(200);
      expect(response.body.data.map((m: { metric_key: string }) => m.metric_key)).toEqual(['api_calls', 'storage']);
      expect(response.body.data[1]).toMatchObject({
        metric_key: 'storage',
        value: null,
        // The month starts at local midnight: whole 15-minute UTC buckets, no raw edges.
        source: 'buckets',
      });
      expect(response.body.meta).toMatchObject({ consistency: 'eventual', period_basis: 'calendar_month' });
    });

    it("uses the live subscription's current billing period", async () => {
      expect((await post('/v1/customers', { id: 'cus_sub', name: 'Sub', currency: 'EUR', timezone: TZ })).status).toBe(
        201,
      );
      const plan = await post('/v1/price-plans', {
        key: 'basic',
        name: 'Basic',
        currency: 'EUR',
        billing_interval: 'month',
        charges: [],
        publish: true,
      });
      expect(plan.status).toBe(201);
      const start = now().setZone(TZ).minus({ months: 1 }).set({ day: 10 }).startOf('day');
      const subscription = await post('/v1/subscriptions', {
        customer_id: 'cus_sub',
        plan_key: 'basic',
        start_date: start.toISODate(),
      });
      expect(subscription.status).toBe(201);
      await projector.caughtUp();
      const response = await summary({ customer_id: 'cus_sub', metric_key: 'api_calls' });
      expect(response.status).toBe(200);
      // Anniversary periods from the 10th, local midnight.
      let periodStart = start;
      while (periodStart.plus({ months: 1 }) <= now()) periodStart = periodStart.plus({ months: 1 });
      expect(response.body).toMatchObject({
        period_start: periodStart.toUTC().toISO(),
        period_end: periodStart.plus({ months: 1 }).toUTC().toISO(),
        value: '0',
        meta: { period_basis: 'subscription', subscription_id: subscription.body.id },
      });
    });

    it('publishable keys may read summaries and histograms, never compute', async () => {
      const month = thisMonthInZone();
      expect((await summary({ customer_id: 'cus_1', metric_key: 'api_calls' }, publishable)).status).toBe(200);
      const day = now().startOf('day');
      const histogram = await get(
        `/v1/usage/histogram?${query({ customer_id: 'cus_1', metric_key: 'api_calls', from: day.toISO()!, to: day.plus({ days: 1 }).toISO()!, granularity: 'hour' })}`,
        publishable,
      );
      expect(histogram.status).toBe(200);
      expectProblem(
        await compute(
          { customer_id: 'cus_1', metric_key: 'api_calls', period_start: month.start, period_end: month.end },
          publishable,
        ),
        403,
        'AUTH.FORBIDDEN',
      );
      expect((await summary({ customer_id: 'cus_1', metric_key: 'api_calls' }, finance)).status).toBe(200);
      expectProblem(await summary({ customer_id: 'cus_1', metric_key: 'api_calls' }, ingest), 403, 'AUTH.FORBIDDEN');
    });

    it('names bad fields; unknown metrics and customers are 404', async () => {
      const missing = expectProblem(await summary({ metric_key: 'api_calls' }), 400, 'REQUEST.VALIDATION_FAILED');
      expect(missing.errors.map((e: { field: string }) => e.field)).toContain('customer_id');
      const badInstant = expectProblem(
        await summary({ customer_id: 'cus_1', period_start: 'yesterday', period_end: '2026-03-01T00:00:00Z' }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(badInstant.errors).toEqual([{ field: 'period_start', message: expect.any(String) }]);
      expectProblem(
        await summary({
          customer_id: 'cus_1',
          period_start: '2026-03-02T00:00:00Z',
          period_end: '2026-03-01T00:00:00Z',
        }),
        422,
        'USAGE.INVALID_PERIOD',
      );
      expectProblem(await summary({ customer_id: 'cus_1', metric_key: 'nope' }), 404, 'METRIC.NOT_FOUND');
      expectProblem(await summary({ customer_id: 'nobody', metric_key: 'api_calls' }), 404, 'CUSTOMER.NOT_FOUND');
    });

    it('without metric_key: an archived metric is listed for a customer with usage of it in the period', async () => {
      expect(
        (await post('/v1/customers', { id: 'cus_arch', name: 'Arch', currency: 'EUR', timezone: TZ })).status,
      ).toBe(201);
      for (const key of ['zz_retired_used', 'zz_retired_unused']) {
        expect((await post('/v1/metrics', { key, name: key, aggregation: 'sum' })).status).toBe(201);
      }
      const recorded = await post(
        '/v1/events',
        {
          customer_id: 'cus_arch',
          metric_key: 'zz_retired_used',
          value: '7',
          timestamp: now().minus({ seconds: 1 }).toISO(),
          idempotency_key: 'retired-1',
        },
        ingest,
      );
      expect(recorded.status).toBe(202);
      for (const key of ['zz_retired_used', 'zz_retired_unused']) {
        expect((await post(`/v1/metrics/${key}/archive`, {})).status).toBe(200);
      }
      await projector.caughtUp();
      const keys = async (customer: string) =>
        ((await summary({ customer_id: customer })).body.data as Array<{ metric_key: string; value: string }>).map(
          (m) => [m.metric_key, m.value],
        );
      expect(await keys('cus_arch')).toEqual([
        ['api_calls', '0'],
        ['storage', null],
        ['zz_retired_used', '7'],
      ]);
      expect((await keys('cus_1')).map(([key]) => key)).toEqual(['api_calls', 'storage']);
    });
  });

  describe('POST /v1/usage/compute', () => {
    it('counts late events and flags them, excludes voided ones, counts a duplicate in the log once', async () => {
      await post('/v1/customers', { id: 'cus_late', name: 'Late', currency: 'EUR', timezone: 'UTC' });
      const period = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
      const a = usageRecorded({
        tenant: 'default',
        customer: 'cus_late',
        metric: 'api_calls',
        value: '3',
        timestamp: '2026-03-05T10:00:00.000Z',
        key: 'late-a',
        properties: { region: 'eu' },
      });
      const b = usageRecorded({
        tenant: 'default',
        customer: 'cus_late',
        metric: 'api_calls',
        value: '4',
        timestamp: '2026-03-31T23:59:59.999Z',
        key: 'late-b',
      });
      const voided = usageRecorded({
        tenant: 'default',
        customer: 'cus_late',
        metric: 'api_calls',
        value: '100',
        timestamp: '2026-03-06T00:00:00.000Z',
        key: 'late-c',
      });
      // KurrentDB keeps a retry that slipped through: same key, another event id, another value.
      const duplicate = usageRecorded({
        tenant: 'default',
        customer: 'cus_late',
        metric: 'api_calls',
        value: '50',
        timestamp: '2026-03-05T10:00:00.000Z',
        key: 'late-a',
      });
      await appendUsage(api.store, [a, b, voided, duplicate, usageVoided('default', voided.data)]);
      const response = await compute({
        customer_id: 'cus_late',
        metric_key: 'api_calls',
        period_start: period.start,
        period_end: period.end,
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        customer_id: 'cus_late',
        metric_key: 'api_calls',
        period_start: period.start,
        period_end: period.end,
        value: '7',
        event_count: '2',
        meta: { consistency: 'exact', late_event_count: '2', meter_versions: [1] },
      });
      expect(response.body.meta.checksum).toBe(
        usageChecksum(
          [1],
          [a, b].map((e) => ({ usage_id: e.id, timestamp: e.data.timestamp, value: e.data.value })),
        ),
      );
      // The summary agrees once the projector has caught up.
      await projector.caughtUp();
      const eventual = await summary({
        customer_id: 'cus_late',
        metric_key: 'api_calls',
        period_start: period.start,
        period_end: period.end,
      });
      expect(eventual.body.value).toBe('7');
    });

    it('groups by the requested properties', async () => {
      const response = await compute({
        customer_id: 'cus_late',
        metric_key: 'api_calls',
        period_start: '2026-03-01T00:00:00Z',
        period_end: '2026-04-01T00:00:00Z',
        group_by: ['region'],
      });
      expect(response.body.groups).toEqual([
        { group: { region: 'eu' }, value: '3' },
        { group: { region: null }, value: '4' },
      ]);
    });

    it('answers 503 USAGE.NOT_CAUGHT_UP with Retry-After when the projector cannot catch up in time', async () => {
      await projector.stop();
      try {
        await appendUsage(api.store, [
          usageRecorded({ tenant: 'default', customer: 'cus_1', metric: 'api_calls', timestamp: now().toISO()! }),
        ]);
        const month = thisMonthInZone();
        const response = await compute({
          customer_id: 'cus_1',
          metric_key: 'api_calls',
          period_start: month.start,
          period_end: month.end,
        });
        expectProblem(response, 503, 'USAGE.NOT_CAUGHT_UP');
        expect(response.headers['retry-after']).toBe('2');
        // The eventual summary still answers, and says how far behind it is (the barrier waited 5 s).
        const eventual = await summary({ customer_id: 'cus_1', metric_key: 'api_calls' });
        expect(eventual.status).toBe(200);
        expect(eventual.body.meta.lag_seconds).toBeGreaterThanOrEqual(4);
      } finally {
        projector = await startTestProjector(api);
      }
    });

    it('validates the body', async () => {
      const body = expectProblem(
        await compute({ customer_id: 'cus_1', period_start: 1 }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(
        expect.arrayContaining(['metric_key', 'period_end', 'period_start']),
      );
      expectProblem(
        await compute({
          customer_id: 'cus_1',
          metric_key: 'api_calls',
          period_start: '2026-01-01T00:00:00Z',
          period_end: '2027-06-01T00:00:00Z',
        }),
        422,
        'USAGE.INVALID_PERIOD',
      );
      expectProblem(
        await compute({
          customer_id: 'cus_1',
          metric_key: 'api_calls',
          period_start: '2026-01-01T00:00:00Z',
          period_end: '2026-02-01T00:00:00Z',
          group_by: [],
        }),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
    });
  });

  describe('GET /v1/usage/histogram', () => {
    it('gives one point per UTC hour or day, empty ones included, and refuses unaligned bounds', async () => {
      await projector.caughtUp();
      const path = (params: Record<string, string>) => `/v1/usage/histogram?${query(params)}`;
      const base = { customer_id: 'cus_late', metric_key: 'api_calls' };
      const days = await get(
        path({ ...base, from: '2026-03-04T00:00:00Z', to: '2026-03-07T00:00:00Z', granularity: 'day' }),
      );
      expect(days.status).toBe(200);
      expect(days.body).toMatchObject({
        granularity: 'day',
        from: '2026-03-04T00:00:00.000Z',
        to: '2026-03-07T00:00:00.000Z',
        meta: { consistency: 'eventual', timezone: 'UTC', lag_seconds: 0 },
      });
      expect(days.body.data).toEqual([
        { start: '2026-03-04T00:00:00.000Z', end: '2026-03-05T00:00:00.000Z', value: '0' },
        { start: '2026-03-05T00:00:00.000Z', end: '2026-03-06T00:00:00.000Z', value: '3' },
        { start: '2026-03-06T00:00:00.000Z', end: '2026-03-07T00:00:00.000Z', value: '0' },
      ]);
      const hours = await get(
        path({ ...base, from: '2026-03-05T09:00:00Z', to: '2026-03-05T12:00:00Z', granularity: 'hour' }),
      );
      expect(hours.body.data.map((p: { value: string }) => p.value)).toEqual(['0', '3', '0']);
      const unaligned = expectProblem(
        await get(path({ ...base, from: '2026-03-05T09:30:00Z', to: '2026-03-05T12:00:00Z', granularity: 'hour' })),
        422,
        'USAGE.INVALID_PERIOD',
      );
      expect(unaligned.errors).toEqual([{ field: 'from', message: expect.any(String) }]);
      expectProblem(
        await get(path({ ...base, from: '2026-03-05T00:00:00Z', to: '2026-03-06T00:00:00Z', granularity: 'week' })),
        400,
        'REQUEST.VALIDATION_FAILED',
      );
    });
  });

  describe('parity law over HTTP: summary == compute after catch-up', () => {
    const period = { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' };
    const versionFrom = '2026-02-14T13:07:00Z';

    function rng(seed: number) {
      let a = seed;
      return () => {
        a = (a * 1103515245 + 12345) % 2147483648;
        return a / 2147483648;
      };
    }

    it('for every aggregation, with filters, group_by, voids, duplicates and a version published mid-period', async () => {
      const rand = rng(42);
      const pick = <T>(values: readonly T[]) => values[Math.floor(rand() * values.length)];
      await post('/v1/customers', { id: 'cus_parity', name: 'Parity', currency: 'EUR', timezone: 'Europe/Paris' });
      const keys = AGGREGATIONS.map((aggregation) => `p_${aggregation}`);
      for (const aggregation of AGGREGATIONS) {
        const extra = aggregation === 'percentile' ? { percentile: '95' } : {};
        const field = aggregation === 'unique_count' ? 'properties.user' : 'value';
        expect(
          (
            await post('/v1/metrics', {
              key: `p_${aggregation}`,
              name: aggregation,
              aggregation,
              field,
              filters: { region: { not_in: ['ap'] } },
              group_by: ['region'],
              ...extra,
            })
          ).status,
        ).toBe(201);
      }
      const events = Array.from({ length: 300 }, (_, i) =>
        usageRecorded({
          tenant: 'default',
          customer: 'cus_parity',
          metric: pick(keys),
          value: pick(['1', '2.5', '0', '7', '0.125', '1000']),
          timestamp: new Date(Date.parse(period.start) + Math.floor(rand() * 28 * 86_400_000)).toISOString(),
          key: `parity-${i}`,
          properties: {
            region: pick(['eu', 'us', 'ap']),
            user: pick(['u1', 'u2', 'u3', 'u4']),
            tokens: pick([1, 2, 3, '4.5']),
          },
        }),
      );
      await appendUsage(api.store, events);
      // New versions, effective mid-period in the past: other field and filter, same aggregation.
      for (const aggregation of AGGREGATIONS) {
        const extra = aggregation === 'percentile' ? { percentile: '95' } : {};
        const published = await post(`/v1/metrics/p_${aggregation}/versions`, {
          effective_from: versionFrom,
          aggregation,
          field: aggregation === 'unique_count' ? 'properties.user' : 'properties.tokens',
          filters: { region: { in: ['eu', 'us'] } },
          group_by: ['region'],
          ...extra,
        });
        expect(published.status).toBe(201);
      }
      const duplicates = events.slice(0, 10).map((e) =>
        usageRecorded({
          tenant: 'default',
          customer: 'cus_parity',
          metric: e.data.metric_key,
          value: '999',
          timestamp: e.data.timestamp,
          key: e.data.idempotency_key,
        }),
      );
      const voids = events.filter(() => rand() < 0.1).map((e) => usageVoided('default', e.data));
      await appendUsage(api.store, [...duplicates, ...voids]);
      await projector.caughtUp();

      const results = async () => {
        const out: Record<string, unknown> = {};
        for (const key of keys) {
          const eventual = await summary({
            customer_id: 'cus_parity',
            metric_key: key,
            period_start: period.start,
            period_end: period.end,
          });
          const exact = await compute({
            customer_id: 'cus_parity',
            metric_key: key,
            period_start: period.start,
            period_end: period.end,
            group_by: ['region'],
          });
          expect(eventual.status).toBe(200);
          expect(exact.status).toBe(200);
          expect({ key, value: eventual.body.value, groups: eventual.body.groups }).toEqual({
            key,
            value: exact.body.value,
            groups: exact.body.groups,
          });
          expect(exact.body.meta.meter_versions).toEqual([1, 2]);
          out[key] = { value: exact.body.value, groups: exact.body.groups, checksum: exact.body.meta.checksum };
        }
        return out;
      };
      const before = await results();
      expect(Object.values(before).filter((r) => (r as { value: unknown }).value !== null).length).toBe(keys.length);

      // A forced rebuild from position 0 into fresh tables gives identical answers.
      const built = loadBuiltFile<typeof ProjectorModule>('apps/projector/src/index');
      const pool = api.modules.platform.createPool(api.db.url, { max: 4, applicationName: 'usage-spec-rebuild' });
      const store = new api.modules.ledger.PostgresEventStore(pool);
      try {
        const rebuilt = await built.rebuildProjection({ pool, store, name: 'usage', force: true });
        expect(rebuilt).toMatchObject({ outcome: 'switched', build: 1 });
      } finally {
        await store.close();
        await pool.end();
      }
      await projector.caughtUp();
      expect(await results()).toEqual(before);
    });
  });
});
