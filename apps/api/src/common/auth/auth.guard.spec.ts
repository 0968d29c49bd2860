import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { ApiKeyKind, ApiKeyRole } from '#domain';
import { loadBuiltFile, requireNative } from '../../../../../test/support/api';
import type * as Decorators from './auth.decorators';
import type * as Guard from './auth.guard';
import type { AuthContext, KeyDirectory } from './key-directory';

/**
 * The route declarations later areas rely on, checked directly on the guard (the routes that use
 * @AllowPublishable, GET /v1/entitlements/* and /v1/usage/*, do not exist yet).
 */
describe('AuthGuard route declarations', () => {
  const { AuthGuard } = loadBuiltFile<typeof Guard>('apps/api/src/common/auth/auth.guard');
  const { AllowPublishable, OperatorOnly, Public, Roles } = loadBuiltFile<typeof Decorators>(
    'apps/api/src/common/auth/auth.decorators',
  );
  const { Reflector: ReflectorClass } = requireNative<{ Reflector: new () => Reflector }>('@nestjs/core');

  const key = (tenantId: string, role: ApiKeyRole, kind: ApiKeyKind): AuthContext => ({
    keyId: 'key_x',
    tenantId,
    role,
    kind,
  });
  function decide(caller: AuthContext | null, ...decorators: Array<(target: object) => unknown>): number {
    const handler = function handler() {};
    for (const decorate of decorators) decorate(handler);
    class Controller {}
    const directory = { authenticate: () => caller } as unknown as KeyDirectory;
    const request = { headers: { authorization: 'Bearer sk_whatever00000000000000000000' } };
    const context = {
      getHandler: () => handler,
      getClass: () => Controller,
      switchToHttp: () => ({ getRequest: () => request }),
    } as unknown as ExecutionContext;
    try {
      return new AuthGuard(new ReflectorClass(), directory).canActivate(context) ? 200 : 0;
    } catch (error) {
      return (error as { status: number }).status;
    }
  }

  it('a publishable key passes only where the route allows it, and the role still applies', () => {
    const pk = key('t_1', 'auditor', 'publishable');
    expect(decide(pk, Roles('admin', 'finance', 'auditor'))).toBe(403);
    expect(decide(pk, Roles('admin', 'finance', 'auditor'), AllowPublishable())).toBe(200);
    expect(decide(pk, Roles('admin'), AllowPublishable())).toBe(403);
  });

  it('a route without @Roles is admin-only (fails closed)', () => {
    expect(decide(key('t_1', 'admin', 'secret'))).toBe(200);
    expect(decide(key('t_1', 'finance', 'secret'))).toBe(403);
  });

  it('@OperatorOnly needs a secret admin key of the default tenant', () => {
    expect(decide(key('default', 'admin', 'secret'), OperatorOnly())).toBe(200);
    expect(decide(key('t_1', 'admin', 'secret'), OperatorOnly())).toBe(403);
    expect(decide(key('default', 'finance', 'secret'), Roles('finance'), OperatorOnly())).toBe(403);
  });

  it('@Public needs no key; anything else without a valid key is 401', () => {
    expect(decide(null, Public())).toBe(200);
    expect(decide(null, Roles('admin', 'finance', 'auditor', 'ingest'))).toBe(401);
  });
});
