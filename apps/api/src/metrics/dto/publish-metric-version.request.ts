import { ApiProperty } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { MetricDefinitionRequest } from './metric-definition.request';

/** A new version: the whole definition (name and unit stay with the metric) and when it takes effect. */
export class PublishMetricVersionRequest extends MetricDefinitionRequest {
  @ApiProperty({
    format: 'date-time',
    example: '2026-03-01T00:00:00Z',
    description: "RFC 3339, later than the latest version's; microseconds at most",
  })
  @Allow()
  effective_from!: unknown;
}
