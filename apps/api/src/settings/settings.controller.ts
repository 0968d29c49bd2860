import { Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '#ledger';
import { Caller } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { RequestId } from '../common/request-id.decorator';
import { EVENT_STORE } from '../common/tokens';
import { UpdateSettingsRequest } from './dto/update-settings.request';
import { loadTenantSettings } from './settings.operations';
import { UpdateSettings } from './update-settings.handler';
import { settingsView, SettingsView } from './settings.view';

/** The caller's tenant settings. No @Roles: admin only, reads included. */
@ApiTags('settings')
@ApiBearerAuth()
@Controller('v1/settings')
export class SettingsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get()
  @ApiOperation({ summary: "The tenant's settings (defaults until changed): billing_grace_seconds" })
  @ApiOkResponse({ type: SettingsView })
  async get(@Caller() caller: AuthContext): Promise<SettingsView> {
    return settingsView(await loadTenantSettings(this.store, caller.tenantId));
  }

  @Put()
  @ApiOperation({
    summary: "Replace the tenant's settings (admin); the same settings again change nothing",
    description: 'Errors: 400 unknown or bad field, 403 not admin, 422 SETTINGS.INVALID naming the field.',
  })
  @ApiOkResponse({ type: SettingsView })
  put(
    @Body() body: UpdateSettingsRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<SettingsView> {
    return this.commands.execute(new UpdateSettings(caller, requestId, body));
  }
}
