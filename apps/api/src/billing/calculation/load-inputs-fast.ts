import type { Pool, PoolClient } from 'pg';
import {
  BillingError,
  calculationInputsOf,
  subscriptionPeriod,
  toGroupedUsage,
  usageMeasuresOf,
  usageQuantity,
  type BillingPeriod,
  type CalculationInputs,
  type ChargeUsage,
  type PendingAdjustment,
} from '#domain';
import { type Checkpoint, type EventStore } from '#ledger';
import { withSharedSnapshot } from '../../usage/shared-snapshot';
import { scanUsage, type ExactUsage } from '../../usage/usage-reader';
import { adjustmentsAgree, notCaughtUp, passBarrier, type BarrierOptions } from './calculation-barrier';
import { loadBillingCatalog } from './billing-catalog';

export interface LoadFastOptions extends BarrierOptions {
  pool: Pool;
  store: EventStore;
  tenantId: string;
  subscriptionId: string;
  /** One of the subscription's billing periods (CALCULATION.INVALID_PERIOD otherwise). */
  period: BillingPeriod;
}

/** Where the fast path read from: what an auditor needs to reproduce the same inputs from the log. */
export interface InputsProvenance {
  /** The `usage` projection's checkpoint in the snapshot read: the inputs are the log as of here. */
  as_of_position: Checkpoint | null;
  /** The highest `usage_events.log_position` in that snapshot (explain lists events up to it). */
  usage_events_position: string;
  /** The database clock when the snapshot was read (RFC 3339). */
  read_at: string;
}

export interface FastInputs extends InputsProvenance {
  inputs: CalculationInputs;
}

/**
 * THE FAST LOADER (API and billing cycle): the same inputs as loadCalculationInputsFromLog, from
 * the read models. A barrier first (the `usage` and `adjustments` projections pass the log's last
 * committed event, else CALCULATION.NOT_CAUGHT_UP), then ONE database snapshot: the usage
 * projection's checkpoint there is `as_of_position`, every usage charge is measured by the exact
 * scan of `usage_events` (scanUsage), the pending adjustments come from `adjustments`, and the
 * subscription and metrics are folded from their streams up to `as_of_position`. So
 * loadCalculationInputsFromLog({ asOf: as_of_position }) returns exactly these inputs.
 *
 * The two projections advance independently; a snapshot where a billing fact of this customer lies
 * between their checkpoints is read again (they meet as soon as the projector is idle).
 */
export async function loadCalculationInputsFast(options: LoadFastOptions): Promise<FastInputs> {
  const deadline = Date.now() + (await passBarrier(options.pool, options.store, options));
  for (let attempt = 1; ; attempt++) {
    const read = await withSharedSnapshot(options.pool, 2, (clients) => readInSnapshot(options, clients));
    if (read !== null) return read;
    if (Date.now() >= deadline) throw notCaughtUp('the usage and adjustments projections disagree on this customer');
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * attempt)));
  }
}

interface SnapshotHead {
  usage: Checkpoint | null;
  adjustments: Checkpoint | null;
  usage_log: string;
  read_at: Date;
}

/** The inputs read in one snapshot; null when the two projections disagree about this customer's adjustments. */
async function readInSnapshot(options: LoadFastOptions, clients: PoolClient[]): Promise<FastInputs | null> {
  const { store, tenantId } = options;
  const { rows } = await clients[0].query<SnapshotHead>(
    `SELECT (SELECT checkpoint FROM projections WHERE name = 'usage' AND status = 'live') AS usage,
            (SELECT checkpoint FROM projections WHERE name = 'adjustments' AND status = 'live') AS adjustments,
            (SELECT last_position::text FROM usage_log) AS usage_log, clock_timestamp() AS read_at`,
  );
  const head = rows[0];
  const { subscription, metrics } = await loadBillingCatalog(store, tenantId, options.subscriptionId, head.usage);
  const billing = subscriptionPeriod(subscription, options.period);
  const usage: ChargeUsage[] = [];
  // Charges pricing the same metric the same way (per_unit and tiered on one metric) share one scan.
  const scans = new Map<string, Promise<ExactUsage>>();
  for (const measure of usageMeasuresOf(subscription.charges)) {
    const metric = metrics.get(measure.metric_key);
    if (!metric) throw new BillingError('CALCULATION.INVALID', `metric ${measure.metric_key} is not in the log`);
    const window = billing.usage_window;
    const scanKey = JSON.stringify([measure.metric_key, measure.dimensions ?? null]);
    if (!scans.has(scanKey)) {
      scans.set(
        scanKey,
        scanUsage(
          clients,
          { tenantId, customerId: subscription.customer_id, metricKey: measure.metric_key },
          metric,
          { start: window.start, end: window.end_exclusive },
          measure.dimensions === undefined ? {} : { groupBy: measure.dimensions },
        ),
      );
    }
    const exact = await scans.get(scanKey)!;
    usage.push({
      charge_key: measure.key,
      metric_key: measure.metric_key,
      quantity: usageQuantity(exact.value),
      groups: measure.dimensions === undefined ? null : toGroupedUsage(exact.groups ?? []),
      meter_versions: exact.meter_versions,
      usage_checksum: exact.checksum,
    });
  }
  const pending = await pendingInSnapshot(clients[0], tenantId, subscription.customer_id);
  if (!(await adjustmentsAgree(store, tenantId, subscription.customer_id, head.usage, head.adjustments))) return null;
  return {
    inputs: calculationInputsOf({ subscription, billing, metrics, usage, pending }),
    as_of_position: head.usage,
    usage_events_position: head.usage_log,
    read_at: head.read_at.toISOString(),
  };
}

/** The customer's pending adjustments from the `adjustments` read model, in the snapshot. */
async function pendingInSnapshot(
  client: PoolClient,
  tenantId: string,
  customerId: string,
): Promise<PendingAdjustment[]> {
  const { rows } = await client.query<PendingAdjustment>(
    `SELECT adjustment_id, kind, amount::text AS amount, currency, reason, invoice_id, charge_key FROM adjustments
      WHERE tenant_id = $1 AND customer_id = $2 AND applied_to_invoice_id IS NULL AND recorded_at IS NOT NULL`,
    [tenantId, customerId],
  );
  return rows;
}
