import { Module } from '@nestjs/common';
import { SettingsController } from './settings.controller';
import { UpdateSettingsHandler } from './update-settings.handler';
import './settings.problems';

/** Tenant settings over HTTP (GET and PUT /v1/settings, admin only). */
@Module({
  controllers: [SettingsController],
  providers: [UpdateSettingsHandler],
})
export class SettingsModule {}
