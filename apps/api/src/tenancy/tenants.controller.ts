import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, OperatorOnly, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { ShownOnce } from '../common/idempotency/idempotency.interceptor';
import { RequestId } from '../common/request-id.decorator';
import { CreateTenant } from './create-tenant.handler';
import { CreateTenantRequest } from './dto/create-tenant.request';

export interface CreatedTenantResponse {
  id: string;
  name: string;
  created_at: string;
  /** The tenant's first admin key, shown once. */
  admin_key: string;
}

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @OperatorOnly()
  @ShownOnce('admin_key')
  @ApiOperation({ summary: 'Create a tenant (operator only); its first admin key is in the response, once' })
  @ApiCreatedResponse({ description: '{ id, name, created_at, admin_key }' })
  async create(
    @Body() body: CreateTenantRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<CreatedTenantResponse> {
    const tenant = await this.commands.execute(new CreateTenant(caller, requestId, body.name));
    return { id: tenant.id, name: tenant.name, created_at: tenant.created_at, admin_key: tenant.admin_key };
  }
}
