import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ROOT_LOGGER } from '../tokens';
import { ReplayedResponse } from './replayed-response';
import { toProblem } from './to-problem';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * The only place errors become HTTP responses: route errors, guard and pipe rejections, Fastify's own
 * errors (body parsing, size) and unknown routes all arrive here (Nest routes Fastify's error and
 * not-found handlers through the global filters).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (reply.sent) return;
    if (exception instanceof ReplayedResponse) {
      const type = exception.status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json; charset=utf-8';
      reply
        .status(exception.status)
        .header('idempotent-replayed', 'true')
        .type(type)
        .send(JSON.stringify(exception.body));
      return;
    }
    const problem = toProblem(exception, String(request.id));
    if (problem.unexpected) {
      this.logger.error({ err: exception, reqId: request.id, url: request.url }, 'unexpected error');
    } else if (problem.status === 503) {
      this.logger.warn({ err: exception, reqId: request.id }, 'backing service unavailable');
    }
    reply.status(problem.status).headers(problem.headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.body));
  }
}
