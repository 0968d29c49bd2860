import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import type { CreatePricePlanRequest } from './dto/create-price-plan.request';
import { createPricePlan } from './price-plan.operations';
import { toPlanView, type PlanView } from './price-plan.view';
import { planProblem } from './price-plans.problems';

export class CreatePricePlan extends Command<PlanView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CreatePricePlanRequest,
  ) {
    super();
  }
}

@CommandHandler(CreatePricePlan)
export class CreatePricePlanHandler implements ICommandHandler<CreatePricePlan> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, body }: CreatePricePlan): Promise<PlanView> {
    const { key, publish, ...content } = body;
    try {
      const { plan } = await createPricePlan({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        content,
        publish,
      });
      return toPlanView(plan);
    } catch (error) {
      throw planProblem(error);
    }
  }
}
