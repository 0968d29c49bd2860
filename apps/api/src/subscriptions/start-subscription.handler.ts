import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogReferenceLock } from '../common/catalog-reference-lock';
import { EVENT_STORE } from '../common/tokens';
import type { StartSubscriptionRequest } from './dto/start-subscription.request';
import { startSubscription } from './subscription.operations';
import { toSubscriptionView, type SubscriptionView } from './subscription.view';
import { subscriptionProblem } from './subscriptions.problems';

export class StartSubscription extends Command<SubscriptionView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: StartSubscriptionRequest,
  ) {
    super();
  }
}

@CommandHandler(StartSubscription)
export class StartSubscriptionHandler implements ICommandHandler<StartSubscription> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly references: CatalogReferenceLock,
  ) {}

  async execute({ caller, requestId, body }: StartSubscription): Promise<SubscriptionView> {
    const now = new Date();
    try {
      // Under the tenant's reference lock: an archive of its customer or metric cannot pass meanwhile.
      const { subscription } = await this.references.run(caller.tenantId, () =>
        startSubscription({
          store: this.store,
          tenantId: caller.tenantId,
          actor: caller.keyId,
          requestId,
          request: { ...body },
          now: () => now,
        }),
      );
      return toSubscriptionView(subscription, now);
    } catch (error) {
      throw subscriptionProblem(error);
    }
  }
}
