import type { MetricCatalog } from '../metric-catalog';
import type { PlanVersionContent } from '../plan.events';
import type { PlanVersionInput } from '../plan-version';

/** Shared by the plan and subscription specs (and the projection specs): not used by production code. */
export const fixtureMetrics: MetricCatalog = new Map([
  ['api_calls', { key: 'api_calls', archived: false, group_by: ['region', 'tier'] }],
  ['storage_gb', { key: 'storage_gb', archived: false, group_by: [] }],
  ['legacy', { key: 'legacy', archived: true, group_by: [] }],
]);

/** The catalog issue's example plan as a request sends it (decimals as strings and numbers). */
export const proPlanInput: PlanVersionInput = {
  name: ' Pro ',
  currency: 'USD',
  billing_interval: 'month',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '49.00' },
    {
      key: 'api',
      metric_key: 'api_calls',
      model: 'tiered',
      tiers: [
        { up_to: '1000', unit_price: '0' },
        { up_to: 10000, unit_price: '0.002', flat_fee: '5' },
        { up_to: null, unit_price: '0.001' },
      ],
    },
  ],
  minimum_commitment: '100.00',
  entitlements: {
    advanced_analytics: { type: 'boolean', value: true },
    api_calls_per_month: { type: 'limit', value: '100000', metric_key: 'api_calls' },
    model_tier: { type: 'config', value: 'gpt-4' },
  },
};

/** proPlanInput normalized. */
export const proPlanContent: PlanVersionContent = {
  name: 'Pro',
  currency: 'USD',
  billing_interval: 'month',
  charges: [
    { key: 'base', model: 'flat_fee', amount: '49' },
    {
      key: 'api',
      model: 'tiered',
      metric_key: 'api_calls',
      tiers: [
        { up_to: '1000', unit_price: '0' },
        { up_to: '10000', unit_price: '0.002', flat_fee: '5' },
        { up_to: null, unit_price: '0.001' },
      ],
    },
  ],
  minimum_commitment: '100',
  entitlements: {
    advanced_analytics: { type: 'boolean', value: true },
    api_calls_per_month: { type: 'limit', value: '100000', metric_key: 'api_calls' },
    model_tier: { type: 'config', value: 'gpt-4' },
  },
};
