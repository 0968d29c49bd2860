import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogReferenceLock } from '../common/catalog-reference-lock';
import { CatalogDirectory } from '../common/catalog-directory';
import { EVENT_STORE } from '../common/tokens';
import { archiveCustomer } from './customer.operations';
import { toCustomerView, type CustomerView } from './customer.view';
import { customerProblem } from './customers.problems';
import { LIVE_SUBSCRIPTION_COUNTER, type LiveSubscriptionCounter } from './live-subscriptions';

export class ArchiveCustomer extends Command<CustomerView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly id: string,
  ) {
    super();
  }
}

@CommandHandler(ArchiveCustomer)
export class ArchiveCustomerHandler implements ICommandHandler<ArchiveCustomer> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LIVE_SUBSCRIPTION_COUNTER) private readonly subscriptions: LiveSubscriptionCounter,
    private readonly catalog: CatalogDirectory,
    private readonly references: CatalogReferenceLock,
  ) {}

  async execute({ caller, requestId, id }: ArchiveCustomer): Promise<CustomerView> {
    try {
      // Under the tenant's reference lock: a subscription using it cannot start meanwhile.
      const { customer, position } = await this.references.run(caller.tenantId, () =>
        archiveCustomer({
          store: this.store,
          tenantId: caller.tenantId,
          actor: caller.keyId,
          requestId,
          id,
          liveSubscriptions: () => this.subscriptions.countLive(caller.tenantId, id),
        }),
      );
      // Read-your-writes for usage ingestion on this replica (the CatalogDirectory follows the log).
      await this.catalog.waitFor(position);
      return toCustomerView(customer);
    } catch (error) {
      throw customerProblem(error);
    }
  }
}
