import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

/** `GET /v1/usage/summary?customer_id=&metric_key=&period_start=&period_end=`. */
export class UsageSummaryQuery {
  @ApiProperty({ example: 'cus_42' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  customer_id!: string;

  @ApiPropertyOptional({ example: 'api_calls', description: 'Omitted: every metric of the tenant, in `data`.' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  metric_key?: string;

  @ApiPropertyOptional({
    example: '2026-03-01T00:00:00Z',
    description: 'With period_end; both omitted: the current billing period of the live subscription.',
  })
  @IsOptional()
  @IsString()
  period_start?: string;

  @ApiPropertyOptional({ example: '2026-04-01T00:00:00Z', description: 'Exclusive.' })
  @IsOptional()
  @IsString()
  period_end?: string;
}
