import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '../../common/pagination';

/** `GET /v1/audit-log?since=&until=&actor=&type=&stream=&limit=&cursor=`. */
export class AuditLogQueryRequest extends PageQuery {
  @ApiPropertyOptional({ example: '2026-03-01T00:00:00Z', description: 'recorded at or after (RFC 3339)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  since?: string;

  @ApiPropertyOptional({ example: '2026-04-01T00:00:00Z', description: 'recorded before (RFC 3339)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  until?: string;

  @ApiPropertyOptional({ example: 'key_3f…', description: 'an API key id, `cli:<user>` or `system:<component>`' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  actor?: string;

  @ApiPropertyOptional({
    example: 'InvoiceClosed,InvoiceVoided',
    description: 'event types, comma-separated (UsageRecorded is not in the audit log)',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1000)
  type?: string;

  @ApiPropertyOptional({ example: 'invoice-inv_9a…', description: 'a stream, with or without the tenant prefix' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(300)
  stream?: string;
}
