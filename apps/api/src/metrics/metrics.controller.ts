import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { RequestId } from '../common/request-id.decorator';
import { ArchiveMetric } from './archive-metric.handler';
import { CreateMetric } from './create-metric.handler';
import { CreateMetricRequest } from './dto/create-metric.request';
import { ListMetricsQuery } from './dto/list-metrics.query';
import { PublishMetricVersionRequest } from './dto/publish-metric-version.request';
import { MetricPage, MetricView } from './metric.view';
import { MetricsReader } from './metrics.reader';
import { PublishMetricVersion } from './publish-metric-version.handler';
import { metricProblem } from './metrics.problems';

const PROBLEMS = 'Errors: 400 unknown field, 401, 403, 404 METRIC.NOT_FOUND, 409, 422 with `errors` naming each field.';

/**
 * Metrics (meters): versioned definitions of how usage events are aggregated. Writes are admin-only;
 * reads are open to admin, finance and auditor keys.
 */
@ApiTags('metrics')
@ApiBearerAuth()
@Controller('v1/metrics')
export class MetricsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: MetricsReader,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a metric (version 1, in force from the beginning of time)',
    description:
      'Idempotent: the same key with the same name, unit and definition answers 201 with the existing metric ' +
      '(a retry looks like the original success); with anything different it is 409 METRIC.ALREADY_EXISTS. ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: MetricView })
  create(
    @Body() body: CreateMetricRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<MetricView> {
    return this.commands.execute(new CreateMetric(caller, requestId, body));
  }

  @Post(':key/versions')
  @HttpCode(201)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'api_calls' })
  @ApiOperation({
    summary: 'Publish a new version of the definition, in force from `effective_from`',
    description:
      "`effective_from` must be later than the latest version's (422 naming it). Name and unit belong to the " +
      'metric and are not versioned. Sending the latest version again is a no-op. Archived metrics take no ' +
      'new versions (409 METRIC.ARCHIVED). ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: MetricView, description: 'the metric with all its versions' })
  publishVersion(
    @Param('key') key: string,
    @Body() body: PublishMetricVersionRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<MetricView> {
    return this.commands.execute(new PublishMetricVersion(caller, requestId, key, body));
  }

  @Post(':key/archive')
  @HttpCode(200)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'api_calls' })
  @ApiOperation({
    summary: 'Archive a metric (idempotent); it stays readable and rejects new usage',
    description:
      'Metrics are never deleted. Refused while a live subscription (scheduled cancellations included) bills ' +
      'it in a charge or limits it in an entitlement: 409 METRIC.IN_USE naming them. ' +
      PROBLEMS,
  })
  @ApiOkResponse({ type: MetricView })
  archive(
    @Param('key') key: string,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<MetricView> {
    return this.commands.execute(new ArchiveMetric(caller, requestId, key));
  }

  @Get()
  @Roles('admin', 'finance', 'auditor')
  @ApiOperation({
    summary: "List the tenant's metrics by key (from the `metrics` read model: follows the projector)",
    description: 'Archived metrics only with `include_archived=true`.',
  })
  @ApiOkResponse({ type: MetricPage })
  list(@Query() query: ListMetricsQuery, @Caller() caller: AuthContext): Promise<MetricPage> {
    return this.reader.list(caller.tenantId, {
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
      cursor: query.cursor,
      includeArchived: query.include_archived ?? false,
    });
  }

  @Get(':key')
  @Roles('admin', 'finance', 'auditor')
  @ApiParam({ name: 'key', example: 'api_calls' })
  @ApiOperation({ summary: 'One metric with all its versions (read from its stream: reflects every write)' })
  @ApiOkResponse({ type: MetricView })
  async get(@Param('key') key: string, @Caller() caller: AuthContext): Promise<MetricView> {
    try {
      return await this.reader.get(caller.tenantId, key);
    } catch (error) {
      throw metricProblem(error);
    }
  }
}
