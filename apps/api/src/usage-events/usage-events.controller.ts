import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { NoIdempotencyKeyHeader } from '../common/idempotency/idempotency.interceptor';
import { RequestId } from '../common/request-id.decorator';
import { ListUsageEventsQuery } from './dto/list-usage-events.query';
import { RecordUsageRequest } from './dto/record-usage.request';
import { UsageBackfillRequest, UsageBatchRequest } from './dto/usage-batch.request';
import { VoidUsageRequest } from './dto/void-usage.request';
import { DirectHandler, ExactNumbers } from './direct-handler.decorator';
import { RecordUsage, type RecordedUsageView } from './record-usage.handler';
import { RecordUsageBatch } from './record-usage-batch.handler';
import { checkEventBody, parseBatchEnvelope, type BatchResponse } from './usage-batch.envelope';
import { UsageEventsReader, type UsageEventPage } from './usage-events.reader';
import { VoidUsage, type VoidedUsageView } from './void-usage.handler';

const SEMANTICS =
  'Answered only after the event is committed. Same idempotency_key + same payload: 202 `duplicate`, nothing ' +
  'recorded, the original id. Same key + another payload: 409 EVENT.IDEMPOTENCY_CONFLICT naming the key and ' +
  'the existing event id. (KurrentDB mode cannot check keys synchronously: every new event is `accepted` and ' +
  'the usage projection counts the first event of a key.) ';

/**
 * Usage events: the ingestion hot path (POST), corrections (void, backfill) and the raw list (GET).
 * Ingestion validates from memory (keys, customers, metrics) and writes through group commit. The two
 * ingestion routes are served by direct Fastify handlers (usage-events.direct-routes.ts); their methods
 * here declare them and do the same work if called through Nest.
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('v1/events')
export class UsageEventsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: UsageEventsReader,
  ) {}

  @Post()
  @HttpCode(202)
  @Roles('ingest', 'admin')
  @NoIdempotencyKeyHeader()
  @DirectHandler('record')
  @ApiOperation({
    summary: 'Record one usage event',
    description:
      SEMANTICS + 'Errors: 400 unknown field, 401, 403, 409, 422 EVENT.INVALID with `errors` naming each field.',
  })
  @ApiBody({ type: RecordUsageRequest })
  @ApiResponse({ status: 202, description: '`{ id, status: "accepted" | "duplicate", idempotency_key }`' })
  record(
    @Body() body: unknown,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<RecordedUsageView> {
    return this.commands.execute(new RecordUsage(caller, requestId, checkEventBody(body)));
  }

  @Post('batch')
  @HttpCode(207)
  @Roles('ingest', 'admin')
  @NoIdempotencyKeyHeader()
  @DirectHandler('batch')
  @ApiBody({ type: UsageBatchRequest })
  @ApiOperation({
    summary: 'Record up to 500 usage events; one result per event, in order',
    description:
      SEMANTICS +
      'Each event is judged alone: `{ index, status: 202 | 409 | 422, id?, outcome?, idempotency_key?, error? }`. ' +
      'A key repeated inside the batch: the first occurrence counts. Empty: 422 EVENT.BATCH_EMPTY; more than 500: ' +
      '413 EVENT.BATCH_TOO_LARGE.',
  })
  @ApiResponse({
    status: 207,
    description: '`{ results: [...], summary: { accepted, duplicate, conflict, invalid } }`',
  })
  batch(@Body() body: unknown, @Caller() caller: AuthContext, @RequestId() requestId: string): Promise<BatchResponse> {
    const { events } = parseBatchEnvelope(body, false);
    return this.commands.execute(new RecordUsageBatch(caller, requestId, events, { kind: 'ingest' }));
  }

  @Post('backfill')
  @HttpCode(207)
  @Roles('finance', 'admin')
  @NoIdempotencyKeyHeader()
  @ExactNumbers()
  @ApiBody({ type: UsageBackfillRequest })
  @ApiOperation({
    summary: 'Record past usage of any age (up to 500 events), with the reason, as source "backfill"',
    description:
      'Like /v1/events/batch, except that timestamps of any age are accepted (still not more than 5 minutes ' +
      'in the future); each event records `source: "backfill"` and `backfill_reason`, so the audit trail shows it.',
  })
  @ApiResponse({ status: 207, description: 'as /v1/events/batch' })
  backfill(
    @Body() body: unknown,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<BatchResponse> {
    const { events, reason } = parseBatchEnvelope(body, true);
    return this.commands.execute(
      new RecordUsageBatch(caller, requestId, events, { kind: 'backfill', reason: reason! }),
    );
  }

  @Post(':id/void')
  @HttpCode(200)
  @Roles('finance', 'admin')
  @NoIdempotencyKeyHeader()
  @ApiParam({ name: 'id', description: 'the usage event id answered by POST /v1/events' })
  @ApiOperation({
    summary: 'Void a usage event (it stops counting; the original stays in the log)',
    description:
      'Idempotent: voiding again answers the first void and records nothing. Unknown id: 404 EVENT.NOT_FOUND.',
  })
  @ApiOkResponse({ description: '`{ id, status: "voided", reason, voided_at, voided_by }`' })
  void(
    @Param('id') id: string,
    @Body() body: VoidUsageRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<VoidedUsageView> {
    return this.commands.execute(new VoidUsage(caller, requestId, id, body.reason));
  }

  @Get()
  @Roles('admin', 'finance', 'auditor')
  @ApiOperation({
    summary: "One customer's recorded events, of one metric or of all, by timestamp (eventually consistent)",
    description:
      'From the usage projection: `meta.consistency` is `eventual`, `meta.lag_seconds` 0 at the head. Keyset ' +
      'pages (`next_cursor`); voided events are listed with `voided_at`. Exact totals: POST /v1/usage/compute.',
  })
  @ApiOkResponse({ description: '`{ data: [...], next_cursor, meta: { consistency, as_of, lag_seconds } }`' })
  list(@Query() query: ListUsageEventsQuery, @Caller() caller: AuthContext): Promise<UsageEventPage> {
    return this.reader.list(caller.tenantId, query);
  }
}
