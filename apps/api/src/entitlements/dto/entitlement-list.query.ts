import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** `GET /v1/entitlements?customer_id=`. */
export class EntitlementListQuery {
  @ApiProperty({ example: 'cust_acme' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  customer_id!: string;
}
