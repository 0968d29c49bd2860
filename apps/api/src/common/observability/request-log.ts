import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Probes would drown the log. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One JSON line per request, at completion, from Fastify's own per-request logger (it carries the
 * request id as `reqId`). Fastify logs per app instance, where nestjs-pino's pino-http middleware is
 * one per process: several apps in a process (tests, replicas) would share the first one's logger.
 * No headers are logged, so bearer tokens never are.
 */
export class RequestLogController extends LogController {
  constructor() {
    super({ disableRequestLogging: (request) => QUIET_ROUTES.has(request.routeOptions?.url ?? '') });
  }

  override incomingRequest(): void {
    // Only the completion line: it has everything the first one would.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    // Flat fields: `req`/`res` would go through pino's serializers and lose `route`.
    const line = {
      method: request.method,
      url: request.url,
      route: request.routeOptions?.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      ...(error ? { err: error } : {}),
    };
    if (error || reply.statusCode >= 500) reply.log.error(line, 'request failed');
    else reply.log.info(line, 'request completed');
  }
}
