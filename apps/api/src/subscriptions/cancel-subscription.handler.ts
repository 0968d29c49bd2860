import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EndAt } from '#domain';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { cancelSubscription } from './subscription.operations';
import { toSubscriptionView, type SubscriptionView } from './subscription.view';
import { subscriptionProblem } from './subscriptions.problems';

export class CancelSubscription extends Command<SubscriptionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly id: string,
    readonly end: EndAt,
  ) {
    super();
  }
}

@CommandHandler(CancelSubscription)
export class CancelSubscriptionHandler implements ICommandHandler<CancelSubscription> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, id, end }: CancelSubscription): Promise<SubscriptionView> {
    const now = new Date();
    try {
      const { subscription } = await cancelSubscription({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        id,
        end,
        now: () => now,
      });
      return toSubscriptionView(subscription, now);
    } catch (error) {
      throw subscriptionProblem(error);
    }
  }
}
