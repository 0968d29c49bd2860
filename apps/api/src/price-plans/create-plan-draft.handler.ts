import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { PlanVersionInput } from '#domain';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { createPlanDraft } from './price-plan.operations';
import { toPlanVersionView, type PlanVersionView } from './price-plan.view';
import { planProblem } from './price-plans.problems';

export class CreatePlanDraft extends Command<PlanVersionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
    readonly changes: PlanVersionInput,
  ) {
    super();
  }
}

@CommandHandler(CreatePlanDraft)
export class CreatePlanDraftHandler implements ICommandHandler<CreatePlanDraft> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, key, changes }: CreatePlanDraft): Promise<PlanVersionView> {
    try {
      const { plan } = await createPlanDraft({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        changes,
      });
      return toPlanVersionView(plan.versions[plan.versions.length - 1]);
    } catch (error) {
      throw planProblem(error);
    }
  }
}
