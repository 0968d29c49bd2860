import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsString, MaxLength } from 'class-validator';

/** Field names and the subscription id's type are checked here (400); the period by the domain (422). */
export class CalculateRequest {
  @ApiProperty({ example: 'sub_3f9c0a…' })
  @IsString()
  @MaxLength(100)
  subscription_id!: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'start of one of the subscription’s billing periods; default (with period_end): the current one',
  })
  @Allow()
  period_start?: unknown;

  @ApiPropertyOptional({ format: 'date-time', description: 'its end (exclusive)' })
  @Allow()
  period_end?: unknown;
}
