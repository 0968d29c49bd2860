import { Module } from '@nestjs/common';
import { LIVE_SUBSCRIPTION_COUNTER } from '../customers/live-subscriptions';
import { LiveSubscriptionsCounter } from '../subscriptions/live-subscription-counter';
import { ArchiveMetricHandler } from './archive-metric.handler';
import { CreateMetricHandler } from './create-metric.handler';
import { MetricsController } from './metrics.controller';
import { MetricsReader } from './metrics.reader';
import { PublishMetricVersionHandler } from './publish-metric-version.handler';
import './metrics.problems';

@Module({
  controllers: [MetricsController],
  providers: [
    CreateMetricHandler,
    PublishMetricVersionHandler,
    ArchiveMetricHandler,
    MetricsReader,
    // SEAM: the subscriptions area's live subscriptions (read model, or the log when it lags).
    { provide: LIVE_SUBSCRIPTION_COUNTER, useClass: LiveSubscriptionsCounter },
  ],
})
export class MetricsModule {}
