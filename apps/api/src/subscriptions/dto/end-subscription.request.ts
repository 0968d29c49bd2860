import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn } from 'class-validator';
import { CANCEL_AT, type EndAt } from '#domain';
import { OVERRIDES_DESCRIPTION } from './start-subscription.request';

export class CancelSubscriptionRequest {
  @ApiProperty({
    enum: CANCEL_AT,
    description: '`now`: ends at once (the last period prorated); `period_end`: live until its current period ends',
  })
  @IsIn(CANCEL_AT)
  at!: EndAt;
}

export class ChangeSubscriptionPlanRequest {
  @ApiProperty({ example: 'team' })
  @Allow()
  plan_key!: unknown;

  @ApiPropertyOptional({ example: 2, description: 'a published version; default: the latest published one' })
  @Allow()
  plan_version?: unknown;

  @ApiProperty({
    enum: CANCEL_AT,
    description:
      '`now`: this subscription ends and the next starts at once, both partial periods prorated; ' +
      '`period_end`: at the end of the current period',
  })
  @IsIn(CANCEL_AT)
  at!: EndAt;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: OVERRIDES_DESCRIPTION })
  @Allow()
  overrides?: unknown;
}
