import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { CatalogDirectory } from '../common/catalog-directory';
import { EVENT_STORE } from '../common/tokens';
import { createCustomer } from './customer.operations';
import { toCustomerView, type CustomerView } from './customer.view';
import { customerProblem } from './customers.problems';
import type { CreateCustomerRequest } from './dto/create-customer.request';

export class CreateCustomer extends Command<CustomerView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: CreateCustomerRequest,
  ) {
    super();
  }
}

@CommandHandler(CreateCustomer)
export class CreateCustomerHandler implements ICommandHandler<CreateCustomer> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly catalog: CatalogDirectory,
  ) {}

  async execute({ caller, requestId, body }: CreateCustomer): Promise<CustomerView> {
    const { id, ...fields } = body;
    try {
      const { customer, position } = await createCustomer({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        id,
        fields,
      });
      // Read-your-writes for usage ingestion on this replica (the CatalogDirectory follows the log).
      await this.catalog.waitFor(position);
      return toCustomerView(customer);
    } catch (error) {
      throw customerProblem(error);
    }
  }
}
