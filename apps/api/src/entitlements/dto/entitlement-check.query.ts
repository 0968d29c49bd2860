import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** `GET /v1/entitlements/check?customer_id=&feature=`. */
export class EntitlementCheckQuery {
  @ApiProperty({ example: 'cust_acme' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  customer_id!: string;

  @ApiProperty({ example: 'api_calls_per_month', description: 'an entitlement key of the plan (or an override)' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  feature!: string;
}
