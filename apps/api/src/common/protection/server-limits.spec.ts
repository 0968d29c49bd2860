import type { Socket } from 'node:net';
import type { EventStore } from '#ledger';
import { eventually, startTestApi, type TestApi } from '../../../../../test/support/api';
import { openRawClient, type RawClient } from '../../../../../test/support/raw-http';

const TEN_MB = 10 * 1024 * 1024;
const BODY_LIMIT = 1_048_576;
/** Small, so that a dribbling client is cut off within the test (production: 30 s). */
const REQUEST_TIMEOUT_MS = 1_000;

function expectProblem(answer: ReturnType<RawClient['answer']>, status: number, code: string): void {
  expect(answer?.status).toBe(status);
  expect(answer?.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(answer!.body)).toMatchObject({ status, code });
}

/** Sends `total` bytes in `chunk`-sized writes until done or the server hangs up; returns the bytes sent. */
async function pump(client: RawClient, total: number, chunk = 64 * 1024): Promise<number> {
  const piece = Buffer.alloc(chunk, 0x61);
  let sent = 0;
  while (sent < total && !client.isClosed() && client.answer() === undefined) {
    if (!(await client.write(piece.subarray(0, Math.min(chunk, total - sent))))) break;
    sent += Math.min(chunk, total - sent);
  }
  return sent;
}

/** Writes `text` one byte every `everyMs` until the server answers or hangs up. */
async function dribble(client: RawClient, text: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const byte of text) {
    if (client.isClosed() || client.answer() !== undefined) break;
    await client.write(byte);
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}

const POST_EVENTS_HEAD = (key: string, extra: string) =>
  `POST /v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${key}\r\n` +
  `Content-Type: application/json\r\n${extra}\r\n`;

describe('request size limits and slow clients', () => {
  let api: TestApi;
  let slowReads = false;
  /** The server side of every connection, to count the bytes it actually read. */
  const serverSockets: Socket[] = [];
  const peerPorts = new Map<Socket, number | undefined>();
  beforeAll(async () => {
    const slowable = (store: EventStore): EventStore =>
      Object.assign(Object.create(store) as EventStore, {
        readStream: async (...args: Parameters<EventStore['readStream']>) => {
          if (slowReads) await new Promise((resolve) => setTimeout(resolve, 2 * REQUEST_TIMEOUT_MS));
          return store.readStream(...args);
        },
      });
    api = await startTestApi({
      config: { requestTimeoutMs: REQUEST_TIMEOUT_MS, bodyLimitBytes: BODY_LIMIT },
      wrapStore: slowable,
    });
    api.app.getHttpServer().on('connection', (socket: Socket) => {
      serverSockets.push(socket);
      peerPorts.set(socket, socket.remotePort); // a destroyed socket forgets its address
    });
  });
  afterAll(() => api?.close());

  const lastServerSocket = () => serverSockets[serverSockets.length - 1]!;

  it('refuses a 10 MB body announced by Content-Length with 413 before reading it', async () => {
    const client = await openRawClient(api.baseUrl);
    await client.write(POST_EVENTS_HEAD(api.adminKey, `Content-Length: ${TEN_MB}\r\n`));
    const sent = await pump(client, TEN_MB);
    await eventually(async () => client.answer() !== undefined, 'the 413');
    expectProblem(client.answer(), 413, 'REQUEST.BODY_TOO_LARGE');
    expect(client.answer()!.headers.connection).toBe('close');
    await client.closed;
    // The process read (and so held) at most a small part of it: the rest was never accepted.
    expect(lastServerSocket().bytesRead).toBeLessThan(2 * BODY_LIMIT);
    expect(sent).toBeLessThan(TEN_MB);
  });

  it('refuses a 10 MB chunked body with 413 once the limit is passed, without reading the rest', async () => {
    const client = await openRawClient(api.baseUrl);
    await client.write(POST_EVENTS_HEAD(api.adminKey, 'Transfer-Encoding: chunked\r\n'));
    const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
    let sent = 0;
    while (sent < TEN_MB && client.answer() === undefined && (await client.write(chunk))) sent += 0x10000;
    await eventually(async () => client.answer() !== undefined, 'the 413');
    expectProblem(client.answer(), 413, 'REQUEST.BODY_TOO_LARGE');
    await client.closed;
    expect(lastServerSocket().bytesRead).toBeLessThan(3 * BODY_LIMIT);
  });

  it('cuts off a body sent slower than the request timeout (408), while serving others; the request never runs', async () => {
    const setup = await Promise.all([
      api.request('POST', '/v1/customers', { body: { id: 'cust_slow', name: 'Slow', currency: 'EUR' } }),
      api.request('POST', '/v1/metrics', { body: { key: 'slow_calls', name: 'Slow calls', aggregation: 'sum' } }),
    ]);
    expect(setup.map((r) => r.status)).toEqual([201, 201]);
    const event = {
      customer_id: 'cust_slow',
      metric_key: 'slow_calls',
      value: '1',
      timestamp: new Date().toISOString(),
      idempotency_key: 'slow-1',
    };
    const body = JSON.stringify(event);
    // Half-open: it goes on sending after the server's answer, as a hostile client may.
    const client = await openRawClient(api.baseUrl, { allowHalfOpen: true });
    await client.write(POST_EVENTS_HEAD(api.adminKey, `Content-Length: ${Buffer.byteLength(body)}\r\n`));
    const dribbling = dribble(client, body, 100); // ~15 s for the whole body
    // Meanwhile another connection is served normally.
    expect((await api.request('GET', '/v1/api-keys')).status).toBe(200);
    const sent = await dribbling;
    expect(sent).toBeLessThan(body.length);
    expectProblem(client.answer(), 408, 'REQUEST.TIMEOUT');
    expect(client.answer()!.headers.connection).toBe('close');
    // The server side is gone with the answer: the rest of the body, sent now, reaches no parser.
    const serverSide = serverSockets.find((socket) => peerPorts.get(socket) === client.localPort);
    expect(serverSide).toBeDefined();
    expect(serverSide?.destroyed).toBe(true);
    await client.write(body.slice(sent));
    client.socket.end();
    await client.closed;
    const retried = await api.request('POST', '/v1/events', { body: event });
    expect(retried).toMatchObject({ status: 202, body: { status: 'accepted' } });
  });

  it('closes a connection whose headers trickle in (slowloris), and one that sends nothing', async () => {
    const slowloris = await openRawClient(api.baseUrl);
    const idle = await openRawClient(api.baseUrl);
    const head =
      'GET /v1/api-keys HTTP/1.1\r\nHost: localhost\r\n' + 'X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(5);
    const sent = await dribble(slowloris, head, 50); // ~9 s for all of it
    expect(sent).toBeLessThan(head.length);
    expectProblem(slowloris.answer(), 408, 'REQUEST.TIMEOUT');
    await slowloris.closed;
    await idle.closed;
    expect(idle.isClosed()).toBe(true);
  });

  it('answers 431 to a huge header and to too many headers, as problem+json', async () => {
    const huge = await openRawClient(api.baseUrl);
    await huge.write(`GET /v1/api-keys HTTP/1.1\r\nHost: localhost\r\nX-Huge: ${'a'.repeat(20_000)}\r\n\r\n`);
    await huge.closed;
    expectProblem(huge.answer(), 431, 'REQUEST.HEADERS_TOO_LARGE');

    // Node drops headers past the 2,000th silently: what protects is their total size (16 KiB).
    const many = await openRawClient(api.baseUrl);
    const headers = Array.from({ length: 3_000 }, (_, i) => `X-Header-Number-${i}: value\r\n`).join('');
    await many.write(`GET /v1/api-keys HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
    await many.closed;
    expectProblem(many.answer(), 431, 'REQUEST.HEADERS_TOO_LARGE');
  });

  it('bounds only the time to receive a request: a slow handler still answers', async () => {
    slowReads = true;
    try {
      const created = await api.request('POST', '/v1/api-keys', { body: { role: 'auditor', kind: 'secret' } });
      expect(created.status).toBe(201);
    } finally {
      slowReads = false;
    }
  });
});
