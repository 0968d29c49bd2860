import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { ApiProblem } from '../common/problems/api-problem';
import { conflictDetail, invalidDetail } from './usage-batch.envelope';
import { UsageIngestion } from './usage-ingestion.service';

export interface RecordedUsageView {
  id: string;
  status: 'accepted' | 'duplicate';
  idempotency_key: string;
}

export class RecordUsage extends Command<RecordedUsageView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    /** The raw body: an object with event fields only (checkEventBody). */
    readonly body: Record<string, unknown>,
  ) {
    super();
  }
}

@CommandHandler(RecordUsage)
export class RecordUsageHandler implements ICommandHandler<RecordUsage> {
  constructor(private readonly ingestion: UsageIngestion) {}

  async execute({ caller, requestId, body }: RecordUsage): Promise<RecordedUsageView> {
    const [result] = await this.ingestion.ingest(caller, requestId, [body], { kind: 'ingest' });
    switch (result.status) {
      case 'invalid':
        throw new ApiProblem('EVENT.INVALID', invalidDetail(result.errors), { errors: result.errors });
      case 'conflict':
        throw new ApiProblem('EVENT.IDEMPOTENCY_CONFLICT', conflictDetail(result.idempotency_key, result.id), {
          members: { idempotency_key: result.idempotency_key, existing_id: result.id },
        });
      default:
        return { id: result.id, status: result.status, idempotency_key: result.idempotency_key };
    }
  }
}
