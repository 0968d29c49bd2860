import { RouteConfig } from '@nestjs/platform-fastify';
import { EXACT_NUMBERS } from '../common/exact-numbers';

/** Key in a Fastify route's `config` naming the direct handler that serves it. */
export const DIRECT_HANDLER = 'abaxusDirectHandler';

/** The ingestion routes whose Nest pipeline is replaced by a direct Fastify handler. */
export type DirectHandlerName = 'record' | 'batch';

/**
 * Marks a controller route as served by a direct Fastify handler (usage-events.direct-routes.ts):
 * Nest still declares the route (path, status, roles, OpenAPI), Fastify runs the direct handler.
 * Usage events take JSON numbers a double cannot hold as written (EXACT_NUMBERS).
 */
export const DirectHandler = (name: DirectHandlerName) =>
  RouteConfig({ [DIRECT_HANDLER]: name, [EXACT_NUMBERS]: true });

/** A route whose body may hold JSON numbers a double cannot keep, as JsonNumberText (request-edge.ts). */
export const ExactNumbers = () => RouteConfig({ [EXACT_NUMBERS]: true });
