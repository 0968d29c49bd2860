import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { DEFAULT_REQUEST_TIMEOUT_MS, type AbaxusConfig } from '#platform';
import { REQUEST_ID_HEADER } from '../observability/request-id';
import { registerProblemTypes, problemType, problemTypeUri } from '../problems/problem-catalog';

registerProblemTypes({
  'REQUEST.TIMEOUT': { status: 408, title: 'The request was not received in time' },
  'REQUEST.HEADERS_TOO_LARGE': { status: 431, title: 'The request headers are too large' },
});

/** Headers arrive in one go from any real client: a trickle is a slowloris. */
const HEADERS_TIMEOUT_MS = 10_000;

export interface ServerLimits {
  /** From the first byte to the last byte of a request (headers and body). */
  requestTimeoutMs: number;
  /** From the first byte to the end of the headers; also an idle new connection's lifetime. */
  headersTimeoutMs: number;
  /** How often Node looks for requests over their time (it checks on a timer, not per socket). */
  checkIntervalMs: number;
}

export function serverLimits(config: AbaxusConfig): ServerLimits {
  const requestTimeoutMs = config.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeoutMs = Math.min(requestTimeoutMs, HEADERS_TIMEOUT_MS);
  // Node's default interval (30 s) would let a request overstay its timeout by that much.
  const checkIntervalMs = Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4)));
  return { requestTimeoutMs, headersTimeoutMs, checkIntervalMs };
}

/**
 * Fastify/Node options that protect the process from clients that send slowly or too much: a
 * request must arrive whole within `requestTimeoutMs` (its headers within 10 s), else 408 and the
 * connection is closed; headers over Node's 16 KiB are 431. Only the time to *receive* a request
 * is bounded: a handler that takes long (an exact compute waiting for the projector) is not cut off.
 */
export function serverOptions(
  config: AbaxusConfig,
  securityHeaders: Readonly<Record<string, string>> = {},
): Pick<FastifyServerOptions, 'requestTimeout' | 'clientErrorHandler'> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const limits = serverLimits(config);
  return {
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    clientErrorHandler: clientErrorAnswer(securityHeaders),
  };
}

function hasUnreadBody(request: FastifyRequest): boolean {
  if (request.raw.complete) return false;
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * A response sent before its request's body was read (a 429 from the rate limit, which runs before
 * body parsing) closes the connection: to keep it alive, Node would read and discard the rest of the
 * body, however large (10 MB measured read in full), for a client we have just refused.
 */
export function closeConnectionsWithUnreadBodies(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (hasUnreadBody(request)) reply.header('connection', 'close');
    done(null, payload);
  });
}

const CLIENT_ERROR_CODES: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST.TIMEOUT',
  HPE_HEADER_OVERFLOW: 'REQUEST.HEADERS_TOO_LARGE',
};

/**
 * Errors Node raises before a request reaches Fastify (timeouts, unparsable or oversized headers):
 * a problem+json answer written on the raw socket, which is then closed. Replaces Fastify's
 * default, whose body is not problem+json. It carries what every other answer carries: the
 * security headers (`securityHeaders`, helmet's) and `X-Request-Id`, the body's `request_id`.
 */
export function clientErrorAnswer(
  securityHeaders: Readonly<Record<string, string>>,
): (error: Error & { code?: string }, socket: Socket) => void {
  const fixed = Object.entries(securityHeaders)
    .filter(([name, value]) => SAFE_HEADER.test(name) && !/[\r\n]/.test(value))
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // As Node's own handler: never write into a response already under way on this socket.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !pending?.headersSent) {
      const code = CLIENT_ERROR_CODES[error.code ?? ''] ?? 'REQUEST.BAD_REQUEST';
      const type = problemType(code)!;
      const requestId = randomUUID();
      const body = JSON.stringify({
        type: problemTypeUri(code),
        title: type.title,
        status: type.status,
        detail: type.title.toLowerCase(),
        code,
        request_id: requestId,
      });
      socket.write(
        `HTTP/1.1 ${type.status} ${STATUS_CODES[type.status]}\r\nContent-Type: application/problem+json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n${REQUEST_ID_HEADER}: ${requestId}\r\n${fixed}` +
          `Connection: close\r\n\r\n${body}`,
      );
    }
    // At once, as Node does: a socket left open would keep feeding the parser, and a slow body that
    // completed after its 408 would still reach its handler.
    socket.destroy();
  };
}

/** An HTTP header name (RFC 9110 token). */
const SAFE_HEADER = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
