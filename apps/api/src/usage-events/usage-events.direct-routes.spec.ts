import { requireNative, startTestApi, type TestApi } from '../../../../test/support/api';

/**
 * POST /v1/events and /v1/events/batch run on direct Fastify handlers (usage-events.direct-routes.ts).
 * Their contracts (validation, idempotency, roles, problem+json) are the ones usage-events.spec.ts
 * checks over HTTP; here: that the direct handlers are really the ones answering, and that they
 * mirror every global enhancer the app has, so a new global guard or interceptor cannot be skipped
 * silently on the hot path.
 */
interface CommandBusLike {
  execute(command: unknown): Promise<unknown>;
}
interface GlobalEnhancers {
  getGlobalGuards(): object[];
  getGlobalRequestGuards(): unknown[];
  getGlobalInterceptors(): object[];
  getGlobalRequestInterceptors(): unknown[];
  getGlobalPipes(): object[];
  getGlobalRequestPipes(): unknown[];
  getGlobalFilters(): object[];
  getGlobalRequestFilters(): unknown[];
  getGlobalPreRequestHooks(): unknown[];
}

const names = (instances: object[]) => instances.map((instance) => instance.constructor.name);

describe('direct ingestion routes', () => {
  let api: TestApi;
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  const event = (key: string) => ({
    customer_id: 'cust_direct',
    metric_key: 'direct_calls',
    value: '2',
    timestamp,
    idempotency_key: key,
  });

  beforeAll(async () => {
    api = await startTestApi();
    const created = await Promise.all([
      api.request('POST', '/v1/customers', { body: { id: 'cust_direct', name: 'Direct', currency: 'EUR' } }),
      api.request('POST', '/v1/metrics', { body: { key: 'direct_calls', name: 'Calls', aggregation: 'sum' } }),
    ]);
    expect(created.map((response) => response.status)).toEqual([201, 201]);
  });
  afterAll(() => api?.close());

  it('answers POST /v1/events and /batch without the command bus; other routes still go through it', async () => {
    const { CommandBus } = requireNative<{ CommandBus: abstract new (...args: never[]) => CommandBusLike }>(
      '@nestjs/cqrs',
    );
    const bus = api.app.get(CommandBus);
    const execute = jest.spyOn(bus, 'execute');
    try {
      const single = await api.request('POST', '/v1/events', { body: event('direct-1') });
      expect(single.status).toBe(202);
      expect(single.body).toMatchObject({ status: 'accepted', idempotency_key: 'direct-1' });
      expect(single.headers['x-request-id']).toBeTruthy();
      const batch = await api.request('POST', '/v1/events/batch', { body: { events: [event('direct-2')] } });
      expect(batch.status).toBe(207);
      expect(batch.body).toMatchObject({ summary: { accepted: 1 } });
      expect(execute).not.toHaveBeenCalled();
      // The spy does see commands sent through Nest's pipeline (so the line above can fail).
      const id = (single.body as { id: string }).id;
      const voided = await api.request('POST', `/v1/events/${id}/void`, { body: { reason: 'spec' } });
      expect(voided.status).toBe(200);
      expect(execute).toHaveBeenCalledTimes(1);
    } finally {
      execute.mockRestore();
    }
  });

  it('answers errors as the global filter does: problem+json with the request id', async () => {
    const anonymous = await api.request('POST', '/v1/events', { body: event('direct-3'), key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(anonymous.body).toMatchObject({
      code: 'AUTH.UNAUTHENTICATED',
      request_id: anonymous.headers['x-request-id'],
    });
    const unknown = await api.request('POST', '/v1/events', { body: { ...event('direct-4'), extra: 1 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'REQUEST.VALIDATION_FAILED', errors: [{ field: 'extra' }] });
  });

  it('mirrors every global enhancer of the app (a new one must be added to the direct handlers)', () => {
    // Nest keeps them in its ApplicationConfig, which it does not expose: read for this check only.
    const config = (api.app as unknown as { config: GlobalEnhancers }).config;
    expect(names(config.getGlobalGuards())).toEqual(['AuthGuard']);
    expect(names(config.getGlobalInterceptors())).toEqual(['IdempotencyInterceptor']);
    expect(names(config.getGlobalPipes())).toEqual(['RequestValidationPipe']);
    expect(names(config.getGlobalFilters())).toEqual(['ProblemDetailsFilter']);
    for (const requestScoped of [
      config.getGlobalRequestGuards(),
      config.getGlobalRequestInterceptors(),
      config.getGlobalRequestPipes(),
      config.getGlobalRequestFilters(),
      config.getGlobalPreRequestHooks(),
    ]) {
      expect(requestScoped).toEqual([]);
    }
  });
});
