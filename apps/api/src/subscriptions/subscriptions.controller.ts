import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { DEFAULT_PAGE_SIZE } from '../common/pagination';
import { RequestId } from '../common/request-id.decorator';
import { CancelSubscription } from './cancel-subscription.handler';
import { ChangeSubscriptionPlan } from './change-subscription-plan.handler';
import { CancelSubscriptionRequest, ChangeSubscriptionPlanRequest } from './dto/end-subscription.request';
import { ListSubscriptionsQuery } from './dto/list-subscriptions.query';
import { StartSubscriptionRequest } from './dto/start-subscription.request';
import { StartSubscription } from './start-subscription.handler';
import { SubscriptionPage, SubscriptionView } from './subscription.view';
import { SubscriptionsReader } from './subscriptions.reader';
import { subscriptionProblem } from './subscriptions.problems';

const PROBLEMS =
  'Errors: 400 unknown field, 401, 403, 404 SUBSCRIPTION.NOT_FOUND, 409 SUBSCRIPTION.ENDED, ' +
  '422 SUBSCRIPTION.INVALID with `errors` naming each field.';
/**
 * Finance keys may write subscriptions too: who is on which plan, since when and until when, is the
 * day-to-day work of billing operations. What the plans are (prices) stays admin-only.
 */
const WRITERS = ['admin', 'finance'] as const;
const READERS = ['admin', 'finance', 'auditor'] as const;

/** Subscriptions: a customer on one locked, published plan version. */
@ApiTags('subscriptions')
@ApiBearerAuth()
@Controller('v1/subscriptions')
export class SubscriptionsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly reader: SubscriptionsReader,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles(...WRITERS)
  @ApiOperation({
    summary: 'Subscribe a customer to a published plan version (locked: later versions never change it)',
    description:
      'The customer must exist, not be archived, and be billed in the plan currency; the plan must be active and ' +
      'the version published (a draft is 422 naming plan_version), and no metric its charges or entitlement limits ' +
      'read may be archived unless `overrides` replace them (422). `current_period` is computed in the customer ' +
      'time zone for the time of the request. ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: SubscriptionView })
  start(
    @Body() body: StartSubscriptionRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return this.commands.execute(new StartSubscription(caller, requestId, body));
  }

  @Get()
  @Roles(...READERS)
  @ApiOperation({
    summary:
      "List the tenant's subscriptions, oldest first (from the `subscriptions` read model: follows the projector)",
  })
  @ApiOkResponse({ type: SubscriptionPage })
  list(@Query() query: ListSubscriptionsQuery, @Caller() caller: AuthContext): Promise<SubscriptionPage> {
    return this.reader.list(
      caller.tenantId,
      { limit: query.limit ?? DEFAULT_PAGE_SIZE, cursor: query.cursor, customerId: query.customer_id },
      new Date(),
    );
  }

  @Get(':id')
  @Roles(...READERS)
  @ApiParam({ name: 'id', example: 'sub_3f9c0a…' })
  @ApiOperation({ summary: 'One subscription, its current period computed for now (read from its stream)' })
  @ApiOkResponse({ type: SubscriptionView })
  async get(@Param('id') id: string, @Caller() caller: AuthContext): Promise<SubscriptionView> {
    try {
      return await this.reader.get(caller.tenantId, id, new Date());
    } catch (error) {
      throw subscriptionProblem(error);
    }
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles(...WRITERS)
  @ApiParam({ name: 'id', example: 'sub_3f9c0a…' })
  @ApiOperation({
    summary: 'Cancel now or at the end of the current period (idempotent: the first recorded end stands)',
    description: 'Cancelling a subscription that already ends (cancelled or plan changed) records nothing. ' + PROBLEMS,
  })
  @ApiOkResponse({ type: SubscriptionView })
  cancel(
    @Param('id') id: string,
    @Body() body: CancelSubscriptionRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return this.commands.execute(new CancelSubscription(caller, requestId, id, body.at));
  }

  @Post(':id/change-plan')
  @HttpCode(201)
  @Roles(...WRITERS)
  @ApiParam({ name: 'id', example: 'sub_3f9c0a…' })
  @ApiOperation({
    summary: 'Move to another plan version: this subscription ends and a new one continues it',
    description:
      'Answers with the new subscription (`previous_subscription_id` names this one; this one gets ' +
      '`next_subscription_id`). Both partial periods are prorated (`final_period` here, `first_period` there). ' +
      'The new one keeps the billing anchor. The same change again records nothing; a subscription that already ' +
      'ends is 409 SUBSCRIPTION.ENDED. ' +
      PROBLEMS,
  })
  @ApiCreatedResponse({ type: SubscriptionView })
  changePlan(
    @Param('id') id: string,
    @Body() body: ChangeSubscriptionPlanRequest,
    @Caller() caller: AuthContext,
    @RequestId() requestId: string,
  ): Promise<SubscriptionView> {
    return this.commands.execute(new ChangeSubscriptionPlan(caller, requestId, id, body));
  }
}
