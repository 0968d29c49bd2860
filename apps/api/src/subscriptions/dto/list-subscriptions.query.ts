import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';

/** `?customer_id=` (optional) on top of `?limit=&cursor=`. */
export class ListSubscriptionsQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'cust_acme', description: "only this customer's subscriptions" })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  customer_id?: string;
}
