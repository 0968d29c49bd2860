import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * One usage event, for the documentation (the body is checked by checkEventBody and the usage
 * validation, not by the global pipe: see usage-batch.envelope.ts). An unknown top-level field is
 * 400; a bad value is 422 EVENT.INVALID naming each field.
 */
export class RecordUsageRequest {
  @ApiProperty({ example: 'cust_acme', description: 'an existing, not archived customer' })
  customer_id!: unknown;

  @ApiProperty({ example: 'api_calls', description: 'an existing, not archived metric' })
  metric_key!: unknown;

  @ApiProperty({
    oneOf: [
      { type: 'string', example: '1.5' },
      { type: 'number', example: 1 },
    ],
    description: 'a non-negative decimal within DECIMAL(20,10): at most 10 digits before and after the point',
  })
  value!: unknown;

  @ApiProperty({
    example: '2026-03-17T14:00:00Z',
    description: 'RFC 3339 with a zone; at most 5 minutes in the future, at most 35 days old (older: backfill)',
  })
  timestamp!: unknown;

  @ApiProperty({
    example: 'req-7f3a-0001',
    minLength: 1,
    maxLength: 255,
    description: 'unique per tenant, forever: a retry with the same payload is a no-op (202 duplicate)',
  })
  idempotency_key!: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { region: 'eu-west-1', endpoint: '/v1/things' },
    description: 'flat: string (<= 1024 chars), number, boolean or null values; at most 50 keys of <= 64 chars',
  })
  properties?: unknown;
}
