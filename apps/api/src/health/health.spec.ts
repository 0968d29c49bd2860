import type { EventStore } from '#ledger';
import { startTestApi, type TestApi } from '../../../../test/support/api';

describe('operations endpoints', () => {
  let api: TestApi;
  let pingFails = false;
  beforeAll(async () => {
    // Fault injection for /readyz: the store the app sees fails its ping on demand.
    const failingPing = (store: EventStore): EventStore =>
      Object.assign(Object.create(store) as EventStore, {
        ping: () => (pingFails ? Promise.reject(new Error('event store down')) : store.ping()),
      });
    api = await startTestApi({ wrapStore: failingPing });
  });
  afterAll(() => api?.close());

  it('GET /healthz is 200 {status:"ok"} without a key', async () => {
    const response = await api.request('GET', '/healthz', { key: null });
    expect(response).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('GET /readyz is 200 with every check ok, without a key', async () => {
    const response = await api.request('GET', '/readyz', { key: null });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ready',
      checks: ['database', 'event_store', 'migrations', 'key_directory'].map((name) => ({ name, status: 'ok' })),
    });
  });

  it('GET /readyz is 503 problem+json while a migration is pending', async () => {
    const { rows } = await api.db.pool.query("SELECT * FROM schema_migrations WHERE version = '0003'");
    await api.db.pool.query("DELETE FROM schema_migrations WHERE version = '0003'");
    try {
      const response = await api.request('GET', '/readyz', { key: null });
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ code: 'SERVICE.NOT_READY', detail: 'failing checks: migrations' });
      expect(response.body.checks).toContainEqual({ name: 'migrations', status: 'failed', detail: 'pending: 0003' });
      expect(response.headers['retry-after']).toBeDefined();
    } finally {
      await api.db.pool.query(
        'INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)',
        [rows[0].version, rows[0].name, rows[0].checksum, rows[0].applied_at],
      );
    }
    expect((await api.request('GET', '/readyz', { key: null })).status).toBe(200);
  });

  it('GET /readyz is 503 when the event store ping fails', async () => {
    pingFails = true;
    try {
      const response = await api.request('GET', '/readyz', { key: null });
      expect(response.status).toBe(503);
      expect(response.body.checks).toContainEqual({ name: 'event_store', status: 'failed', detail: 'unreachable' });
      expect(response.body.checks).toContainEqual({ name: 'database', status: 'ok' });
    } finally {
      pingFails = false;
    }
  });

  it('GET /metrics has the request histogram labelled by route pattern, not the raw URL', async () => {
    await api.request('GET', '/v1/api-keys/key_metricsprobe00000000');
    const response = await api.request('GET', '/metrics', { key: null });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body as string;
    expect(text).toMatch(
      /^abaxus_http_request_duration_seconds_count\{method="GET",route="\/v1\/api-keys\/:id",status="404"\} [1-9]/m,
    );
    expect(text).not.toContain('key_metricsprobe');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('GET /docs serves Swagger UI and /docs/json lists the routes with bearer auth declared', async () => {
    const ui = await api.request('GET', '/docs', { key: null });
    expect(ui.status).toBe(200);
    expect(ui.body).toContain('swagger-ui');
    const doc = await api.request('GET', '/docs/json', { key: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/v1/api-keys', '/v1/api-keys/{id}', '/v1/tenants']),
    );
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.body.paths['/v1/api-keys'].post.security).toEqual([{ bearer: [] }]);
    expect(doc.body.paths['/v1/api-keys'].post.requestBody).toBeDefined();
  });
});
