import { Module } from '@nestjs/common';
import { ApiKeysController } from './api-keys.controller';
import { CreateTenantHandler } from './create-tenant.handler';
import { IssueApiKeyHandler } from './issue-api-key.handler';
import { RevokeApiKeyHandler } from './revoke-api-key.handler';
import { TenantsController } from './tenants.controller';
import './tenancy.problems';

@Module({
  controllers: [ApiKeysController, TenantsController],
  providers: [IssueApiKeyHandler, RevokeApiKeyHandler, CreateTenantHandler],
})
export class TenancyModule {}
