import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsBoolean, IsOptional } from 'class-validator';
import { PlanVersionFieldsRequest } from './plan-version.request';

/** A new plan: its key and version 1 (name, currency, billing_interval and charges required). */
export class CreatePricePlanRequest extends PlanVersionFieldsRequest {
  @ApiProperty({ example: 'pro', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$' })
  @Allow()
  key!: unknown;

  @ApiPropertyOptional({ default: false, description: 'publish version 1 at once (immutable from then on)' })
  @IsOptional()
  @IsBoolean()
  publish?: boolean;
}
