import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import { KeyDirectory, type AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import { createTenantCommand, type CreatedTenant } from './tenancy.operations';

export class CreateTenant extends Command<CreatedTenant> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly name: string,
  ) {
    super();
  }
}

@CommandHandler(CreateTenant)
export class CreateTenantHandler implements ICommandHandler<CreateTenant> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: KeyDirectory,
  ) {}

  async execute({ caller, requestId, name }: CreateTenant): Promise<CreatedTenant> {
    const created = await createTenantCommand({ store: this.store, name, actor: caller.keyId, requestId });
    await this.directory.waitFor(created.position);
    return created.tenant;
  }
}
