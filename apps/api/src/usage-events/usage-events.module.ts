import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { AuthGuard } from '../common/auth/auth.guard';
import { ProblemDetailsFilter } from '../common/problems/problem-details.filter';
import { RecordUsageHandler } from './record-usage.handler';
import { RecordUsageBatchHandler } from './record-usage-batch.handler';
import { UsageEventsController } from './usage-events.controller';
import { UsageEventsDirectRoutes } from './usage-events.direct-routes';
import { UsageEventsReader } from './usage-events.reader';
import { UsageIngestion } from './usage-ingestion.service';
import { VoidUsageHandler } from './void-usage.handler';
import './usage-events.problems';

@Module({
  controllers: [UsageEventsController],
  providers: [
    UsageIngestion,
    RecordUsageHandler,
    RecordUsageBatchHandler,
    VoidUsageHandler,
    UsageEventsReader,
    // The direct ingestion routes run the global guard's and filter's logic themselves.
    AuthGuard,
    ProblemDetailsFilter,
    UsageEventsDirectRoutes,
  ],
})
export class UsageEventsModule implements NestModule {
  constructor(private readonly directRoutes: UsageEventsDirectRoutes) {}

  /**
   * Nest calls configure() while it sets up middleware, before it registers any route: the last
   * moment the direct handlers can hook into Fastify's route registration. No middleware is added.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.directRoutes.install();
  }
}
