import { Module } from '@nestjs/common';
import { ArchiveMetricHandler } from './archive-metric.handler';
import { CreateMetricHandler } from './create-metric.handler';
import { MetricsController } from './metrics.controller';
import { MetricsReader } from './metrics.reader';
import { PublishMetricVersionHandler } from './publish-metric-version.handler';
import './metrics.problems';

@Module({
  controllers: [MetricsController],
  providers: [CreateMetricHandler, PublishMetricVersionHandler, ArchiveMetricHandler, MetricsReader],
})
export class MetricsModule {}
