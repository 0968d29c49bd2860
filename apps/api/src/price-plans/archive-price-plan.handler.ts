import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { archivePricePlan } from './price-plan.operations';
import { toPlanView, type PlanView } from './price-plan.view';
import { planProblem } from './price-plans.problems';

export class ArchivePricePlan extends Command<PlanView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
  ) {
    super();
  }
}

@CommandHandler(ArchivePricePlan)
export class ArchivePricePlanHandler implements ICommandHandler<ArchivePricePlan> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, key }: ArchivePricePlan): Promise<PlanView> {
    try {
      const { plan } = await archivePricePlan({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
      });
      return toPlanView(plan);
    } catch (error) {
      throw planProblem(error);
    }
  }
}
