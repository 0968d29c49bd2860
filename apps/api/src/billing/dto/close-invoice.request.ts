import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsArray, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

export class TaxLineRequest {
  @ApiProperty({ example: 'VAT 20%' })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ example: '0.2', description: 'a fraction, when the tax provider gives one' })
  @Allow()
  rate?: unknown;

  @ApiProperty({ example: '20.00', description: 'money of the invoice currency' })
  @Allow()
  amount!: unknown;
}

/** Tax is computed elsewhere (a tax provider): the invoice records what it is given. */
export class CloseInvoiceRequest {
  @ApiPropertyOptional({ example: '20.00', description: 'default: the sum of tax_lines, or 0' })
  @Allow()
  tax_amount?: unknown;

  @ApiPropertyOptional({ type: [TaxLineRequest] })
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => TaxLineRequest)
  tax_lines?: TaxLineRequest[];
}
