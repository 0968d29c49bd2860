import { ApiProperty } from '@nestjs/swagger';

/* Response shapes of the audit routes, for the OpenAPI document (the routes answer plain objects). */

export class InvoiceDifferenceView {
  @ApiProperty({ type: String, nullable: true, example: 'api', description: 'the line; null for invoice members' })
  charge_key!: string | null;
  @ApiProperty({ example: 'quantity', description: '`line` when a line exists on one side only; `total`, `checksum`…' })
  field!: string;
  @ApiProperty({ example: '1200', description: 'as recorded in the log' })
  recorded!: unknown;
  @ApiProperty({ example: '1150', description: 'as rebuilt from the log' })
  recomputed!: unknown;
}

export class InvoiceReproductionView {
  @ApiProperty({ description: 'the invoice rebuilt from the event store alone has the recorded checksum' })
  match!: boolean;
  @ApiProperty({ example: 'inv_9a…' }) invoice_id!: string;
  @ApiProperty({ example: 'INV-000042' }) number!: string;
  @ApiProperty({ example: 'closed' }) status!: string;
  @ApiProperty({ example: 'sha256:…', description: 'the recorded InvoiceClosed checksum' }) checksum!: string;
  @ApiProperty({ type: String, nullable: true, example: 'sha256:…' }) recomputed_checksum!: string | null;
  @ApiProperty({ example: 'calc_3b…' }) calculation_id!: string;
  @ApiProperty({ type: String, nullable: true, example: 'calc_3b…' }) recomputed_calculation_id!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'the log was replayed up to this position' })
  as_of_position!: string | null;
  @ApiProperty({ example: 1000412, description: 'events read from the event store' }) events_read!: number;
  @ApiProperty({ type: InvoiceDifferenceView, nullable: true }) first_difference!: InvoiceDifferenceView | null;
}

export class AuditLogEntryView {
  @ApiProperty({ format: 'uuid' }) event_id!: string;
  @ApiProperty({ example: 'acme' }) tenant_id!: string;
  @ApiProperty({ description: 'log position (opaque)' }) position!: string;
  @ApiProperty({ example: 'InvoiceClosed' }) type!: string;
  @ApiProperty({ example: 'acme:invoice-inv_9a…' }) stream!: string;
  @ApiProperty({ example: 'key_3f…', description: 'API key id, `cli:<user>` or `system:<component>`' }) actor!: string;
  @ApiProperty({ type: String, nullable: true }) request_id!: string | null;
  @ApiProperty({ format: 'date-time', description: 'business time' }) occurred_at!: string;
  @ApiProperty({ format: 'date-time', description: 'log time (the order of the list)' }) recorded_at!: string;
}

export class AuditLogPageView {
  @ApiProperty({ type: [AuditLogEntryView] }) data!: AuditLogEntryView[];
  @ApiProperty({ type: String, nullable: true }) next_cursor!: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { consistency: 'eventual', as_of: '…', order: 'newest_first', excluded_types: ['UsageRecorded'] },
  })
  meta!: Record<string, unknown>;
}
