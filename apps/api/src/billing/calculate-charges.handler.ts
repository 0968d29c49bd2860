import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { AuthContext } from '../common/auth/key-directory';
import { billingProblem } from './billing.problems';
import { BillingService } from './billing.service';
import { calculationView, type CalculationResponse } from './billing.views';
import { calculateCharges } from './calculation';
import type { CalculateRequest } from './dto/calculate.request';

/** POST /v1/pricing/calculate: the exact calculation of a subscription period, stored once. */
export class CalculateCharges extends Command<CalculationResponse> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CalculateRequest,
  ) {
    super();
  }
}

@CommandHandler(CalculateCharges)
export class CalculateChargesHandler implements ICommandHandler<CalculateCharges> {
  constructor(private readonly billing: BillingService) {}

  async execute({ caller, requestId, body }: CalculateCharges): Promise<CalculationResponse> {
    try {
      const ctx = this.billing.context(caller, requestId);
      const period = await this.billing.period(ctx, body.subscription_id, body.period_start, body.period_end);
      const { calculation, record } = await calculateCharges({
        ...ctx,
        subscriptionId: body.subscription_id,
        period,
        metadata: { tenant_id: ctx.tenantId, actor: ctx.actor, request_id: requestId },
      });
      return { ...calculationView(calculation), meta: { consistency: 'exact', as_of_position: record.as_of_position } };
    } catch (error) {
      throw billingProblem(error);
    }
  }
}
