import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { HISTOGRAM_GRANULARITIES, type HistogramGranularity } from '#domain';

/** `GET /v1/usage/histogram?customer_id=&metric_key=&from=&to=&granularity=hour|day` (UTC). */
export class UsageHistogramQuery {
  @ApiProperty({ example: 'cus_42' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  customer_id!: string;

  @ApiProperty({ example: 'api_calls' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  metric_key!: string;

  @ApiProperty({ example: '2026-03-01T00:00:00Z', description: 'On a UTC hour (hour) or UTC midnight (day).' })
  @IsString()
  from!: string;

  @ApiProperty({ example: '2026-03-08T00:00:00Z', description: 'Exclusive; same alignment.' })
  @IsString()
  to!: string;

  @ApiProperty({ enum: HISTOGRAM_GRANULARITIES })
  @IsIn(HISTOGRAM_GRANULARITIES)
  granularity!: HistogramGranularity;
}
