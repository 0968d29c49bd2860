import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { RequestId } from '../common/request-id.decorator';
import { CalculationResponse } from './billing.views';
import { CalculateCharges } from './calculate-charges.handler';
import { CalculateRequest } from './dto/calculate.request';

/** Finance and admin price; auditors read invoices (and their explanations), publishable keys nothing. */
export const BILLING_WRITERS = ['admin', 'finance'] as const;
export const BILLING_READERS = ['admin', 'finance', 'auditor'] as const;

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/pricing')
export class PricingController {
  constructor(private readonly commands: CommandBus) {}

  @Post('calculate')
  @HttpCode(200)
  @Roles(...BILLING_WRITERS)
  @ApiOperation({
    summary: 'Price a subscription period exactly (stored once as ChargesCalculated; same inputs, same calc_ id)',
    description:
      'Usage from the exact path: waits (bounded) for the usage projection to reach the log head, else 503 ' +
      'CALCULATION.NOT_CAUGHT_UP with Retry-After. Flat fees and the minimum commitment are prorated by the ' +
      "subscription's recorded factors; overrides are in its charges; the customer's pending adjustments are " +
      'their own entries in `adjustments`. Errors: 400 unknown field, 403, 404 SUBSCRIPTION.NOT_FOUND, ' +
      '422 CALCULATION.INVALID_PERIOD (not one of its billing periods, or not active in it).',
  })
  @ApiOkResponse({ type: CalculationResponse })
  calculate(
    @Body() body: CalculateRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<CalculationResponse> {
    return this.commands.execute(new CalculateCharges(caller, requestId, body));
  }
}
