import { request } from 'undici';
import { startTestApi, type TestApi } from '../../../../test/support/api';
import { mayHoldInexactNumber } from './exact-numbers';

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

  it('a JSON number a double cannot hold is 422 INEXACT_NUMBER naming it, on a route that does not take it', async () => {
    const before = await head();
    const body = Buffer.from(
      '{"id":"cus_inexact","currency":"USD","name":"N","metadata":{"n":12345678901234567890,"m":0.1000000000000000001,"ok":0.1}}',
    );
    const response = await send('/v1/customers', body);
    expect(response).toMatchObject({ status: 422, body: { code: 'REQUEST.INEXACT_NUMBER' } });
    expect(response.type).toMatch(/^application\/problem\+json/);
    expect(response.body.errors).toEqual([
      {
        field: 'metadata.n',
        message: '12345678901234567890 cannot be kept exactly as a JSON number: send it as a string',
      },
      {
        field: 'metadata.m',
        message: '0.1000000000000000001 cannot be kept exactly as a JSON number: send it as a string',
      },
    ]);
    expect(await head()).toBe(before);
  });

  it('long digit runs in strings, and long numbers a double holds, are parsed as before', async () => {
    const body = Buffer.from(
      '{"id":"cus_digits","currency":"USD","name":"12345678901234567890","metadata":{"n":1.000000000000000,"e":1e100}}',
    );
    const response = await send('/v1/customers', body);
    expect(response).toMatchObject({
      status: 201,
      body: { name: '12345678901234567890', metadata: { n: 1, e: 1e100 } },
    });
  });

  it('a key repeated with another value in a body that needs the exact parse is 400, not resolved silently', async () => {
    const body = Buffer.from(
      '{"id":"cus_twice","currency":"USD","name":"A","name":"B","metadata":{"n":12345678901234567890}}',
    );
    const response = await send('/v1/customers', body);
    expect(response).toMatchObject({ status: 400, body: { code: 'REQUEST.MALFORMED_JSON' } });
    expect(response.body.detail).toMatch(/ambiguous: Duplicate key 'name'/);
  });
});

describe('mayHoldInexactNumber: the scan that decides on a second, exact parse', () => {
  const reference = /[\d.]{16}|\d[eE]-\d{3}/;

  it('finds exactly what a full regex scan finds, on random texts of digits, points and other characters', () => {
    const alphabet = '0123456789..........eE-+"a,:{}';
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 20_000; round++) {
      // Mostly digits, so runs of every length around 16 come up.
      let text = '';
      for (let length = random(80); text.length < length;) {
        text += random(4) === 0 ? alphabet[random(alphabet.length)] : String(random(10));
      }
      expect([text, mayHoldInexactNumber(text)]).toEqual([text, reference.test(text)]);
    }
  });

  it('a run of 16 at either end, or a tiny exponent; not a 15-digit number or a two-digit exponent', () => {
    expect(mayHoldInexactNumber('1234567890123456')).toBe(true);
    expect(mayHoldInexactNumber('{"a":1,"b":123456789.0123456}')).toBe(true);
    expect(mayHoldInexactNumber('{"a":1e-400}')).toBe(true);
    expect(mayHoldInexactNumber('{"a":123456789012345,"b":1e-99,"c":"pre-paid"}')).toBe(false);
  });
});
