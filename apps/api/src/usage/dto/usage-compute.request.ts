import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';

/** `POST /v1/usage/compute`: the exact usage of one customer and metric over a period. */
export class UsageComputeRequest {
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

  @ApiProperty({ example: '2026-03-01T00:00:00Z' })
  @IsString()
  period_start!: string;

  @ApiProperty({ example: '2026-04-01T00:00:00Z', description: 'Exclusive.' })
  @IsString()
  period_end!: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['region'],
    description: 'Property names to group by (every version); the response then has `groups`.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @ArrayUnique()
  @IsString({ each: true })
  @IsNotEmpty({ each: true })
  @MaxLength(200, { each: true })
  group_by?: string[];
}
