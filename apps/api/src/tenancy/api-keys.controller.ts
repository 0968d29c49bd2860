import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import { KeyDirectory, type AuthContext } from '../common/auth/key-directory';
import {
  DEFAULT_PAGE_SIZE,
  PageQuery,
  decodeCursor,
  encodeCursor,
  invalidCursor,
  listScope,
  type Page,
} from '../common/pagination';
import { ShownOnce } from '../common/idempotency/idempotency.interceptor';
import { ApiProblem } from '../common/problems/api-problem';
import { RequestId } from '../common/request-id.decorator';
import { toApiKeyView, type ApiKeyView, type IssuedApiKey } from './api-key.view';
import { CreateApiKeyRequest } from './dto/create-api-key.request';
import { IssueApiKey } from './issue-api-key.handler';
import { RevokeApiKey } from './revoke-api-key.handler';

const notFound = (id: string) => new ApiProblem('API_KEY.NOT_FOUND', `no API key ${id}`);

/** Reads come from the in-memory KeyDirectory (it holds every key), always scoped to the caller's tenant. */
@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly directory: KeyDirectory,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ShownOnce('key')
  @ApiOperation({ summary: 'Issue an API key; the key itself is in the response, once' })
  @ApiCreatedResponse({ description: 'the key record with `key`' })
  create(
    @Body() body: CreateApiKeyRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<IssuedApiKey> {
    return this.commands.execute(
      new IssueApiKey(caller, requestId, { name: body.name, role: body.role, kind: body.kind }),
    );
  }

  @Get()
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: "List the tenant's API keys (prefixes only), oldest first" })
  @ApiOkResponse({ description: '{ data, next_cursor }' })
  list(@Query() query: PageQuery, @Caller() caller: AuthContext): Page<ApiKeyView> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const scope = listScope('api_keys', caller.tenantId);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, ['after'], scope).after;
    const page = this.directory.keys(caller.tenantId, limit, after);
    if (!page) throw invalidCursor();
    const data = page.data.map(toApiKeyView);
    return { data, next_cursor: page.more ? encodeCursor({ after: data[data.length - 1].id }, scope) : null };
  }

  @Get(':id')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'One API key of the tenant' })
  get(@Param('id') id: string, @Caller() caller: AuthContext): ApiKeyView {
    const key = this.directory.key(caller.tenantId, id);
    if (!key) throw notFound(id);
    return toApiKeyView(key);
  }

  @Delete(':id')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Revoke an API key (idempotent); answers with the revoked key' })
  async revoke(
    @Param('id') id: string,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<ApiKeyView> {
    // The decider reads this tenant's key stream: another tenant's key id is a 404 like any unknown one.
    return this.commands.execute(new RevokeApiKey(caller, requestId, id));
  }
}
