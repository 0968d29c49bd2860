import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsBoolean, IsOptional } from 'class-validator';

export class BulkInvoicesRequest {
  @ApiProperty({
    format: 'date-time',
    example: '2026-04-01T00:00:00Z',
    description: 'the instant the billing periods ended (exclusive end): every subscription whose period ends there',
  })
  @Allow()
  period_end!: unknown;

  @ApiPropertyOptional({ default: false, description: 'close the invoices too (numbers assigned in order)' })
  @IsOptional()
  @IsBoolean()
  close?: boolean;
}
