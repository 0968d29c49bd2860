import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsString, MaxLength } from 'class-validator';

export class CreateInvoiceRequest {
  @ApiProperty({ example: 'sub_3f9c0a…' })
  @IsString()
  @MaxLength(100)
  subscription_id!: string;

  // Required, as documented: without both, the shared period resolver would draft the current,
  // unfinished period (what /v1/pricing/calculate does on purpose).
  @ApiProperty({ format: 'date-time', description: 'start of one of the subscription’s billing periods' })
  @IsDefined()
  period_start!: unknown;

  @ApiProperty({ format: 'date-time', description: 'its end (exclusive)' })
  @IsDefined()
  period_end!: unknown;
}
