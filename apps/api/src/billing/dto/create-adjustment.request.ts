import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class CreateAdjustmentRequest {
  @ApiProperty({ example: 'cust_acme' })
  @IsString()
  @MaxLength(64)
  customer_id!: string;

  @ApiProperty({
    example: '-25.00',
    description: 'signed decimal (string or JSON number): positive charges the customer, negative credits them',
  })
  @Allow()
  amount!: unknown;

  @ApiProperty({ example: 'USD', description: "the customer's currency" })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'must be an upper-case ISO 4217 code' })
  currency!: string;

  @ApiProperty({ example: 'goodwill credit after the outage of March 3' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;

  @ApiPropertyOptional({ example: 'inv_9a…', description: 'the closed invoice it corrects' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  invoice_id?: string;
}
