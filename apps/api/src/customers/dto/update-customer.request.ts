import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsOptional, ValidateNested } from 'class-validator';
import { PaymentDetailsRequest } from './payment-details.request';

/**
 * PATCH: only the fields sent change. `payment` and `metadata` are replaced whole; `email` and
 * `payment` may be null to clear them. `currency` and `timezone` are accepted only with their current
 * value (a client sending the customer back); another value is 422 CUSTOMER.IMMUTABLE_FIELD.
 */
export class UpdateCustomerRequest {
  @ApiPropertyOptional({ example: 'Acme Inc.' })
  @Allow()
  name?: unknown;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'billing@acme.com' })
  @Allow()
  email?: unknown;

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

  @ApiPropertyOptional({ description: 'fixed once created: only the current value is accepted' })
  @Allow()
  currency?: unknown;

  @ApiPropertyOptional({ description: 'fixed once created: only the current value is accepted' })
  @Allow()
  timezone?: unknown;
}
