import { findPlanVersion, type CustomerSnapshot, type PlanSnapshot, type Subscription } from '#domain';
import { loadCustomer } from '../../../api/src/customers/customer.operations';
import { loadPricePlan } from '../../../api/src/price-plans/price-plan.operations';
import type { TenantRun } from './tenant-run';

/**
 * What a close copies into the invoice, as `closeInvoice` (apps/api/src/billing/invoice.operations.ts)
 * takes it: the customer as billed, and the locked plan version with the subscription's overrides. For
 * the closes the cycle makes itself (a draft it just made, a credit note).
 */
export async function customerSnapshot(run: TenantRun, customerId: string): Promise<CustomerSnapshot> {
  const customer = await loadCustomer(run.store, run.tenantId, customerId);
  return {
    id: customer.id,
    name: customer.name,
    email: customer.email,
    currency: customer.currency,
    timezone: customer.timezone,
  };
}

export async function planSnapshot(run: TenantRun, subscription: Subscription): Promise<PlanSnapshot> {
  const plan = await loadPricePlan(run.store, run.tenantId, subscription.plan_key);
  return {
    key: subscription.plan_key,
    version: subscription.plan_version,
    name: findPlanVersion(plan, subscription.plan_version)?.name ?? plan.key,
    currency: subscription.currency,
    billing_interval: subscription.billing_interval,
    charges: subscription.charges,
    minimum_commitment: subscription.minimum_commitment,
  };
}
