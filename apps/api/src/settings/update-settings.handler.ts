import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { EventStore } from '#ledger';
import type { AuthContext } from '../common/auth/key-directory';
import { EVENT_STORE } from '../common/tokens';
import type { UpdateSettingsRequest } from './dto/update-settings.request';
import { updateTenantSettings } from './settings.operations';
import { settingsProblem } from './settings.problems';
import { settingsView, type SettingsView } from './settings.view';

/** PUT /v1/settings: the caller's tenant settings, recorded as TenantSettingsUpdated with the actor. */
export class UpdateSettings extends Command<SettingsView> {
  constructor(
    readonly caller: AuthContext,
    readonly requestId: string,
    readonly body: UpdateSettingsRequest,
  ) {
    super();
  }
}

@CommandHandler(UpdateSettings)
export class UpdateSettingsHandler implements ICommandHandler<UpdateSettings> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, requestId, body }: UpdateSettings): Promise<SettingsView> {
    try {
      const { settings } = await updateTenantSettings({
        store: this.store,
        tenantId: caller.tenantId,
        actor: caller.keyId,
        requestId,
        billing_grace_seconds: body.billing_grace_seconds,
      });
      return settingsView(settings);
    } catch (error) {
      throw settingsProblem(error);
    }
  }
}
