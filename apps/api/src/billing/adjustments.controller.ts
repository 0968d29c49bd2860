import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { RequestId } from '../common/request-id.decorator';
import { AdjustmentView } from './billing.views';
import { CreateAdjustmentRequest } from './dto/create-adjustment.request';
import { BILLING_WRITERS } from './pricing.controller';
import { RecordAdjustment } from './record-adjustment.handler';

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/adjustments')
export class AdjustmentsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @Roles(...BILLING_WRITERS)
  @ApiOperation({
    summary: 'Record a manual credit (negative) or debit (positive), with its actor and its journal entry',
    description:
      "Pending until an invoice carries it: it appears on the customer's next calculation as its own entry. " +
      'Errors: 400 unknown field, 403, 422 ADJUSTMENT.INVALID naming each field (unknown customer, another ' +
      'currency, zero, finer than the minor unit, an invoice that is not a closed one of the customer).',
  })
  @ApiCreatedResponse({ type: AdjustmentView })
  create(
    @Body() body: CreateAdjustmentRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<AdjustmentView> {
    return this.commands.execute(new RecordAdjustment(caller, requestId, body));
  }
}
