import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiProblem } from '../problems/api-problem';
import { authenticateRequest } from '../auth/auth.guard';
import type { AuthContext } from '../auth/key-directory';

/** Probes and scrapes must answer while a client is being throttled. */
export const RATE_LIMIT_EXEMPT_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const WINDOW_MS = 1_000;
/** Distinct keys and IPs remembered per window; beyond that the least recent start over. */
const TRACKED_CALLERS = 10_000;

export type Authenticate = (token: string) => AuthContext | null;

/**
 * Who a request counts against: the API key's id when the bearer token is a valid key (never the raw
 * key, which would sit in memory as a map key), else the client's IP. An invalid or revoked key thus
 * counts against its IP, so cycling random tokens does not escape the limit.
 */
export function rateLimitKey(request: FastifyRequest, authenticate: Authenticate): string {
  // Remembered for the request: the guard that runs next does not hash the key again.
  const caller = authenticateRequest(request, authenticate);
  return caller ? `key:${caller.keyId}` : `ip:${request.ip}`;
}

/**
 * `perSecond` requests per caller in fixed one-second windows, counted in this process (each API
 * replica counts on its own). Runs on `onRequest`, before the body is read: a throttled caller's
 * body is never parsed. Must be registered before the routes it limits.
 */
export async function registerRateLimit(
  fastify: FastifyInstance,
  perSecond: number,
  authenticate: Authenticate,
): Promise<void> {
  // Routes marked `rateLimit: false` get no hook at all (an allowList would still run the key lookup).
  fastify.addHook('onRoute', (route) => {
    if (RATE_LIMIT_EXEMPT_ROUTES.has(route.url)) route.config = { ...route.config, rateLimit: false };
  });
  await fastify.register(rateLimit, {
    global: true,
    max: perSecond,
    timeWindow: WINDOW_MS,
    cache: TRACKED_CALLERS,
    hook: 'onRequest',
    keyGenerator: (request) => rateLimitKey(request, authenticate),
    // Remaining-quota headers on every response cost more than they tell at one-second windows.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    addHeaders: {
      'x-ratelimit-limit': true,
      'x-ratelimit-remaining': true,
      'x-ratelimit-reset': true,
      'retry-after': true,
    },
    errorResponseBuilder: (_request, context) => {
      const seconds = String(Math.max(1, Math.ceil(context.ttl / 1000)));
      return new ApiProblem('REQUEST.RATE_LIMITED', `more than ${context.max} requests per second; retry later`, {
        headers: { 'retry-after': seconds },
      });
    },
  });
}
