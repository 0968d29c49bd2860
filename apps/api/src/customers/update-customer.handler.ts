import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { updateCustomer } from './customer.operations';
import { toCustomerView, type CustomerView } from './customer.view';
import { customerProblem } from './customers.problems';
import type { UpdateCustomerRequest } from './dto/update-customer.request';

export class UpdateCustomer extends Command<CustomerView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly id: string,
    readonly body: UpdateCustomerRequest,
  ) {
    super();
  }
}

@CommandHandler(UpdateCustomer)
export class UpdateCustomerHandler implements ICommandHandler<UpdateCustomer> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, id, body }: UpdateCustomer): Promise<CustomerView> {
    try {
      const { customer } = await updateCustomer({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        id,
        fields: { ...body },
      });
      return toCustomerView(customer);
    } catch (error) {
      throw customerProblem(error);
    }
  }
}
