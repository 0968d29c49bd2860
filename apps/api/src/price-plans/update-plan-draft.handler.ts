import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { findPlanVersion, type PlanVersionInput } from '#domain';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { updatePlanDraft } from './price-plan.operations';
import { toPlanVersionView, type PlanVersionView } from './price-plan.view';
import { planProblem } from './price-plans.problems';

export class UpdatePlanDraft extends Command<PlanVersionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
    readonly version: number,
    readonly changes: PlanVersionInput,
  ) {
    super();
  }
}

@CommandHandler(UpdatePlanDraft)
export class UpdatePlanDraftHandler implements ICommandHandler<UpdatePlanDraft> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, key, version, changes }: UpdatePlanDraft): Promise<PlanVersionView> {
    try {
      const { plan } = await updatePlanDraft({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        version,
        changes,
      });
      return toPlanVersionView(findPlanVersion(plan, version)!);
    } catch (error) {
      throw planProblem(error);
    }
  }
}
