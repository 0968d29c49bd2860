import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

export class VoidInvoiceRequest {
  @ApiProperty({ example: 'billed the wrong customer', description: 'recorded on the credit note' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}
