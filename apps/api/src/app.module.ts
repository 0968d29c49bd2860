import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { CommonModule } from './common/common.module';
import type { ApiDeps } from './common/tokens';
import { HealthModule } from './health/health.module';
import { TenancyModule } from './tenancy/tenancy.module';

/** One module per area; later areas add theirs to `imports`. */
@Module({})
export class AppModule {
  static forRoot(deps: ApiDeps & { logger: Logger }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger: deps.logger,
            // Fastify's genReqId (requestIdFor) already put the id on the raw request.
            genReqId: (request) => (request as { id?: string }).id ?? '',
            customLogLevel: (_request, response, error) =>
              error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
            autoLogging: { ignore: (request) => ['/healthz', '/readyz', '/metrics'].includes(request.url ?? '') },
          },
        }),
        CqrsModule.forRoot(),
        CommonModule.forRoot(deps),
        HealthModule,
        TenancyModule,
      ],
    };
  }
}
