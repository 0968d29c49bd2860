import type { ApiKeyRole } from '#domain';
import {
  eventually,
  sendRequest,
  startTestApi,
  type TestApi,
  type TestResponse,
} from '../../../../../test/support/api';

/**
 * Authentication and authorisation over real HTTP, for a representative route of every area:
 * no key and malformed keys (401, never 500), revoked keys (401), publishable keys on writes and
 * ingest keys on admin routes (403), and the finance/auditor boundaries of apps/api/README.md.
 * Another tenant's key is covered by tenancy/tenant-isolation.spec.ts (404 for every resource of
 * the other tenant); it is not repeated here.
 */
type Caller = ApiKeyRole | 'publishable' | 'operator';
interface Route {
  method: string;
  path: string;
  /** Roles of secret keys that pass the guard (the answer may still be 400/404/422: the body is empty). */
  roles: readonly ApiKeyRole[];
  publishable?: true;
  operatorOnly?: true;
}

const READ = ['admin', 'finance', 'auditor'] as const;
const BILLING_WRITE = ['admin', 'finance'] as const;
const INGEST = ['ingest', 'admin'] as const;
const ADMIN = ['admin'] as const;

const ROUTES: Route[] = [
  { method: 'POST', path: '/v1/tenants', roles: ADMIN, operatorOnly: true },
  { method: 'POST', path: '/v1/api-keys', roles: ADMIN },
  { method: 'GET', path: '/v1/api-keys', roles: ['admin', 'auditor'] },
  { method: 'DELETE', path: '/v1/api-keys/key_doesnotexist', roles: ADMIN },
  { method: 'GET', path: '/v1/settings', roles: ADMIN },
  { method: 'POST', path: '/v1/metrics', roles: ADMIN },
  { method: 'GET', path: '/v1/metrics', roles: READ },
  { method: 'POST', path: '/v1/price-plans', roles: ADMIN },
  { method: 'GET', path: '/v1/price-plans', roles: READ },
  { method: 'POST', path: '/v1/customers', roles: ADMIN },
  { method: 'PATCH', path: '/v1/customers/cust_x', roles: BILLING_WRITE },
  { method: 'GET', path: '/v1/customers', roles: READ },
  { method: 'POST', path: '/v1/subscriptions', roles: BILLING_WRITE },
  { method: 'GET', path: '/v1/subscriptions', roles: READ },
  { method: 'POST', path: '/v1/events', roles: INGEST },
  { method: 'POST', path: '/v1/events/batch', roles: INGEST },
  { method: 'POST', path: '/v1/events/backfill', roles: BILLING_WRITE },
  { method: 'POST', path: '/v1/events/ev_x/void', roles: BILLING_WRITE },
  { method: 'GET', path: '/v1/events', roles: READ },
  { method: 'GET', path: '/v1/usage/summary', roles: READ, publishable: true },
  { method: 'POST', path: '/v1/usage/compute', roles: READ },
  { method: 'GET', path: '/v1/entitlements/check', roles: READ, publishable: true },
  { method: 'POST', path: '/v1/pricing/calculate', roles: BILLING_WRITE },
  { method: 'POST', path: '/v1/invoices', roles: BILLING_WRITE },
  { method: 'GET', path: '/v1/invoices', roles: READ },
  { method: 'POST', path: '/v1/invoices/inv_x/close', roles: BILLING_WRITE },
  { method: 'POST', path: '/v1/adjustments', roles: BILLING_WRITE },
  { method: 'GET', path: '/v1/customers/cust_x/balance', roles: READ },
  { method: 'GET', path: '/v1/audit-log', roles: ['auditor', 'admin'] },
];

const label = (route: Route) => `${route.method} ${route.path}`;
const withBody = (route: Route) => (route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} });

/** Authorization headers that must all be 401 (never 500, never 403). */
const MALFORMED: Array<[what: string, header: string]> = [
  ['Bearer x', 'Bearer x'],
  ['Basic credentials', `Basic ${Buffer.from('sk_user:password').toString('base64')}`],
  ['a key with bad characters', 'Bearer sk_abc$%^&*()[]{}<>"\'\\;:,.?~`|+=-abcdefghijkl'],
  ['a 10 KB token', `Bearer sk_${'A'.repeat(10 * 1024)}`],
  ['a well-formed unknown key', `Bearer sk_${'Z'.repeat(40)}`],
  ['a key and trailing garbage', 'Bearer sk_0000000000000000000000000000 extra'],
  ['no scheme', `sk_${'Q'.repeat(40)}`],
  ['an empty bearer', 'Bearer '],
];

function expectProblem(response: TestResponse, status: number, code: string, context: string): void {
  expect({ context, status: response.status }).toEqual({ context, status });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code });
}

/**
 * Past the guard: whatever the route makes of an empty body (400, 404, 422; 503 for reads of
 * projections, as no projector runs here), but not 401/403 and not an internal error.
 */
function expectPassed(response: TestResponse, context: string): void {
  const outcome = { refused: [401, 403].includes(response.status), crashed: response.status === 500 };
  const detail = outcome.refused || outcome.crashed ? { status: response.status, body: response.body } : {};
  expect({ context, ...outcome, ...detail }).toEqual({ context, refused: false, crashed: false });
}

/** The secret appears nowhere in what the server sent back. */
function expectNoSecret(response: TestResponse, secret: string): void {
  const everything = JSON.stringify(response.headers) + JSON.stringify(response.body);
  expect(everything.includes(secret)).toBe(false);
}

describe('authentication and authorisation matrix', () => {
  let api: TestApi;
  const keys = {} as Record<Caller, string>;
  let tenantId: string;
  beforeAll(async () => {
    // Generous limit: this spec sends hundreds of requests from one IP with invalid keys.
    api = await startTestApi({ config: { rateLimitPerSecond: 100_000 } });
    keys.operator = api.adminKey;
    const issue = async (role: ApiKeyRole, kind: 'secret' | 'publishable' = 'secret') => {
      const created = await api.request('POST', '/v1/api-keys', { body: { role, kind } });
      expect(created.status).toBe(201);
      return created.body.key as string;
    };
    // A tenant of its own, so that its admin is not the operator.
    const tenant = await api.request('POST', '/v1/tenants', { body: { name: 'Matrix Co' } });
    expect(tenant.status).toBe(201);
    tenantId = tenant.body.id;
    keys.admin = tenant.body.admin_key;
    const asTenant = (role: ApiKeyRole, kind: 'secret' | 'publishable' = 'secret') =>
      api
        .request('POST', '/v1/api-keys', { key: keys.admin, body: { role, kind } })
        .then((created) => created.body.key as string);
    keys.finance = await asTenant('finance');
    keys.auditor = await asTenant('auditor');
    keys.ingest = await asTenant('ingest');
    // A publishable key with the widest role: the kind alone must keep it to reads of usage/entitlements.
    keys.publishable = await asTenant('admin', 'publishable');
    expect(await issue('auditor')).toMatch(/^sk_/);
  });
  afterAll(() => api?.close());

  it('no key: 401 problem+json with a Bearer challenge on every route', async () => {
    for (const route of ROUTES) {
      const response = await api.request(route.method, route.path, { ...withBody(route), key: null });
      expectProblem(response, 401, 'AUTH.UNAUTHENTICATED', label(route));
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="abaxus"/);
    }
  });

  it.each(MALFORMED)('%s: 401 problem+json on every route, the token never echoed', async (_what, header) => {
    const token = header.replace(/^\S+ /, '');
    for (const route of ROUTES) {
      const response = await sendRequest(api.baseUrl, route.method, route.path, {
        ...withBody(route),
        headers: { authorization: header },
      });
      expectProblem(response, 401, 'AUTH.UNAUTHENTICATED', `${label(route)} with ${_what}`);
      if (token.length >= 8) expectNoSecret(response, token);
    }
  });

  it('a valid key under another scheme, or none, is told to use Bearer; a bad bearer token is told it is not valid', async () => {
    for (const header of [`Basic ${keys.admin}`, keys.admin, `Token ${keys.admin}`]) {
      const response = await sendRequest(api.baseUrl, 'GET', '/v1/customers', { headers: { authorization: header } });
      expectProblem(response, 401, 'AUTH.UNAUTHENTICATED', header.split(' ')[0]);
      expect((response.body as { detail: string }).detail).toBe(
        'send the API key with the Bearer scheme: Authorization: Bearer <key>',
      );
      expectNoSecret(response, keys.admin);
    }
    const unknown = await sendRequest(api.baseUrl, 'GET', '/v1/customers', {
      headers: { authorization: `Bearer sk_${'Z'.repeat(40)}` },
    });
    expect((unknown.body as { detail: string }).detail).toBe('the API key is not valid or has been revoked');
  });

  it('each key role reaches exactly the routes documented for it (403 problem+json elsewhere)', async () => {
    const callers: ApiKeyRole[] = ['admin', 'finance', 'auditor', 'ingest'];
    for (const route of ROUTES) {
      for (const role of callers) {
        const response = await api.request(route.method, route.path, { ...withBody(route), key: keys[role] });
        const context = `${label(route)} as ${role}`;
        if (route.roles.includes(role) && !route.operatorOnly) {
          expectPassed(response, context);
        } else {
          expectProblem(response, 403, 'AUTH.FORBIDDEN', context);
        }
        expectNoSecret(response, keys[role]);
      }
    }
  });

  it('a publishable key is refused (403) on every write and every read but usage and entitlements', async () => {
    for (const route of ROUTES) {
      const response = await api.request(route.method, route.path, { ...withBody(route), key: keys.publishable });
      const context = `${label(route)} with a publishable key`;
      if (route.publishable) {
        expectPassed(response, context);
      } else {
        expectProblem(response, 403, 'AUTH.FORBIDDEN', context);
      }
      expectNoSecret(response, keys.publishable);
    }
  });

  it('only the operator (admin key of the default tenant) may create tenants', async () => {
    const byOperator = await api.request('POST', '/v1/tenants', { body: { name: 'Operator Made' } });
    expect(byOperator.status).toBe(201);
    const byTenantAdmin = await api.request('POST', '/v1/tenants', { key: keys.admin, body: { name: 'Not Allowed' } });
    expectProblem(byTenantAdmin, 403, 'AUTH.FORBIDDEN', 'POST /v1/tenants as a tenant admin');
  });

  it('a revoked key is 401 on every route: at once on this replica, and when revoked elsewhere', async () => {
    const issue = () =>
      api.request('POST', '/v1/api-keys', { key: keys.admin, body: { role: 'admin', kind: 'secret' } });
    const here = (await issue()).body;
    expect((await api.request('DELETE', `/v1/api-keys/${here.id}`, { key: keys.admin })).status).toBe(200);
    for (const route of ROUTES) {
      const response = await api.request(route.method, route.path, { ...withBody(route), key: here.key });
      expectProblem(response, 401, 'AUTH.UNAUTHENTICATED', `${label(route)} with a revoked key`);
      expectNoSecret(response, here.key);
    }

    // Revoked without this replica's HTTP API (another replica, the CLI): it follows the event log.
    const elsewhere = (await issue()).body;
    expect((await api.request('GET', '/v1/api-keys', { key: elsewhere.key })).status).toBe(200);
    await api.modules.api.revokeApiKey({ store: api.store, tenantId, keyId: elsewhere.id, actor: 'auth-matrix-spec' });
    await eventually(
      async () => (await api.request('GET', '/v1/api-keys', { key: elsewhere.key })).status === 401,
      'the revocation to reach the key directory',
      5_000,
    );
  });
});
