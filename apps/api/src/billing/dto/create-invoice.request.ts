import { ApiProperty } from '@nestjs/swagger';
import { Allow, IsString, MaxLength } from 'class-validator';

export class CreateInvoiceRequest {
  @ApiProperty({ example: 'sub_3f9c0a…' })
  @IsString()
  @MaxLength(100)
  subscription_id!: string;

  @ApiProperty({ format: 'date-time', description: 'start of one of the subscription’s billing periods' })
  @Allow()
  period_start!: unknown;

  @ApiProperty({ format: 'date-time', description: 'its end (exclusive)' })
  @Allow()
  period_end!: unknown;
}
