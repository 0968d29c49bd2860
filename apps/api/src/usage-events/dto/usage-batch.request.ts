import { ApiProperty } from '@nestjs/swagger';
import { RecordUsageRequest } from './record-usage.request';

export const MAX_BATCH_EVENTS = 500;

/**
 * Documentation only: batch bodies are checked by hand (usage-batch.envelope.ts) so that one bad
 * event yields its own 422 result instead of failing the whole request in the global pipe.
 */
export class UsageBatchRequest {
  @ApiProperty({ type: [RecordUsageRequest], minItems: 1, maxItems: MAX_BATCH_EVENTS })
  events!: RecordUsageRequest[];
}

export class UsageBackfillRequest extends UsageBatchRequest {
  @ApiProperty({ example: 'meter outage 2026-01-04 to 2026-01-06, replayed from the gateway logs', maxLength: 500 })
  reason!: string;
}
