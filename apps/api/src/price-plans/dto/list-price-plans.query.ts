import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { PageQuery } from '../../common/pagination';

/** `?include_archived=true|false` (default false) on top of `?limit=&cursor=`. */
export class ListPricePlansQuery extends PageQuery {
  @ApiPropertyOptional({ type: Boolean, default: false })
  @IsOptional()
  // Query values are strings, and Boolean('false') is true: map the two spellings explicitly.
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  include_archived?: boolean;
}
