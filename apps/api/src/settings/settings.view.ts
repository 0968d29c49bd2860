import { ApiProperty } from '@nestjs/swagger';
import type { TenantSettings } from '#domain';

export class SettingsView {
  @ApiProperty({ example: 3600 }) billing_grace_seconds!: number;
  @ApiProperty({ nullable: true, type: String, description: 'null while the settings are the defaults' })
  updated_at!: string | null;
}

export function settingsView(settings: TenantSettings): SettingsView {
  return { billing_grace_seconds: settings.billing_grace_seconds, updated_at: settings.updated_at };
}
