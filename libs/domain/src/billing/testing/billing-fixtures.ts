import { applyMinimumCommitment, priceCharge, type Charge } from '../../pricing';
import { sealCalculation, type Calculation, type CalculationAdjustment, type CalculationInput } from '../calculation';
import { checksumOf } from '../checksum';
import type { CustomerSnapshot, PlanSnapshot } from '../invoices/invoice.events';
import type { InvoiceCloseRequest } from '../invoices/invoice-number';

/**
 * Shared by the billing specs (domain, journal, invoicing, projections): not used by production code.
 * A small plan priced for real with priceCharge, so calculations look like the billing cycle's.
 */
export const fixtureCharges: Charge[] = [
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
];

export const fixturePlan: PlanSnapshot = {
  key: 'pro',
  version: 3,
  name: 'Pro',
  currency: 'USD',
  billing_interval: 'month',
  charges: fixtureCharges,
  minimum_commitment: '100',
};

export function fixtureCustomer(id = 'cust_1'): CustomerSnapshot {
  return { id, name: `Customer ${id}`, email: `${id}@example.com`, currency: 'USD', timezone: 'America/New_York' };
}

export interface FixtureCalculationOptions {
  customer_id?: string;
  subscription_id?: string;
  /** API calls in the period (decimal string). */
  usage?: string;
  adjustments?: CalculationAdjustment[];
  period_start?: string;
  period_end?: string;
  meter_versions?: number[];
}

/** The usage compute's checksum stand-in: sha256 over sorted (usage_id, value) pairs, as metering does. */
export function fixtureUsageChecksum(usage: string): string {
  return checksumOf([[`usage_${usage}`, usage]]);
}

export function fixtureCalculationInput(options: FixtureCalculationOptions = {}): CalculationInput {
  const usage = options.usage ?? '12000';
  const priced = applyMinimumCommitment(
    fixtureCharges.map((charge) => priceCharge(charge, usage, 'USD')),
    fixturePlan.minimum_commitment,
    'USD',
  );
  return {
    customer_id: options.customer_id ?? 'cust_1',
    subscription_id: options.subscription_id ?? 'sub_1',
    currency: 'USD',
    period_start: options.period_start ?? '2026-01-01T05:00:00.000Z',
    period_end: options.period_end ?? '2026-02-01T05:00:00.000Z',
    plan_key: fixturePlan.key,
    plan_version: fixturePlan.version,
    line_items: priced.map((line) => {
      const metered = line.model !== 'flat_fee' && line.model !== 'minimum_commitment';
      return {
        charge_key: line.charge_key,
        metric_key: metered ? 'api_calls' : null,
        model: line.model,
        quantity: line.quantity,
        amount: line.amount,
        meter_versions: metered ? (options.meter_versions ?? [1]) : [],
        breakdown: line.breakdown,
        usage_checksum: metered ? fixtureUsageChecksum(usage) : null,
      };
    }),
    adjustments: options.adjustments ?? [],
  };
}

export function fixtureCalculation(options: FixtureCalculationOptions = {}): Calculation {
  return sealCalculation(fixtureCalculationInput(options));
}

export function fixtureCloseRequest(overrides: Partial<InvoiceCloseRequest> = {}): InvoiceCloseRequest {
  return {
    closed_at: '2026-02-02T05:00:00.000Z',
    customer: fixtureCustomer(),
    plan: fixturePlan,
    tax_amount: null,
    tax_lines: [],
    ...overrides,
  };
}
