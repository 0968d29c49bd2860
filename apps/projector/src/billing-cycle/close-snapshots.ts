import {
  CUSTOMER_STREAM_CATEGORY,
  customerDecider,
  isValidCustomerId,
  type CustomerEvent,
  type CustomerSnapshot,
  type Plan,
  type PlanSnapshot,
  type Subscription,
} from '#domain';
import { streamName } from '#ledger';
import { readStreamsAsOf } from '../../../api/src/billing/calculation';
import { loadCustomer } from '../../../api/src/customers/customer.operations';
import { customerSnapshotOf, planSnapshotOf } from '../../../api/src/billing/invoice.operations';
import { loadPricePlan } from '../../../api/src/price-plans/price-plan.operations';
import type { TenantRun } from './tenant-run';

/**
 * What a close copies into the invoice, as `closeInvoice` (apps/api/src/billing/invoice.operations.ts)
 * takes it: the customer as billed, and the locked plan version with the subscription's overrides. For
 * the closes the cycle makes itself (a draft it just made, a credit note).
 */
export async function customerSnapshot(run: TenantRun, customerId: string): Promise<CustomerSnapshot> {
  return customerSnapshotOf(await loadCustomer(run.store, run.tenantId, customerId));
}

export async function planSnapshot(run: TenantRun, subscription: Subscription): Promise<PlanSnapshot> {
  return cachedPlanSnapshot(run, subscription, new Map());
}

/**
 * customerSnapshot for many customers: their streams in one read (readStreamsAsOf). A customer
 * missing from the log is missing from the map (its invoice takes the one-invoice path, which
 * reports the error).
 */
export async function customerSnapshots(
  run: TenantRun,
  customerIds: readonly string[],
): Promise<Map<string, CustomerSnapshot>> {
  const streamOf = (id: string) => streamName(run.tenantId, CUSTOMER_STREAM_CATEGORY, id);
  const ids = [...new Set(customerIds)].filter((id) => isValidCustomerId(id));
  const streams = await readStreamsAsOf(run.pool, run.store, ids.map(streamOf));
  const snapshots = new Map<string, CustomerSnapshot>();
  for (const id of ids) {
    const state = (streams.get(streamOf(id)) ?? []).reduce(
      (s, e) => customerDecider.evolve(s, { type: e.type, data: e.data } as CustomerEvent),
      customerDecider.initialState(),
    );
    if (state.status === 'absent') continue;
    snapshots.set(id, customerSnapshotOf(state.customer));
  }
  return snapshots;
}

/** planSnapshot with the plans read once per `cache` (published plan versions never change). */
export async function cachedPlanSnapshot(
  run: TenantRun,
  subscription: Subscription,
  cache: Map<string, Promise<Plan>>,
): Promise<PlanSnapshot> {
  let plan = cache.get(subscription.plan_key);
  if (!plan) {
    plan = loadPricePlan(run.store, run.tenantId, subscription.plan_key);
    plan.catch(() => cache.delete(subscription.plan_key));
    cache.set(subscription.plan_key, plan);
  }
  return planSnapshotOf(await plan, subscription.plan_version, subscription);
}
