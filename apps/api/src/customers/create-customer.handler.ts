import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
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
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, body }: CreateCustomer): Promise<CustomerView> {
    const { id, ...fields } = body;
    try {
      const { customer } = await createCustomer({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        id,
        fields,
      });
      return toCustomerView(customer);
    } catch (error) {
      throw customerProblem(error);
    }
  }
}
