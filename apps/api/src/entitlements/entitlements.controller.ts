import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AllowPublishable, Caller, Roles } from '../common/auth/auth.decorators';
import type { AuthContext } from '../common/auth/key-directory';
import { EntitlementCheckQuery } from './dto/entitlement-check.query';
import { EntitlementListQuery } from './dto/entitlement-list.query';
import { EntitlementsService, type EntitlementCheckView, type EntitlementListView } from './entitlements.service';

const SEMANTICS =
  'From the subscription in force now (started, not ended; the latest started if several): its entitlements ' +
  "as SubscriptionStarted recorded them, the plan version's with `overrides.entitlements` laid over. " +
  '`boolean`: granted = value. `config`: granted, with `value`. `limit` on a metric: `usage` is the pre-aggregated ' +
  'usage of the current billing period, `remaining` = max(0, limit - usage), `exceeded` = usage > limit ' +
  '(at exactly the limit: not exceeded, 0 remaining), granted = not exceeded (`reason: limit_exceeded`); a limit ' +
  'without a metric is granted with `usage`, `remaining`, `exceeded` null. Never a 404 for a feature: an unknown ' +
  'one is `type: null, granted: false, reason: unknown_feature`; without a subscription in force every feature ' +
  'is `granted: false` with `reason` `no_live_subscription`, `subscription_ended` or `subscription_not_started`. ' +
  'Eventually consistent: `meta.lag_seconds` is the usage read model’s lag (0 at the head). ' +
  'Errors: 400 (fields named in `errors`), 401, 403 (ingest keys), 404 CUSTOMER.NOT_FOUND.';

/**
 * Entitlement checks, on the product's hot path: served from memory plus one read of the
 * pre-aggregated usage for a metered limit. Publishable keys may call them.
 */
@ApiTags('entitlements')
@ApiBearerAuth()
@Controller('v1/entitlements')
export class EntitlementsController {
  constructor(private readonly entitlements: EntitlementsService) {}

  @Get('check')
  @Roles('admin', 'finance', 'auditor')
  @AllowPublishable()
  @ApiOperation({
    summary: 'Whether a customer may use a feature, and how much of a limit is left',
    description: SEMANTICS,
  })
  @ApiOkResponse({ description: 'feature, type, granted (reason), value or limit/usage/remaining/exceeded, meta' })
  check(@Query() query: EntitlementCheckQuery, @Caller() caller: AuthContext): Promise<EntitlementCheckView> {
    return this.entitlements.check(caller.tenantId, query.customer_id, query.feature);
  }

  @Get()
  @Roles('admin', 'finance', 'auditor')
  @AllowPublishable()
  @ApiOperation({
    summary: "Every feature of the customer's subscription in force, each as /v1/entitlements/check answers it",
    description: `One page (\`next_cursor\` is always null). ${SEMANTICS}`,
  })
  @ApiOkResponse({ description: '`data`: one entry per feature; empty with `reason` without a subscription in force' })
  list(@Query() query: EntitlementListQuery, @Caller() caller: AuthContext): Promise<EntitlementListView> {
    return this.entitlements.list(caller.tenantId, query.customer_id);
  }
}
