import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { AGGREGATIONS } from '#domain';

/**
 * The definition fields of a metric version. Only their names are checked here (unknown fields are
 * a 400); their values are checked by the domain (`validateMetric`), which names every bad field in
 * a 422, so a definition is judged by one set of rules whatever sends it.
 */
export class MetricDefinitionRequest {
  @ApiProperty({ enum: AGGREGATIONS, example: 'sum' })
  @Allow()
  aggregation!: unknown;

  @ApiPropertyOptional({ example: 'value', default: 'value', description: '`value` or `properties.<name>`' })
  @Allow()
  field?: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { endpoint: { not_in: ['/health'] } },
    description: 'property name -> one of { eq }, { neq }, { in: [] }, { not_in: [] }, { exists: bool }',
  })
  @Allow()
  filters?: unknown;

  @ApiPropertyOptional({ type: [String], example: ['region'] })
  @Allow()
  group_by?: unknown;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'number' }],
    example: 95,
    description: 'required for (and only for) the percentile aggregation: 0-100',
  })
  @Allow()
  percentile?: unknown;
}
