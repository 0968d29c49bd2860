import { startTestApi, type TestApi, type TestResponse } from '../../../../../test/support/api';
import { openRawClient } from '../../../../../test/support/raw-http';

function expectSecurityHeaders(response: Pick<TestResponse, 'headers'>): void {
  expect(response.headers).toMatchObject({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-dns-prefetch-control': 'off',
  });
  expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'self'");
  expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  expect(response.headers).not.toHaveProperty('x-powered-by');
}

/** Source URLs of `<script src>` and `<link href>` in an HTML page, resolved against `page`. */
function assetUrls(html: string, page: string): string[] {
  const urls = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)=["']([^"']+)["']/g)].map((m) => m[1]!);
  return urls.map((url) => new URL(url, page).pathname);
}

describe('security headers', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  it('are on JSON answers, errors and probes alike', async () => {
    expectSecurityHeaders(await api.request('GET', '/v1/api-keys'));
    expectSecurityHeaders(await api.request('GET', '/v1/api-keys', { key: null }));
    expectSecurityHeaders(await api.request('GET', '/v1/no-such-route'));
    expectSecurityHeaders(await api.request('GET', '/healthz', { key: null }));
  });

  it("are on the router's answers (a malformed path), with the request id of the body", async () => {
    for (const path of ['/v1/customers/%ff', `/v1/customers/${'a'.repeat(500)}`]) {
      const response = await api.request<{ request_id: string }>('GET', path);
      expect([400, 414]).toContain(response.status);
      expectSecurityHeaders(response);
      expect(response.headers['x-request-id']).toBe(response.body.request_id);
    }
  });

  it('are on answers written to the raw socket (headers too large, an unparsable request)', async () => {
    const requests = [
      `GET /v1/api-keys HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
      'NOT A REQUEST\r\n\r\n',
    ];
    for (const [index, request] of requests.entries()) {
      const client = await openRawClient(api.baseUrl);
      await client.write(request);
      await client.closed;
      const answer = client.answer();
      expect(answer?.status).toBe(index === 0 ? 431 : 400);
      expectSecurityHeaders(answer!);
      const body = JSON.parse(answer!.body) as { request_id: string };
      expect(answer!.headers['x-request-id']).toBe(body.request_id);
    }
  });

  it('the Swagger UI at /docs renders: its page, scripts, styles and the OpenAPI document load under its CSP', async () => {
    const page = await api.request('GET', '/docs', { key: null });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expectSecurityHeaders(page);
    const csp = page.headers['content-security-policy']!;
    // What the page needs: its own scripts, its inline <style>, data: images, fetches to itself.
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/style-src 'self'[^;]*'unsafe-inline'/);
    expect(csp).toMatch(/img-src 'self' data:/);
    expect(csp).not.toContain('upgrade-insecure-requests');
    // Every asset the page references is same-origin (allowed by 'self') and loads.
    const assets = assetUrls(String(page.body), `${api.baseUrl}/docs`);
    expect(assets).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/swagger-ui-bundle\.js$/),
        expect.stringMatching(/swagger-ui-init\.js$/),
        expect.stringMatching(/swagger-ui\.css$/),
      ]),
    );
    expect(String(page.body)).not.toMatch(/<script>(?!\s*<\/script>)/); // no inline script: CSP would block it
    for (const asset of assets) {
      const response = await api.request('GET', asset, { key: null });
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expectSecurityHeaders(response);
    }
    const init = await api.request('GET', '/docs/swagger-ui-init.js', { key: null });
    expect(String(init.body)).toContain('SwaggerUIBundle');
    const document = await api.request('GET', '/docs/json', { key: null });
    expect(document.status).toBe(200);
    expect(document.body).toMatchObject({ openapi: expect.any(String), paths: expect.any(Object) });
  });
});
