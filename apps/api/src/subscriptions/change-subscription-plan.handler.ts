import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogReferenceLock } from '../common/catalog-reference-lock';
import { EVENT_STORE } from '../common/tokens';
import type { ChangeSubscriptionPlanRequest } from './dto/end-subscription.request';
import { changeSubscriptionPlan } from './subscription.operations';
import { toSubscriptionView, type SubscriptionView } from './subscription.view';
import { subscriptionProblem } from './subscriptions.problems';

export class ChangeSubscriptionPlan extends Command<SubscriptionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly id: string,
    readonly body: ChangeSubscriptionPlanRequest,
  ) {
    super();
  }
}

/** Answers with the subscription that continues this one (it names this one as its previous). */
@CommandHandler(ChangeSubscriptionPlan)
export class ChangeSubscriptionPlanHandler implements ICommandHandler<ChangeSubscriptionPlan> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly references: CatalogReferenceLock,
  ) {}

  async execute({ caller, requestId, id, body }: ChangeSubscriptionPlan): Promise<SubscriptionView> {
    const now = new Date();
    const { at, ...request } = body;
    try {
      // Under the tenant's reference lock: an archive of its customer or metric cannot pass meanwhile.
      const { subscription } = await this.references.run(caller.tenantId, () =>
        changeSubscriptionPlan({
          store: this.store,
          tenantId: caller.tenantId,
          actor: caller.keyId,
          requestId,
          id,
          request,
          end: at,
          now: () => now,
        }),
      );
      return toSubscriptionView(subscription, now);
    } catch (error) {
      throw subscriptionProblem(error);
    }
  }
}
