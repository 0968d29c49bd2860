import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE, PageQuery } from '../common/pagination';
import { CustomerBalanceView, LedgerPage } from './billing.views';
import { CustomerLedgerReader } from './customer-ledger.reader';
import { BILLING_READERS } from './pricing.controller';

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/customers')
export class CustomerLedgerController {
  constructor(private readonly reader: CustomerLedgerReader) {}

  @Get(':id/balance')
  @Roles(...BILLING_READERS)
  @ApiParam({ name: 'id', example: 'cust_acme' })
  @ApiOperation({
    summary: "The customer's ledger balances per account and currency (the `ledger_balances` read model)",
  })
  @ApiOkResponse({ type: CustomerBalanceView })
  balance(@Param('id') id: string, @Caller() caller: AuthContext): Promise<CustomerBalanceView> {
    return this.reader.balance(caller.tenantId, id);
  }

  @Get(':id/ledger')
  @Roles(...BILLING_READERS)
  @ApiParam({ name: 'id', example: 'cust_acme' })
  @ApiOperation({ summary: "The customer's journal entries in posting order (`?limit=&cursor=`)" })
  @ApiOkResponse({ type: LedgerPage })
  ledger(@Param('id') id: string, @Query() query: PageQuery, @Caller() caller: AuthContext): Promise<LedgerPage> {
    return this.reader.ledger(caller.tenantId, id, { cursor: query.cursor, limit: query.limit ?? DEFAULT_PAGE_SIZE });
  }
}
