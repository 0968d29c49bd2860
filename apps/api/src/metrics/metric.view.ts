import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AGGREGATIONS, type Aggregation, type Metric, type PropertyFilter } from '#domain';

/** One version of a metric definition, as clients see it. */
export class MetricVersionView {
  @ApiProperty({ example: 2 })
  version!: number;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'null for version 1 (in force from the beginning of time); in force until the next version',
  })
  effective_from!: string | null;

  @ApiProperty({ enum: AGGREGATIONS })
  aggregation!: Aggregation;

  @ApiProperty({ example: 'value', description: '`value` or `properties.<name>`' })
  field!: string;

  @ApiProperty({ type: String, nullable: true, example: '95', description: 'decimal string; percentile only' })
  percentile!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { endpoint: { not_in: ['/health'] } },
    description: 'property name -> one of { eq }, { neq }, { in }, { not_in }, { exists }',
  })
  filters!: Record<string, PropertyFilter>;

  @ApiProperty({ type: [String], example: ['region'] })
  group_by!: string[];

  @ApiProperty({ format: 'date-time' })
  published_at!: string;
}

export class MetricView {
  @ApiProperty({ example: 'api_calls' })
  key!: string;

  @ApiProperty({ example: 'API calls' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: 'call' })
  unit!: string | null;

  @ApiProperty({ example: 2, description: 'the highest version number (it may not be in force yet)' })
  latest_version!: number;

  @ApiProperty({ type: [MetricVersionView] })
  versions!: MetricVersionView[];

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'archived metrics reject new usage' })
  archived_at!: string | null;
}

export class MetricPage {
  @ApiProperty({ type: [MetricView] })
  data!: MetricView[];

  @ApiPropertyOptional({ type: String, nullable: true })
  next_cursor!: string | null;
}

export function toMetricView(metric: Metric): MetricView {
  return {
    key: metric.key,
    name: metric.name,
    unit: metric.unit,
    latest_version: metric.versions.length,
    versions: metric.versions.map((version) => ({
      version: version.version,
      effective_from: version.effective_from,
      aggregation: version.aggregation,
      field: version.field,
      percentile: version.percentile ?? null,
      filters: version.filters,
      group_by: version.group_by,
      published_at: version.published_at,
    })),
    created_at: metric.created_at,
    archived_at: metric.archived_at,
  };
}
