import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { PAYMENT_PROVIDERS } from '#domain';

/** Names only (unknown fields are a 400); the domain checks the values and names each bad one (422). */
export class PaymentDetailsRequest {
  @ApiProperty({ enum: PAYMENT_PROVIDERS })
  @Allow()
  provider!: unknown;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'required for stripe and adyen',
    example: 'cus_N4x…',
  })
  @Allow()
  customer_ref?: unknown;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'pm_1Q…' })
  @Allow()
  payment_method_ref?: unknown;
}
