import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsOptional, ValidateNested } from 'class-validator';
import { DEFAULT_TIMEZONE } from '#domain';
import { PaymentDetailsRequest } from './payment-details.request';

/** Field names are checked here (unknown fields: 400); values by the domain, naming each bad one (422). */
export class CreateCustomerRequest {
  @ApiProperty({ example: 'cust_acme', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'chosen by you' })
  @Allow()
  id!: unknown;

  @ApiProperty({ example: 'Acme Inc.' })
  @Allow()
  name!: unknown;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'billing@acme.com' })
  @Allow()
  email?: unknown;

  @ApiProperty({ example: 'USD', description: 'ISO 4217, upper case; fixed once created' })
  @Allow()
  currency!: unknown;

  @ApiPropertyOptional({
    example: 'America/New_York',
    default: DEFAULT_TIMEZONE,
    description: 'IANA zone; fixed once created',
  })
  @Allow()
  timezone?: unknown;

  @ApiPropertyOptional({ type: PaymentDetailsRequest, nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => PaymentDetailsRequest)
  payment?: PaymentDetailsRequest | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'flat: string, number or boolean values; at most 50 keys',
    example: { crm_id: '0012' },
  })
  @Allow()
  metadata?: unknown;
}
