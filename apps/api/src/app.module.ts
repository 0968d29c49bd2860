import { type DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AuditModule } from './audit/audit.module';
import { BillingModule } from './billing/billing.module';
import { CatalogDirectoryModule } from './common/catalog-directory.module';
import { CommonModule } from './common/common.module';
import type { ApiDeps } from './common/tokens';
import { CustomersModule } from './customers/customers.module';
import { EntitlementsModule } from './entitlements/entitlements.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { PricePlansModule } from './price-plans/price-plans.module';
import { SettingsModule } from './settings/settings.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { TenancyModule } from './tenancy/tenancy.module';
import { UsageEventsModule } from './usage-events/usage-events.module';
import { UsageModule } from './usage/usage.module';

/** One module per area; later areas add theirs to `imports`. */
@Module({})
export class AppModule {
  static forRoot(deps: ApiDeps & { logger: Logger }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          // Fastify logs each request (see request-log.ts); nestjs-pino binds that per-request
          // logger (with its reqId) to Nest's Logger and PinoLogger inside request handling.
          useExisting: true,
          // nestjs-pino's default route pattern ('{/*splat}') matches nothing under Nest 12's
          // Fastify adapter, so its middleware would never run; this one matches every path.
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: { logger: deps.logger },
        }),
        CqrsModule.forRoot(),
        CommonModule.forRoot(deps),
        CatalogDirectoryModule,
        HealthModule,
        TenancyModule,
        MetricsModule,
        CustomersModule,
        UsageEventsModule,
        UsageModule,
        PricePlansModule,
        SubscriptionsModule,
        EntitlementsModule,
        BillingModule,
        SettingsModule,
        AuditModule,
      ],
    };
  }
}
