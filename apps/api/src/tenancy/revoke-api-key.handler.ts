import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import { KeyDirectory, type AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import type { ApiKeyView } from './api-key.view';
import { revokeApiKeyCommand } from './tenancy.operations';

export class RevokeApiKey extends Command<ApiKeyView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly keyId: string,
  ) {
    super();
  }
}

@CommandHandler(RevokeApiKey)
export class RevokeApiKeyHandler implements ICommandHandler<RevokeApiKey> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: KeyDirectory,
  ) {}

  async execute({ caller, requestId, keyId }: RevokeApiKey): Promise<ApiKeyView> {
    const revoked = await revokeApiKeyCommand({
      store: this.store,
      tenantId: caller.tenantId,
      keyId,
      actor: caller.keyId,
      requestId,
    });
    // Once answered, the key is refused here; other replicas follow through their subscription.
    await this.directory.waitFor(revoked.position);
    return revoked.key;
  }
}
