import { Module } from '@nestjs/common';
import { RecordUsageHandler } from './record-usage.handler';
import { RecordUsageBatchHandler } from './record-usage-batch.handler';
import { UsageEventsController } from './usage-events.controller';
import { UsageEventsReader } from './usage-events.reader';
import { UsageIngestion } from './usage-ingestion.service';
import { VoidUsageHandler } from './void-usage.handler';
import './usage-events.problems';

@Module({
  controllers: [UsageEventsController],
  providers: [UsageIngestion, RecordUsageHandler, RecordUsageBatchHandler, VoidUsageHandler, UsageEventsReader],
})
export class UsageEventsModule {}
