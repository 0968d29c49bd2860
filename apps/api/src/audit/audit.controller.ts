import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import type { EventStore } from '#ledger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { NoIdempotencyKeyHeader } from '../common/idempotency/idempotency.interceptor';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { EVENT_STORE, PG_POOL } from '../common/tokens';
import { billingProblem } from '../billing/billing.problems';
import { AuditLogQueryError, AuditLogUnavailableError, readAuditLog, type AuditLogPage } from './audit-log.reader';
import { AuditLogPageView, InvoiceReproductionView } from './audit.views';
import { AuditLogQueryRequest } from './dto/audit-log.query';
import { reproduceInvoice, type InvoiceReproduction } from './reproduce-invoice';

/** For auditors: reproduce an invoice from the event store alone; who did what, when. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1')
export class AuditController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  @Post('invoices/:id/reproduce')
  @HttpCode(200)
  @Roles('auditor', 'admin', 'finance')
  // A read: it recomputes every time (a stored answer would defeat its purpose).
  @NoIdempotencyKeyHeader()
  @ApiParam({ name: 'id', example: 'inv_9a…' })
  @ApiOperation({
    summary: 'Rebuild a closed invoice from the event store alone and compare it with the recorded one',
    description:
      'Replays the log (no read model, no cache) up to the position its calculation read, recalculates with ' +
      'the same pure function and compares the rebuilt document with the recorded one: `match` and both ' +
      'checksums; on a mismatch `first_difference` names the first differing line and member. ' +
      '404 INVOICE.NOT_FOUND, 409 INVOICE.NOT_CLOSED (a draft).',
  })
  @ApiOkResponse({ type: InvoiceReproductionView })
  async reproduce(@Param('id') id: string, @Caller() caller: AuthContext): Promise<InvoiceReproduction> {
    try {
      return await reproduceInvoice({ store: this.store, tenantId: caller.tenantId, invoiceId: id });
    } catch (error) {
      throw billingProblem(error);
    }
  }

  @Get('audit-log')
  @Roles('auditor', 'admin')
  @ApiOperation({
    summary: 'Who did what, when: one entry per event (actor, request id, stream, times), newest first',
    description:
      'From the `audit_log` projection (eventual: `meta.as_of`). Usage events (UsageRecorded) are not listed: ' +
      "the ingestion hot path; their actor and request id are in each event's metadata. `since` inclusive, " +
      '`until` exclusive, on the log time; `type` takes a comma-separated list.',
  })
  @ApiOkResponse({ type: AuditLogPageView })
  async auditLog(@Query() query: AuditLogQueryRequest, @Caller() caller: AuthContext): Promise<AuditLogPage> {
    try {
      return await readAuditLog(this.pool, {
        tenantId: caller.tenantId,
        since: query.since,
        until: query.until,
        actor: query.actor,
        types: query.type?.split(',').map((type) => type.trim()),
        stream: query.stream,
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
        cursor: query.cursor,
      });
    } catch (error) {
      if (error instanceof AuditLogQueryError) {
        throw new ApiProblem('REQUEST.VALIDATION_FAILED', error.message, { errors: error.errors });
      }
      if (error instanceof AuditLogUnavailableError) throw new ApiProblem('SERVICE.UNAVAILABLE', error.message);
      throw error;
    }
  }
}
