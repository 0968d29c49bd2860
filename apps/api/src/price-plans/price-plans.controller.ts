import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBody,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { PLAN_VERSION_FIELDS, type PlanVersionInput } from '#domain';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { ApiProblem } from '../common/problems/api-problem';
import { validationErrors } from '../common/problems/to-problem';
import { RequestId } from '../common/request-id.decorator';
import { ArchivePricePlan } from './archive-price-plan.handler';
import { CreatePlanDraft } from './create-plan-draft.handler';
import { CreatePricePlan } from './create-price-plan.handler';
import { CreatePricePlanRequest } from './dto/create-price-plan.request';
import { ListPricePlansQuery } from './dto/list-price-plans.query';
import { PlanVersionFieldsRequest } from './dto/plan-version.request';
import { PlanPage, PlanVersionView, PlanView } from './price-plan.view';
import { planProblem } from './price-plans.problems';
import { PricePlansReader } from './price-plans.reader';
import { PublishPlanVersion } from './publish-plan-version.handler';
import { UpdatePlanDraft } from './update-plan-draft.handler';

const PROBLEMS =
  'Errors: 400 unknown field, 401, 403, 404 PLAN.NOT_FOUND / PLAN.VERSION_NOT_FOUND, 409, ' +
  '422 PLAN.INVALID with `errors` naming each field (`charges[1].tiers[2].up_to`).';
const READERS = ['admin', 'finance', 'auditor'] as const;

/** `:n` as a version number; anything else is a version no plan has (0). */
const versionNumber = (n: string) => (/^[1-9][0-9]{0,8}$/.test(n) ? Number(n) : 0);

/** An optional body of plan version fields: absent means "none"; unknown fields are a 400 as elsewhere. */
function optionalVersionFields(raw: unknown): PlanVersionInput {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ApiProblem('REQUEST.INVALID_BODY', 'the request body must be a JSON object');
  }
  const unknown = Object.keys(raw).filter((field) => !(PLAN_VERSION_FIELDS as readonly string[]).includes(field));
  if (unknown.length > 0) throw validationErrors(unknown.map((field) => ({ field, message: 'unknown field' })));
  return raw as PlanVersionInput;
}

/**
 * Price plans: numbered versions, drafts until published, immutable once published. Writes are
 * admin-only (the catalog is product configuration); reads are open to admin, finance and auditor keys.
 */
@ApiTags('price-plans')
@ApiBearerAuth()
@Controller('v1/price-plans')
export class PricePlansController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: PricePlansReader,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('admin')
  @ApiOperation({
    summary: 'Create a price plan: version 1 as a draft, or published at once with `publish: true`',
    description:
      'Charges reference active metrics of the tenant; matrix dimensions must be among the metric group_by. ' +
      'Idempotent: the same key and body again answers 201 with the plan as it is; another body is ' +
      '409 PLAN.ALREADY_EXISTS (start a new version instead). ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: PlanView })
  create(
    @Body() body: CreatePricePlanRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<PlanView> {
    return this.commands.execute(new CreatePricePlan(caller, requestId, body));
  }

  @Get()
  @Roles(...READERS)
  @ApiOperation({
    summary: "List the tenant's price plans by key (from the `price_plans` read model: follows the projector)",
    description: 'Archived plans only with `include_archived=true`.',
  })
  @ApiOkResponse({ type: PlanPage })
  list(@Query() query: ListPricePlansQuery, @Caller() caller: AuthContext): Promise<PlanPage> {
    return this.reader.list(caller.tenantId, {
      limit: query.limit ?? DEFAULT_PAGE_SIZE,
      cursor: query.cursor,
      includeArchived: query.include_archived ?? false,
    });
  }

  @Get(':key')
  @Roles(...READERS)
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiOperation({ summary: 'One price plan with all its versions, draft or published (read from its stream)' })
  @ApiOkResponse({ type: PlanView })
  async get(@Param('key') key: string, @Caller() caller: AuthContext): Promise<PlanView> {
    try {
      return await this.reader.get(caller.tenantId, key);
    } catch (error) {
      throw planProblem(error);
    }
  }

  @Get(':key/versions/:n')
  @Roles(...READERS)
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiParam({ name: 'n', example: 1 })
  @ApiOperation({ summary: 'One version of a price plan (read from its stream)' })
  @ApiOkResponse({ type: PlanVersionView })
  async getVersion(
    @Param('key') key: string,
    @Param('n') n: string,
    @Caller() caller: AuthContext,
  ): Promise<PlanVersionView> {
    try {
      return await this.reader.getVersion(caller.tenantId, key, versionNumber(n));
    } catch (error) {
      throw planProblem(error);
    }
  }

  @Patch(':key/versions/:n')
  @HttpCode(200)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiParam({ name: 'n', example: 2 })
  @ApiOperation({
    summary: 'Edit a draft: the fields sent replace the draft’s (the whole draft is validated again)',
    description: 'A published version never changes: 409 PLAN.VERSION_IMMUTABLE. ' + PROBLEMS,
  })
  @ApiOkResponse({ type: PlanVersionView })
  update(
    @Param('key') key: string,
    @Param('n') n: string,
    @Body() body: PlanVersionFieldsRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<PlanVersionView> {
    return this.commands.execute(new UpdatePlanDraft(caller, requestId, key, versionNumber(n), { ...body }));
  }

  @Post(':key/versions/:n/publish')
  @HttpCode(200)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiParam({ name: 'n', example: 2 })
  @ApiOperation({
    summary: 'Publish a draft: from now on the version is immutable and can be subscribed to',
    description:
      'The draft is validated again (a metric may have been archived since). Publishing a published version ' +
      'changes nothing (200, no new event). ' +
      PROBLEMS,
  })
  @ApiOkResponse({ type: PlanVersionView })
  publish(
    @Param('key') key: string,
    @Param('n') n: string,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<PlanVersionView> {
    return this.commands.execute(new PublishPlanVersion(caller, requestId, key, versionNumber(n)));
  }

  @Post(':key/versions')
  @HttpCode(201)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiBody({ type: PlanVersionFieldsRequest, required: false })
  @ApiOperation({
    summary: 'Start the next draft: a copy of the latest version, with the fields sent (if any) replaced',
    description: 'Only one open draft at a time: 409 PLAN.DRAFT_EXISTS. Archived plans: 409 PLAN.ARCHIVED. ' + PROBLEMS,
  })
  @ApiCreatedResponse({ type: PlanVersionView })
  createDraft(
    @Param('key') key: string,
    @Body() body: unknown,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<PlanVersionView> {
    return this.commands.execute(new CreatePlanDraft(caller, requestId, key, optionalVersionFields(body)));
  }

  @Post(':key/archive')
  @HttpCode(200)
  @Roles('admin')
  @ApiParam({ name: 'key', example: 'pro' })
  @ApiOperation({
    summary: 'Archive a price plan (idempotent): no new subscriptions; existing ones continue on their version',
    description: 'Plans are never deleted. ' + PROBLEMS,
  })
  @ApiOkResponse({ type: PlanView })
  archive(@Param('key') key: string, @Caller() caller: AuthContext, @RequestId() requestId: string): Promise<PlanView> {
    return this.commands.execute(new ArchivePricePlan(caller, requestId, key));
  }
}
