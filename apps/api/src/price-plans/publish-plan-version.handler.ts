import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { findPlanVersion } from '#domain';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { publishPlanVersion } from './price-plan.operations';
import { toPlanVersionView, type PlanVersionView } from './price-plan.view';
import { planProblem } from './price-plans.problems';

export class PublishPlanVersion extends Command<PlanVersionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: string,
    readonly version: number,
  ) {
    super();
  }
}

@CommandHandler(PublishPlanVersion)
export class PublishPlanVersionHandler implements ICommandHandler<PublishPlanVersion> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, key, version }: PublishPlanVersion): Promise<PlanVersionView> {
    try {
      const { plan } = await publishPlanVersion({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        key,
        version,
      });
      return toPlanVersionView(findPlanVersion(plan, version)!);
    } catch (error) {
      throw planProblem(error);
    }
  }
}
