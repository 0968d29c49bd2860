import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const DEFAULT_EVENTS_PAGE = 100;
export const MAX_EVENTS_PAGE = 1000;

/** `GET /v1/events`: one customer's events, of one metric or (without metric_key) of all, by (timestamp, id). */
export class ListUsageEventsQuery {
  @ApiProperty({ example: 'cust_acme' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  customer_id!: string;

  @ApiPropertyOptional({ example: 'api_calls', description: "omitted: every metric's events, interleaved by time" })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  metric_key?: string;

  @ApiPropertyOptional({ example: '2026-03-01T00:00:00Z', description: 'inclusive (event timestamp)' })
  @IsOptional()
  @IsString()
  from?: string;

  @ApiPropertyOptional({ example: '2026-04-01T00:00:00Z', description: 'exclusive (event timestamp)' })
  @IsOptional()
  @IsString()
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_EVENTS_PAGE, default: DEFAULT_EVENTS_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_EVENTS_PAGE)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}
