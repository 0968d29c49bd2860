import {
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  type Type,
  type CanActivate,
  type ExceptionFilter,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { isObservable, lastValueFrom } from 'rxjs';
import { AuthGuard, type AuthenticatedRequest } from '../common/auth/auth.guard';
import type { AuthContext } from '../common/auth/key-directory';
import { ProblemDetailsFilter } from '../common/problems/problem-details.filter';
import { DIRECT_HANDLER, type DirectHandlerName } from './direct-handler.decorator';
import { RecordUsage, RecordUsageHandler } from './record-usage.handler';
import { RecordUsageBatch, RecordUsageBatchHandler } from './record-usage-batch.handler';
import { checkEventBody, parseBatchEnvelope } from './usage-batch.envelope';
import { UsageEventsController } from './usage-events.controller';

/** What a direct route does once the caller is authenticated and allowed: the response body. */
type Serve = (caller: AuthContext, requestId: string, body: unknown) => Promise<unknown>;

/**
 * POST /v1/events and /v1/events/batch without Nest's per-request pipeline (router context, rxjs,
 * the command bus), which measured as the largest share of the API's CPU per single event. Nest
 * still registers the routes (path, @HttpCode, @Roles, OpenAPI); when Fastify adds a route marked
 * @DirectHandler, its handler is replaced by one that runs what Nest's global enhancers do on these
 * routes, with the same instances' logic:
 *   - AuthGuard (401/403, roles and key kinds from the controller method's decorators);
 *   - the global pipe: a no-op here (the body is `unknown`, checked by checkEventBody / the envelope);
 *   - IdempotencyInterceptor: skipped, as @NoIdempotencyKeyHeader makes it skip these routes;
 *   - ProblemDetailsFilter for anything thrown (problem+json, 503 mapping, error logging).
 * Fastify's own hooks (request id, rate limit, security headers, metrics, access log, nestjs-pino's
 * middleware) are per instance or per route and run exactly as for any other route.
 * A new global guard or interceptor must be mirrored here (usage-events.direct-routes.spec.ts lists them).
 */
@Injectable()
export class UsageEventsDirectRoutes {
  private installed = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: AuthGuard,
    private readonly filter: ProblemDetailsFilter,
    private readonly recordHandler: RecordUsageHandler,
    private readonly batchHandler: RecordUsageBatchHandler,
  ) {}

  /** Must run before Nest registers its routes (UsageEventsModule.configure does). */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRoute', (route) => {
      const name = (route.config as Record<string, unknown> | undefined)?.[DIRECT_HANDLER];
      if (name !== undefined) route.handler = this.handlerFor(name as DirectHandlerName);
    });
  }

  private handlerFor(name: DirectHandlerName): RouteHandlerMethod {
    const controller = UsageEventsController.prototype;
    switch (name) {
      case 'record':
        return this.direct(controller.record, (caller, requestId, body) =>
          this.recordHandler.execute(new RecordUsage(caller, requestId, checkEventBody(body))),
        );
      case 'batch':
        return this.direct(controller.batch, (caller, requestId, body) =>
          this.batchHandler.execute(
            new RecordUsageBatch(caller, requestId, parseBatchEnvelope(body, false).events, { kind: 'ingest' }),
          ),
        );
      default: {
        const unknown: never = name;
        throw new Error(`no direct handler named ${String(unknown)}`);
      }
    }
  }

  private direct(method: (...args: never[]) => unknown, serve: Serve): RouteHandlerMethod {
    const status = Reflect.getMetadata(HTTP_CODE_METADATA, method) as number | undefined;
    if (status === undefined) throw new Error(`${method.name}: a direct route declares its status with @HttpCode`);
    const guard: CanActivate = this.guard;
    const filter: ExceptionFilter = this.filter;
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const context = new DirectHttpContext(request, reply, UsageEventsController, method);
      try {
        if (!(await allows(guard.canActivate(context)))) throw new ForbiddenException();
        const caller = (request as AuthenticatedRequest).auth!;
        const body = await serve(caller, String(request.id), request.body);
        if (!reply.sent) reply.code(status).send(body);
      } catch (error) {
        filter.catch(error, context);
      }
      return reply;
    };
  }
}

async function allows(verdict: ReturnType<CanActivate['canActivate']>): Promise<boolean> {
  return isObservable(verdict) ? lastValueFrom(verdict) : verdict;
}

/** The ExecutionContext Nest would build for an HTTP route (guards and filters read only this). */
class DirectHttpContext implements ExecutionContext {
  private readonly args: [FastifyRequest, FastifyReply];

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    private readonly controller: Type,
    private readonly handler: (...args: never[]) => unknown,
  ) {
    this.args = [request, reply];
  }

  getClass<T>(): Type<T> {
    return this.controller as Type<T>;
  }
  getHandler(): (...args: never[]) => unknown {
    return this.handler;
  }
  getArgs<T extends unknown[] = unknown[]>(): T {
    return this.args as unknown as T;
  }
  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }
  getType<T extends string = 'http'>(): T {
    return 'http' as T;
  }
  switchToHttp(): ReturnType<ExecutionContext['switchToHttp']> {
    const [request, reply] = this.args;
    return {
      getRequest: <T>() => request as T,
      getResponse: <T>() => reply as T,
      getNext: <T>() => undefined as T,
    };
  }
  switchToRpc(): ReturnType<ExecutionContext['switchToRpc']> {
    throw new Error('an HTTP context');
  }
  switchToWs(): ReturnType<ExecutionContext['switchToWs']> {
    throw new Error('an HTTP context');
  }
}
