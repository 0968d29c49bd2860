import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';

export const OVERRIDES_DESCRIPTION =
  'Enterprise pricing: `{ "charges": { "<charge key>": { …charge fields } }, "entitlements": { "<key>": { type, value, … } } }`. ' +
  "Each charge override is laid over the plan version's charge of that key and validated like a plan charge (422 naming " +
  '`overrides.charges.<key>.<field>`); changing `model` keeps only the key and the metric of the plan charge. Each ' +
  "entitlement override replaces the plan version's entitlement of that key, or adds one (validated like a plan's: " +
  '422 naming `overrides.entitlements.<key>.<field>`).';

/** Field names are checked here (unknown fields: 400); values by the domain, naming each bad one (422). */
export class StartSubscriptionRequest {
  @ApiProperty({ example: 'cust_acme', description: 'an active customer whose currency is the plan’s' })
  @Allow()
  customer_id!: unknown;

  @ApiProperty({ example: 'pro', description: 'an active price plan' })
  @Allow()
  plan_key!: unknown;

  @ApiPropertyOptional({ example: 1, description: 'a published version; default: the latest published one' })
  @Allow()
  plan_version?: unknown;

  @ApiProperty({
    example: '2026-03-01',
    description: "RFC 3339 timestamp, or a date (midnight in the customer's time zone)",
  })
  @Allow()
  start_date!: unknown;

  @ApiPropertyOptional({
    example: 'calendar',
    default: 'anniversary',
    description:
      '`anniversary`: periods repeat from the start date (month ends clamp: Jan 31, Feb 28, Mar 31); ' +
      '`calendar`: calendar periods (the first one prorated); or a timestamp/date the periods repeat from',
  })
  @Allow()
  billing_anchor?: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: OVERRIDES_DESCRIPTION,
    example: { charges: { api: { tiers: [{ up_to: null, unit_price: '0.0008' }] } } },
  })
  @Allow()
  overrides?: unknown;
}
