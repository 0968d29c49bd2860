import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ApiKeyKind, ApiKeyRole } from '#domain';
import type { EventStore } from '#ledger';
import { KeyDirectory, type AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import type { IssuedApiKey } from './api-key.view';
import { issueApiKeyCommand } from './tenancy.operations';

export class IssueApiKey extends Command<IssuedApiKey> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly key: { name?: string; role: ApiKeyRole; kind: ApiKeyKind },
  ) {
    super();
  }
}

@CommandHandler(IssueApiKey)
export class IssueApiKeyHandler implements ICommandHandler<IssueApiKey> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: KeyDirectory,
  ) {}

  async execute({ caller, requestId, key }: IssueApiKey): Promise<IssuedApiKey> {
    const issued = await issueApiKeyCommand({
      store: this.store,
      tenantId: caller.tenantId,
      ...key,
      actor: caller.keyId,
      requestId,
      verifyTenant: false,
    });
    // Read-your-writes: the new key must authenticate on the caller's very next request.
    await this.directory.waitFor(issued.position);
    return issued.key;
  }
}
