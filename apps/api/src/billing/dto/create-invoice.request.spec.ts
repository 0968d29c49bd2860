import { startTestApi, type TestApi } from '../../../../../test/support/api';

/*
 * Found by test/fuzz: POST /v1/invoices without period_start/period_end (documented as required)
 * drafted an invoice for the subscription's current, unfinished period.
 */
describe('POST /v1/invoices request', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  it('period_start and period_end are required, each named', async () => {
    const response = await api.request('POST', '/v1/invoices', { body: { subscription_id: 'sub_1' } });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(response.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['period_end', 'period_start']);
    const one = await api.request('POST', '/v1/invoices', {
      body: { subscription_id: 'sub_1', period_start: '2026-03-01T00:00:00Z' },
    });
    expect(one.body.errors).toEqual([expect.objectContaining({ field: 'period_end' })]);
  });

  it('with both, the request reaches billing (an unknown subscription is 404)', async () => {
    const response = await api.request('POST', '/v1/invoices', {
      body: { subscription_id: 'sub_1', period_start: '2026-03-01T00:00:00Z', period_end: '2026-04-01T00:00:00Z' },
    });
    expect(response).toMatchObject({ status: 404, body: { code: 'SUBSCRIPTION.NOT_FOUND' } });
  });
});
