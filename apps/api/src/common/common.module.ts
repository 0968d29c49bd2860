import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import type { Logger } from 'pino';
import { AuthGuard } from './auth/auth.guard';
import { CatalogReferenceLock } from './catalog-reference-lock';
import { KeyDirectory } from './auth/key-directory';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyStore } from './idempotency/idempotency.store';
import { ProblemDetailsFilter } from './problems/problem-details.filter';
import { ABAXUS_CONFIG, EVENT_STORE, PG_POOL, ROOT_LOGGER, type ApiDeps } from './tokens';
import { RequestValidationPipe } from './validation.pipe';

/**
 * Cross-cutting pieces every area relies on, registered globally: the process dependencies (config,
 * pool, event store, logger), the key directory, authentication and roles, validation, idempotency
 * keys, the catalog reference lock, and problem+json errors.
 */
@Global()
@Module({})
export class CommonModule {
  static forRoot(deps: ApiDeps & { logger: Logger }): DynamicModule {
    const dependencies = [
      { provide: ABAXUS_CONFIG, useValue: deps.config },
      { provide: PG_POOL, useValue: deps.pool },
      { provide: EVENT_STORE, useValue: deps.store },
      { provide: ROOT_LOGGER, useValue: deps.logger },
    ];
    return {
      module: CommonModule,
      providers: [
        ...dependencies,
        KeyDirectory,
        IdempotencyStore,
        CatalogReferenceLock,
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_PIPE, useClass: RequestValidationPipe },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
      exports: [...dependencies.map((p) => p.provide), KeyDirectory, IdempotencyStore, CatalogReferenceLock],
    };
  }
}
