import { request } from 'undici';
import { startTestApi, type TestApi } from '../../../../test/support/api';

/*
 * The edge before any route: bodies that are not UTF-8 JSON and URLs the router cannot take. Found
 * by the hostile-input fuzzer (test/fuzz): invalid UTF-8 was stored with replacement characters,
 * a declared latin1 charset was read as UTF-8, and a bad percent-encoding or a path parameter over
 * 100 characters was answered with the router's plain JSON instead of problem+json.
 */
describe('request edge: strict UTF-8 JSON bodies, router errors as problem+json', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  async function send(path: string, body?: Buffer, contentType = 'application/json') {
    const response = await request(`${api.baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${api.adminKey}`, ...(body ? { 'content-type': contentType } : {}) },
      body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, type: String(response.headers['content-type']), body: JSON.parse(text) };
  }
  const head = async () =>
    (await api.db.pool.query<{ head: string }>('SELECT coalesce(max(position), 0)::text AS head FROM events')).rows[0]
      .head;
  const customer = (name: Buffer) =>
    Buffer.concat([Buffer.from('{"id":"cus_utf8","currency":"USD","name":"'), name, Buffer.from('"}')]);

  it('a body with invalid UTF-8 bytes is 400 MALFORMED_JSON and stores nothing', async () => {
    const before = await head();
    for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const response = await send('/v1/customers', customer(Buffer.from(bytes)));
      expect(response).toMatchObject({ status: 400, body: { code: 'REQUEST.MALFORMED_JSON' } });
      expect(response.type).toMatch(/^application\/problem\+json/);
      expect(response.body.detail).toBe('the request body is not valid UTF-8');
    }
    expect(await head()).toBe(before);
  });

  it('valid UTF-8 (multi-byte, with or without a byte order mark, charset=utf-8) is still accepted', async () => {
    const name = Buffer.from('Zoë 😀 株式会社');
    const created = await send('/v1/customers', customer(name), 'application/json; charset=UTF-8');
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Zoë 😀 株式会社');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), customer(name)]);
    const again = await send('/v1/customers', bom); // the identical create answers the customer
    expect(again).toMatchObject({ status: 201, body: { id: 'cus_utf8', name: 'Zoë 😀 株式会社' } });
  });

  it('a declared charset other than UTF-8 is 415', async () => {
    for (const charset of ['latin1', 'utf-16', 'iso-8859-1']) {
      const response = await send('/v1/customers', customer(Buffer.from('x')), `application/json; charset=${charset}`);
      expect(response).toMatchObject({ status: 415, body: { code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE' } });
    }
  });

  it('a malformed percent-encoding in the path is 400 problem+json', async () => {
    const response = await send('/v1/customers/%ff');
    expect(response).toMatchObject({ status: 400, body: { code: 'REQUEST.BAD_REQUEST', status: 400 } });
    expect(response.type).toMatch(/^application\/problem\+json/);
  });

  it('a path parameter over 100 characters is 414 problem+json, without the path echoed back', async () => {
    const response = await send(`/v1/customers/${'a'.repeat(5_000)}`);
    expect(response).toMatchObject({ status: 414, body: { code: 'REQUEST.URI_TOO_LONG', status: 414 } });
    expect(response.type).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(response.body).length).toBeLessThan(1_000);
  });
});
