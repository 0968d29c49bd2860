import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { RequestId } from '../common/request-id.decorator';
import { ArchiveCustomer } from './archive-customer.handler';
import { CreateCustomer } from './create-customer.handler';
import { CustomerPage, CustomerView } from './customer.view';
import { CustomersReader } from './customers.reader';
import { customerProblem } from './customers.problems';
import { CreateCustomerRequest } from './dto/create-customer.request';
import { ListCustomersQuery } from './dto/list-customers.query';
import { UpdateCustomerRequest } from './dto/update-customer.request';
import { UpdateCustomer } from './update-customer.handler';

const PROBLEMS =
  'Errors: 400 unknown field, 401, 403, 404 CUSTOMER.NOT_FOUND, 409, 422 with `errors` naming each field.';
/** Finance keys manage how customers pay; everything else about a customer is an admin's call. */
const FINANCE_FIELDS: ReadonlySet<string> = new Set(['payment']);

/**
 * Customers: who is billed, in which currency and time zone, and how they pay. Never deleted.
 * Admin keys do everything; finance keys may change payment details; auditors read.
 */
@ApiTags('customers')
@ApiBearerAuth()
@Controller('v1/customers')
export class CustomersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: CustomersReader,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a customer with the id you choose',
    description:
      'Idempotent: the same id with the same details answers 201 with the existing customer (a retry looks ' +
      'like the original success); with different details it is 409 CUSTOMER.ALREADY_EXISTS. ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: CustomerView })
  create(
    @Body() body: CreateCustomerRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<CustomerView> {
    return this.commands.execute(new CreateCustomer(caller, requestId, body));
  }

  @Patch(':id')
  @HttpCode(200)
  @Roles('admin', 'finance')
  @ApiParam({ name: 'id', example: 'cust_acme' })
  @ApiOperation({
    summary: 'Change contact and payment details (name, email, payment, metadata)',
    description:
      'Only the fields sent change; payment and metadata are replaced whole; email and payment may be null. ' +
      'Currency and timezone are fixed once created (422 CUSTOMER.IMMUTABLE_FIELD). Finance keys may only ' +
      'change `payment`. Archived customers cannot change (409 CUSTOMER.ARCHIVED). ' +
      PROBLEMS,
  })
  @ApiOkResponse({ type: CustomerView })
  update(
    @Param('id') id: string,
    @Body() body: UpdateCustomerRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<CustomerView> {
    if (caller.role === 'finance') {
      const denied = Object.keys(body).filter(
        (field) => body[field as keyof UpdateCustomerRequest] !== undefined && !FINANCE_FIELDS.has(field),
      );
      if (denied.length > 0) {
        throw new ApiProblem(
          'AUTH.FORBIDDEN',
          `finance keys may only change payment details, not: ${denied.join(', ')}`,
        );
      }
    }
    return this.commands.execute(new UpdateCustomer(caller, requestId, id, body));
  }

  @Post(':id/archive')
  @HttpCode(200)
  @Roles('admin')
  @ApiParam({ name: 'id', example: 'cust_acme' })
  @ApiOperation({
    summary: 'Archive a customer instead of deleting it (idempotent)',
    description: 'Refused while the customer has live subscriptions (409 CUSTOMER.HAS_LIVE_SUBSCRIPTIONS). ' + PROBLEMS,
  })
  @ApiOkResponse({ type: CustomerView })
  archive(
    @Param('id') id: string,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<CustomerView> {
    return this.commands.execute(new ArchiveCustomer(caller, requestId, id));
  }

  @Get()
  @Roles('admin', 'finance', 'auditor')
  @ApiOperation({
    summary: "List the tenant's customers by id (from the `customers` read model: follows the projector)",
    description: 'Archived customers only with `include_archived=true`.',
  })
  @ApiOkResponse({ type: CustomerPage })
  list(@Query() query: ListCustomersQuery, @Caller() caller: AuthContext): Promise<CustomerPage> {
    return this.reader.list(caller.tenantId, {
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
      cursor: query.cursor,
      includeArchived: query.include_archived ?? false,
    });
  }

  @Get(':id')
  @Roles('admin', 'finance', 'auditor')
  @ApiParam({ name: 'id', example: 'cust_acme' })
  @ApiOperation({ summary: 'One customer (read from its stream: reflects every write)' })
  @ApiOkResponse({ type: CustomerView })
  async get(@Param('id') id: string, @Caller() caller: AuthContext): Promise<CustomerView> {
    try {
      return await this.reader.get(caller.tenantId, id);
    } catch (error) {
      throw customerProblem(error);
    }
  }
}
