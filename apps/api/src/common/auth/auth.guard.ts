import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_TENANT_ID, type ApiKeyRole } from '#domain';
import { ApiProblem } from '../problems/api-problem';
import { ALLOW_PUBLISHABLE, OPERATOR_ONLY, PUBLIC_ROUTE, ROUTE_ROLES } from './auth.decorators';
import { KeyDirectory, type AuthContext } from './key-directory';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const CHALLENGE = 'Bearer realm="abaxus"';

export type AuthenticatedRequest = FastifyRequest & { auth?: AuthContext };

/** The token of an `Authorization: Bearer <token>` header, or undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** Who each request in flight authenticated as: the key is hashed once per request, not per check. */
const resolvedCallers = new WeakMap<object, AuthContext | null>();

/**
 * The caller of `request` by its Authorization header, remembered for the request's lifetime: the
 * rate limit (onRequest) and the guard ask the same question a moment apart. A revocation landing
 * in between applies from the next request, as for a request already in flight.
 */
export function authenticateRequest(
  request: { headers: { authorization?: string } },
  authenticate: (token: string) => AuthContext | null,
): AuthContext | null {
  const known = resolvedCallers.get(request);
  if (known !== undefined) return known;
  const token = bearerToken(request.headers.authorization);
  const caller = token === undefined ? null : authenticate(token);
  resolvedCallers.set(request, caller);
  return caller;
}

export function isOperator(caller: AuthContext): boolean {
  return caller.tenantId === DEFAULT_TENANT_ID && caller.role === 'admin' && caller.kind === 'secret';
}

/**
 * Global guard: 401 without a valid key, 403 when the key's kind or role does not fit the route's
 * declarations (`@Public`, `@Roles`, `@AllowPublishable`, `@OperatorOnly`). Answered from memory.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly directory: KeyDirectory,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const caller = this.authenticate(request);
    request.auth = caller;
    if (caller.kind === 'publishable' && !this.reflector.getAllAndOverride<boolean>(ALLOW_PUBLISHABLE, targets)) {
      throw new ApiProblem(
        'AUTH.FORBIDDEN',
        'publishable keys may only read entitlements, the usage summary and the usage histogram',
      );
    }
    if (this.reflector.getAllAndOverride<boolean>(OPERATOR_ONLY, targets) && !isOperator(caller)) {
      throw new ApiProblem('AUTH.FORBIDDEN', 'only an admin key of the default tenant (the operator) may do this');
    }
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[]>(ROUTE_ROLES, targets) ?? ['admin'];
    if (!roles.includes(caller.role)) {
      throw new ApiProblem('AUTH.FORBIDDEN', `this route needs one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }

  private authenticate(request: AuthenticatedRequest): AuthContext {
    if (!request.headers.authorization) {
      throw new ApiProblem('AUTH.UNAUTHENTICATED', 'send an API key: Authorization: Bearer <key>', {
        headers: { 'www-authenticate': CHALLENGE },
      });
    }
    const caller = authenticateRequest(request, (token) => this.directory.authenticate(token));
    if (!caller && bearerToken(request.headers.authorization) === undefined) {
      throw new ApiProblem(
        'AUTH.UNAUTHENTICATED',
        'send the API key with the Bearer scheme: Authorization: Bearer <key>',
        {
          headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_request"` },
        },
      );
    }
    if (!caller) {
      throw new ApiProblem('AUTH.UNAUTHENTICATED', 'the API key is not valid or has been revoked', {
        headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` },
      });
    }
    return caller;
  }
}
