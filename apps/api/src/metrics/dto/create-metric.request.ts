import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { METRIC_NAME_MAX_LENGTH, METRIC_UNIT_MAX_LENGTH } from '#domain';
import { MetricDefinitionRequest } from './metric-definition.request';

export class CreateMetricRequest extends MetricDefinitionRequest {
  @ApiProperty({ example: 'api_calls', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$' })
  @Allow()
  key!: unknown;

  @ApiProperty({ example: 'API calls', maxLength: METRIC_NAME_MAX_LENGTH })
  @Allow()
  name!: unknown;

  @ApiPropertyOptional({ example: 'call', maxLength: METRIC_UNIT_MAX_LENGTH })
  @Allow()
  unit?: unknown;
}
