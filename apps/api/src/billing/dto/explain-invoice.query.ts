import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';

/** `?line=<charge_key>` lists the events behind that line, `?limit=&cursor=` a page at a time. */
export class ExplainInvoiceQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'api', description: 'a charge_key of the invoice: list the events behind it' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  line?: string;
}
