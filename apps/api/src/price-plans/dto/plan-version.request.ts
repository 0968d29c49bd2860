import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { BILLING_INTERVALS, PLAN_NAME_MAX_LENGTH } from '#domain';

const CHARGES_DESCRIPTION =
  'Each: `key` (unique), `model` (flat_fee | per_unit | tiered | volume | package | matrix | custom_formula), ' +
  '`metric_key` (usage models; an active metric of the tenant), the model members (`amount`; `unit_price`; ' +
  '`tiers: [{ up_to (null: the last, open-ended), unit_price, flat_fee? }]`; `package_size`, `package_price`, ' +
  '`free_units?`; `dimensions` (among the metric group_by), `prices: [{ match, unit_price }]`, ' +
  '`default_unit_price?`; `formula` over `usage`), and optional `min_amount` / `max_amount`. Decimals as strings.';

/**
 * The content fields of a plan version, all optional here: creation requires name, currency,
 * billing_interval and charges; a PATCH replaces only those sent. Only their names are checked here
 * (unknown fields: 400); their values by the domain, which names every bad field in a 422, so a plan
 * is judged by one set of rules whatever sends it.
 */
export class PlanVersionFieldsRequest {
  @ApiPropertyOptional({ example: 'Pro', maxLength: PLAN_NAME_MAX_LENGTH })
  @Allow()
  name?: unknown;

  @ApiPropertyOptional({ example: 'USD', description: 'ISO 4217, upper case' })
  @Allow()
  currency?: unknown;

  @ApiPropertyOptional({ enum: BILLING_INTERVALS, example: 'month' })
  @Allow()
  billing_interval?: unknown;

  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: CHARGES_DESCRIPTION,
    example: [
      { key: 'base', model: 'flat_fee', amount: '49.00' },
      {
        key: 'api',
        metric_key: 'api_calls',
        model: 'tiered',
        tiers: [
          { up_to: '1000', unit_price: '0' },
          { up_to: '10000', unit_price: '0.002', flat_fee: '5' },
          { up_to: null, unit_price: '0.001' },
        ],
      },
    ],
  })
  @Allow()
  charges?: unknown;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '100.00',
    description: 'minimum per billing period (a true-up line makes up the difference); null: none',
  })
  @Allow()
  minimum_commitment?: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'by key: `{ type: "boolean", value: true }`, `{ type: "limit", value: "100000", metric_key? }` or ' +
      '`{ type: "config", value: "gpt-4" }`',
    example: {
      advanced_analytics: { type: 'boolean', value: true },
      api_calls_per_month: { type: 'limit', value: '100000', metric_key: 'api_calls' },
      model_tier: { type: 'config', value: 'gpt-4' },
    },
  })
  @Allow()
  entitlements?: unknown;
}
