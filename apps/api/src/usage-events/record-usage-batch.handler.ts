import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { toBatchResponse, type BatchResponse } from './usage-batch.envelope';
import { UsageIngestion, type IngestSource } from './usage-ingestion.service';

/** Up to 500 events (batch or backfill), each judged on its own: one bad event never rejects the others. */
export class RecordUsageBatch extends Command<BatchResponse> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly events: readonly unknown[],
    readonly source: IngestSource,
  ) {
    super();
  }
}

@CommandHandler(RecordUsageBatch)
export class RecordUsageBatchHandler implements ICommandHandler<RecordUsageBatch> {
  constructor(private readonly ingestion: UsageIngestion) {}

  async execute({ caller, requestId, events, source }: RecordUsageBatch): Promise<BatchResponse> {
    return toBatchResponse(await this.ingestion.ingest(caller, requestId, events, source));
  }
}
