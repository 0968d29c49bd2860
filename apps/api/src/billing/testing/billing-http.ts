import type { TestApi, TestResponse } from '../../../../../test/support/api';

/** Shared by the billing HTTP specs (not production code): seeding over the real API. */

export function expectProblem(response: TestResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- problem bodies are indexed freely
  return response.body as any;
}

export interface Keys {
  finance: string;
  auditor: string;
  ingest: string;
  publishable: string;
}

export async function issueKeys(api: TestApi): Promise<Keys> {
  const key = async (role: string, kind = 'secret') =>
    (await api.request('POST', '/v1/api-keys', { body: { role, kind } })).body.key as string;
  return {
    finance: await key('finance'),
    auditor: await key('auditor'),
    ingest: await key('ingest'),
    publishable: await key('admin', 'publishable'),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests index into bodies freely
export async function created(api: TestApi, path: string, body: unknown): Promise<TestResponse<any>> {
  const response = await api.request('POST', path, { body });
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response;
}

export interface UsageInput {
  customer_id: string;
  metric_key: string;
  value: string | number;
  timestamp: string;
  properties?: Record<string, string | number | boolean>;
  idempotency_key?: string;
}

let sequence = 0;

/** Past usage through POST /v1/events/backfill (any age); returns the event ids, in order. */
export async function backfill(api: TestApi, events: UsageInput[]): Promise<string[]> {
  const response = await api.request('POST', '/v1/events/backfill', {
    body: {
      reason: 'billing spec',
      events: events.map((event) => ({ idempotency_key: `k-${++sequence}-${Date.now()}`, properties: {}, ...event })),
    },
  });
  if (response.status !== 207) throw new Error(`backfill: ${response.status} ${JSON.stringify(response.body)}`);
  const results = response.body.results as Array<{ status: number; id?: string }>;
  if (results.some((result) => result.status >= 300)) throw new Error(`backfill: ${JSON.stringify(results)}`);
  return results.map((result) => result.id!);
}

/** Line amounts by charge key. */
export const amountsOf = (calculation: { line_items: Array<{ charge_key: string; amount: string }> }) =>
  Object.fromEntries(calculation.line_items.map((line) => [line.charge_key, line.amount]));
