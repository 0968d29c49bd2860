import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE, type Page } from '../common/pagination';
import { RequestId } from '../common/request-id.decorator';
import { billingProblem } from './billing.problems';
import { InvoiceView } from './billing.views';
import type { BulkInvoicesResult } from './bulk-invoices.operations';
import { BulkInvoices } from './bulk-invoices.handler';
import { CloseInvoice } from './close-invoice.handler';
import { DraftInvoice } from './draft-invoice.handler';
import { BulkInvoicesRequest } from './dto/bulk-invoices.request';
import { CloseInvoiceRequest } from './dto/close-invoice.request';
import { CreateInvoiceRequest } from './dto/create-invoice.request';
import { ExplainInvoiceQuery } from './dto/explain-invoice.query';
import { ListInvoicesQuery } from './dto/list-invoices.query';
import { VoidInvoiceRequest } from './dto/void-invoice.request';
import type { InvoiceExplanation } from './invoice-explain';
import { InvoicesReader, type InvoiceSummary } from './invoices.reader';
import { BILLING_READERS, BILLING_WRITERS } from './pricing.controller';
import { VoidInvoice } from './void-invoice.handler';

const PROBLEMS =
  'Errors: 400 unknown field, 403, 404 INVOICE.NOT_FOUND, 409 INVOICE.CLOSED (a closed invoice never changes), ' +
  '422 INVOICE.INVALID naming each field, 503 CALCULATION.NOT_CAUGHT_UP (Retry-After).';

/** Invoices: drafted from exact calculations, closed once with a gapless number, voided by a credit note. */
@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/invoices')
export class InvoicesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: InvoicesReader,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles(...BILLING_WRITERS)
  @ApiOperation({
    summary: 'Draft the invoice of a subscription period (idempotent: its id derives from subscription and period)',
    description:
      'An existing draft is recalculated; a closed invoice is answered as it is. 404 SUBSCRIPTION.NOT_FOUND, ' +
      '422 CALCULATION.INVALID_PERIOD. ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: InvoiceView })
  create(
    @Body() body: CreateInvoiceRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<InvoiceView> {
    return this.commands.execute(new DraftInvoice(caller, requestId, body));
  }

  @Post('bulk')
  @HttpCode(200)
  @Roles(...BILLING_WRITERS)
  @ApiOperation({
    summary: 'Draft (or close) the invoices of every subscription whose period ended at period_end',
    description:
      'Idempotent: running it again creates nothing new (drafts are refreshed, closed invoices left alone). ' +
      'Answers counts; a subscription that failed is listed in `failed` and completed by a later run.',
  })
  bulk(
    @Body() body: BulkInvoicesRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<BulkInvoicesResult> {
    return this.commands.execute(new BulkInvoices(caller, requestId, body));
  }

  @Get()
  @Roles(...BILLING_READERS)
  @ApiOperation({ summary: 'List invoices by id (from the `invoices` read model: follows the projector)' })
  list(@Query() query: ListInvoicesQuery, @Caller() caller: AuthContext): Promise<Page<InvoiceSummary>> {
    return this.reader.list(caller.tenantId, {
      customerId: query.customer_id,
      status: query.status,
      cursor: query.cursor,
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
    });
  }

  @Get(':id')
  @Roles(...BILLING_READERS)
  @ApiParam({ name: 'id', example: 'inv_9a…' })
  @ApiOperation({ summary: 'One invoice, from its stream; a draft is recalculated first (it follows its usage)' })
  @ApiOkResponse({ type: InvoiceView })
  async get(
    @Param('id') id: string,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<InvoiceView> {
    try {
      return await this.reader.get(caller, requestId, id);
    } catch (error) {
      throw billingProblem(error);
    }
  }

  @Get(':id/explain')
  @Roles(...BILLING_READERS)
  @ApiParam({ name: 'id', example: 'inv_9a…' })
  @ApiOperation({
    summary: 'Why was I charged this? Metric versions, aggregation, tier arithmetic and the events behind each line',
    description: '`?line=<charge_key>` adds a page of the events behind that line (`?limit=&cursor=`).',
  })
  async explain(
    @Param('id') id: string,
    @Query() query: ExplainInvoiceQuery,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<InvoiceExplanation> {
    try {
      return await this.reader.explain(caller, requestId, id, {
        line: query.line,
        cursor: query.cursor,
        limit: query.limit ?? DEFAULT_PAGE_SIZE,
      });
    } catch (error) {
      throw billingProblem(error);
    }
  }

  @Post(':id/close')
  @HttpCode(200)
  @Roles(...BILLING_WRITERS)
  @ApiParam({ name: 'id', example: 'inv_9a…' })
  @ApiOperation({
    summary: 'Close: last recalculation, customer and plan snapshots, tax as given, the next gapless INV- number',
    description:
      'Closing again with the same body answers the closed invoice; with other tax 409 INVOICE.CLOSED. ' + PROBLEMS,
  })
  @ApiOkResponse({ type: InvoiceView })
  close(
    @Param('id') id: string,
    @Body() body: CloseInvoiceRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<InvoiceView> {
    return this.commands.execute(new CloseInvoice(caller, requestId, id, body));
  }

  @Post(':id/void')
  @HttpCode(200)
  @Roles(...BILLING_WRITERS)
  @ApiParam({ name: 'id', example: 'inv_9a…' })
  @ApiOperation({
    summary: 'Void a closed invoice: it stays, and a credit note reverses it in the ledger (a second void is a no-op)',
    description: '409 INVOICE.NOT_CLOSED (a draft), INVOICE.ALREADY_PAID. ' + PROBLEMS,
  })
  @ApiOkResponse({ type: InvoiceView })
  void(
    @Param('id') id: string,
    @Body() body: VoidInvoiceRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<InvoiceView> {
    return this.commands.execute(new VoidInvoice(caller, requestId, id, body.reason));
  }
}
