import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { ApiKeyRole } from '#domain';
import type { AuthContext } from './key-directory';

export const PUBLIC_ROUTE = 'abaxus:public';
export const ROUTE_ROLES = 'abaxus:roles';
export const ALLOW_PUBLISHABLE = 'abaxus:allow-publishable';
export const OPERATOR_ONLY = 'abaxus:operator-only';

/** No API key needed (health, readiness, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/**
 * Roles allowed on a route (or every route of a controller). A route that declares none is
 * admin-only: forgetting the decorator fails closed.
 */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROUTE_ROLES, roles);

/**
 * Publishable (`pk_`) keys may call this route; by default they may call nothing. Only for reads of
 * entitlements and usage (GET /v1/entitlements/*, GET /v1/usage/*). The role check still applies.
 */
export const AllowPublishable = () => SetMetadata(ALLOW_PUBLISHABLE, true);

/** Only the operator: a secret admin key of the `default` tenant (e.g. creating tenants). */
export const OperatorOnly = () => SetMetadata(OPERATOR_ONLY, true);

/** The authenticated caller, in a controller method: `list(@Caller() caller: AuthContext)`. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): AuthContext => {
  const request = context.switchToHttp().getRequest<{ auth?: AuthContext }>();
  if (!request.auth) throw new Error('@Caller() used on a route without authentication');
  return request.auth;
});
