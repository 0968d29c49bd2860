import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';

export const INVOICE_STATUSES = ['draft', 'closed', 'payment_failed', 'paid', 'void'] as const;

export class ListInvoicesQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'cust_acme' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  customer_id?: string;

  @ApiPropertyOptional({ enum: INVOICE_STATUSES })
  @IsOptional()
  @IsIn(INVOICE_STATUSES)
  status?: (typeof INVOICE_STATUSES)[number];
}
