import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AllowPublishable, Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { NoIdempotencyKeyHeader } from '../common/idempotency/idempotency.interceptor';
import { UsageComputeRequest } from './dto/usage-compute.request';
import { UsageHistogramQuery } from './dto/usage-histogram.query';
import { UsageSummaryQuery } from './dto/usage-summary.query';
import { UsageService, type ComputeView, type HistogramView, type SummaryView } from './usage.service';

const ERRORS =
  'Errors: 400 (fields named in `errors`), 401, 403, 404 METRIC.NOT_FOUND / CUSTOMER.NOT_FOUND, 422 USAGE.INVALID_PERIOD.';

/**
 * Usage queries with declared consistency: `eventual` (pre-aggregated buckets, with the projector's
 * lag) and `exact` (a complete, checksummed scan after a barrier on the log head). When the
 * projector has caught up, both give the same numbers.
 */
@ApiTags('usage')
@ApiBearerAuth()
@Controller('v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get('summary')
  @Roles('admin', 'finance', 'auditor')
  @AllowPublishable()
  @ApiOperation({
    summary: "A customer's usage of one metric (or of every metric) over a period, pre-aggregated",
    description:
      'Eventually consistent: `meta.lag_seconds` is 0 at the head, else the age of the oldest event not yet ' +
      'projected. Without period_start/period_end: the current billing period of the live subscription, or the ' +
      "current calendar month in the customer's time zone when there is none (`meta.period_basis`). " +
      'unique_count and percentile are read from the raw events (`meta.source`: `raw_events`). ' +
      ERRORS,
  })
  @ApiOkResponse({ description: 'the usage, with `groups` when the metric has group_by' })
  summary(@Query() query: UsageSummaryQuery, @Caller() caller: AuthContext): Promise<SummaryView> {
    return this.usage.summary(caller.tenantId, query);
  }

  @Post('compute')
  @HttpCode(200)
  @Roles('admin', 'finance', 'auditor')
  // A read: a repeated compute must see late events, never replay an earlier answer.
  @NoIdempotencyKeyHeader()
  @ApiOperation({
    summary: 'The exact usage of a customer and metric over a period, with a checksum over its raw events',
    description:
      'Waits (up to 5 s) for the projector to pass the log head seen at request time, else 503 ' +
      'USAGE.NOT_CAUGHT_UP with Retry-After. Then scans every counted event of the period (late ones included, ' +
      'voided ones excluded), each metered by the version in force at its timestamp. `meta.checksum` is ' +
      'defined in libs/domain/src/usage/usage-checksum.ts. ' +
      ERRORS,
  })
  @ApiOkResponse({ description: 'value, event_count, groups (with group_by), meta' })
  compute(@Body() body: UsageComputeRequest, @Caller() caller: AuthContext): Promise<ComputeView> {
    return this.usage.compute(caller.tenantId, body);
  }

  @Get('histogram')
  @Roles('admin', 'finance', 'auditor')
  @AllowPublishable()
  @ApiOperation({
    summary: 'Usage per UTC hour or day, from the pre-aggregated buckets',
    description:
      'from/to on UTC hour (or midnight) boundaries, at most 800 points. Each point is the usage of its own ' +
      'hour or day. ' +
      ERRORS,
  })
  @ApiOkResponse({ description: '`data`: one point per hour or day, empty ones included' })
  histogram(@Query() query: UsageHistogramQuery, @Caller() caller: AuthContext): Promise<HistogramView> {
    return this.usage.histogram(caller.tenantId, query);
  }
}
