import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { tenantRegistry, type TenantRegistryEvent } from '#domain';
import {
  ProjectionWaitTimeoutError,
  TENANTS_STREAM,
  completeInvoiceCloses,
  invoiceNumbersStream,
  readOrEmpty,
  waitForPosition,
  type Checkpoint,
  type EventStore,
} from '#ledger';
import { loadTenantSettings } from '../../../api/src/settings/settings.operations';
import { BillingLease, BILLING_CYCLE_LOCK } from './billing-lease';
import { billingCycleMetrics } from './billing-cycle.metrics';
import { checkChangedInvoices } from './changed-invoices';
import { issueCreditNotes } from './credit-notes';
import { DEFAULT_INVOICE_BATCH, InvoiceSchedule, invoiceEndedPeriods } from './invoice-ended-periods';
import { BILLING_CYCLE_ACTOR, metadataOf, type TenantRun } from './tenant-run';
import { emptyReport, failureOf, type TickReport } from './tick-report';

/** The read models a tick reads: it waits for them to pass the log's last committed event first. */
export const BILLING_CYCLE_PROJECTIONS = ['subscriptions', 'invoices', 'usage', 'adjustments', 'late_usage'] as const;

export interface BillingCycleOptions {
  pool: Pool;
  store: EventStore;
  logger?: Logger;
  /** The cycle's clock (tests drive a fake one). Default: the system clock. */
  now?: () => Date;
  /** Milliseconds between ticks; 0: no timer (call `tick()` yourself). Default 5000. */
  intervalMs?: number;
  /** Customers invoiced side by side within a tenant. Default 4. */
  concurrency?: number;
  /**
   * Invoices drafted and closed per batch: one snapshot read and one transaction each (Postgres store
   * only; KurrentDB invoices one at a time). 0: one at a time everywhere. Default DEFAULT_INVOICE_BATCH.
   */
  batchSize?: number;
  /** How long a tick waits for the read models to reach the log head before skipping. Default 10 s. */
  barrierMs?: number;
  /** Closed invoices checked for late usage per tenant and tick. Default 500. */
  lateUsageLimit?: number;
  /** The advisory lock key of the lease (tests run separate cycles on separate keys). */
  leaseKey?: number;
}

export interface BillingCycle {
  /** Runs one tick now (after the one in flight, if any) and returns what it did. */
  tick(): Promise<TickReport>;
  /** Whether this cycle held the lease at its last tick. */
  readonly holdsLease: boolean;
  /** Stops the timer, lets the tick in flight finish, releases the lease. */
  stop(): Promise<void>;
}

/** What a cycle keeps between ticks: caches only (see InvoiceSchedule); the facts are re-read each tick. */
interface CycleState {
  schedules: Map<string, InvoiceSchedule>;
  /** Next invoice-number sequence the sweep has not checked yet, per tenant. */
  sweepFrom: Map<string, number>;
}

/**
 * The billing cycle: on a timer, for every tenant, it invoices every ended billing period (draft at the
 * end of the period's usage window, close after the tenant's grace), completes crashed closes, checks
 * closed invoices whose usage changed (late usage) and issues credit notes for credits no invoice will
 * carry. Stateless between ticks (everything is derived from the read models and the log again), so a
 * restart or a takeover by another replica resumes where the log says. Only the holder of the Postgres
 * advisory-lock lease works (BillingLease).
 */
export function startBillingCycle(options: BillingCycleOptions): BillingCycle {
  const logger = options.logger?.child({ component: 'billing-cycle' });
  const lease = new BillingLease(options.pool, options.leaseKey ?? BILLING_CYCLE_LOCK);
  const state: CycleState = { schedules: new Map(), sweepFrom: new Map() };
  const intervalMs = options.intervalMs ?? 5_000;
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const tick = (): Promise<TickReport> => {
    // Stopped: the lease is given back, and a tick would take it again.
    if (stopped) return Promise.resolve(emptyReport((options.now ?? (() => new Date()))(), false));
    const run = chain.then(() => runTick(options, lease, state, logger));
    chain = run.catch(() => undefined);
    return run;
  };
  const schedule = () => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => {
      tick()
        .catch((error: unknown) => logger?.error({ err: error }, 'billing cycle tick failed; it runs again'))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  let stopping: Promise<void> | undefined;
  return {
    tick,
    get holdsLease() {
      return lease.held;
    },
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await chain;
        await lease.release();
      })()),
  };
}

/** `ABAXUS_BILLING_CYCLE_SECONDS`: seconds between ticks (default 5); 0 turns the cycle off. */
export function billingCycleIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ABAXUS_BILLING_CYCLE_SECONDS;
  if (raw === undefined || raw.trim() === '') return 5_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new Error(`ABAXUS_BILLING_CYCLE_SECONDS: expected a number of seconds >= 0, got "${raw}"`);
  }
  return Math.round(seconds * 1000);
}

async function runTick(
  options: BillingCycleOptions,
  lease: BillingLease,
  state: CycleState,
  logger: Logger | undefined,
): Promise<TickReport> {
  const now = (options.now ?? (() => new Date()))();
  const started = Date.now();
  if (!(await lease.acquire())) return emptyReport(now, false);
  const report = emptyReport(now, true);
  const behind = await readModelsBehind(options);
  if (behind !== null) {
    report.skipped = behind;
    logger?.warn({ reason: behind }, 'billing cycle: tick skipped');
    return report;
  }
  const tenants = await tenantIds(options.store);
  report.tenants = tenants.length;
  const requestId = `billing-cycle-${randomUUID()}`;
  for (const tenantId of tenants) {
    const run: TenantRun = {
      pool: options.pool,
      store: options.store,
      logger,
      tenantId,
      now,
      graceSeconds: 0,
      billing: {
        pool: options.pool,
        store: options.store,
        tenantId,
        actor: BILLING_CYCLE_ACTOR,
        requestId,
        now: options.now,
      },
      concurrency: options.concurrency ?? 4,
      batchSize: options.store.kind === 'postgres' ? (options.batchSize ?? DEFAULT_INVOICE_BATCH) : 0,
      lateUsageLimit: options.lateUsageLimit ?? 500,
      report,
    };
    try {
      await runTenant(run, state);
    } catch (error) {
      report.failed.push(failureOf(tenantId, 'tenant', error));
      logger?.error({ err: error, tenant_id: tenantId }, 'billing cycle: tenant failed; retried next tick');
    }
  }
  billingCycleMetrics().record(report, (Date.now() - started) / 1000);
  if (
    report.drafted + report.closed + report.swept + report.adjustments + report.credit_notes + report.failed.length >
    0
  ) {
    const { failed, ...counts } = report;
    logger?.info({ ...counts, failed: failed.length, ms: Date.now() - started }, 'billing cycle tick');
  }
  return report;
}

async function runTenant(run: TenantRun, state: CycleState): Promise<void> {
  run.graceSeconds = (await loadTenantSettings(run.store, run.tenantId)).billing_grace_seconds;
  await sweepCrashedCloses(run, state);
  // Late usage first: its adjustments then ride on the invoices this tick closes.
  await checkChangedInvoices(run);
  let schedule = state.schedules.get(run.tenantId);
  if (!schedule) state.schedules.set(run.tenantId, (schedule = new InvoiceSchedule()));
  await invoiceEndedPeriods(run, schedule);
  await issueCreditNotes(run);
}

/**
 * completeInvoiceCloses, from the first number not known to be closed. Usually there is nothing to
 * complete: every number assigned has its closed invoice in the `invoices` read model (one indexed
 * count against the numbers stream's last revision), and the sweep is skipped. When they differ (a
 * close crashed after taking its number, or one is under way), the sweep runs from where the last one
 * ended (from the first number after a restart) and completes what it finds.
 */
async function sweepCrashedCloses(run: TenantRun, state: CycleState): Promise<void> {
  // Counted first: every invoice counted had its number before the numbers stream is read, so a count
  // that reaches the stream's length means every number up to it belongs to a closed invoice.
  const { rows } = await run.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM invoices WHERE tenant_id = $1 AND number IS NOT NULL`,
    [run.tenantId],
  );
  const [last] = await readOrEmpty(run.store, invoiceNumbersStream(run.tenantId), {
    direction: 'backwards',
    maxCount: 1,
  });
  const assigned = last === undefined ? 0 : last.revision + 1;
  const from = state.sweepFrom.get(run.tenantId) ?? 1;
  if (assigned < from) return;
  if (Number(rows[0].n) >= assigned) {
    state.sweepFrom.set(run.tenantId, assigned + 1);
    return;
  }
  const swept = await completeInvoiceCloses({
    store: run.store,
    tenantId: run.tenantId,
    metadata: metadataOf(run),
    fromSequence: from,
  });
  run.report.swept += swept.completed.length;
  if (swept.lastSequence > 0) state.sweepFrom.set(run.tenantId, swept.lastSequence + 1);
}

/** Every registered tenant (`$system:tenants`). */
async function tenantIds(store: EventStore): Promise<string[]> {
  const events = await readOrEmpty(store, TENANTS_STREAM);
  const registry = events.reduce(
    (s, e) => tenantRegistry.evolve(s, { type: e.type, data: e.data } as TenantRegistryEvent),
    tenantRegistry.initialState(),
  );
  return [...registry.byId.keys()].sort();
}

/**
 * Null when every read model the tick reads has applied everything committed before the tick, else
 * why not. Without this a draft the projector has not shown yet would look missing (drafting it again
 * is harmless, but costs a calculation) and a late event could be checked before it is projected.
 */
async function readModelsBehind(options: BillingCycleOptions): Promise<string | null> {
  const target = await lastCommitted(options);
  const timeoutMs = options.barrierMs ?? 10_000;
  for (const projection of BILLING_CYCLE_PROJECTIONS) {
    try {
      await waitForPosition(options, projection, target, timeoutMs);
    } catch (error) {
      if (!(error instanceof ProjectionWaitTimeoutError)) throw error;
      return `the ${projection} read model has not reached the log head within ${timeoutMs} ms`;
    }
  }
  return null;
}

/**
 * The last committed event. Not headCheckpoint() on Postgres: that stops below any open transaction,
 * and a tick would then trust a read model that lacks an event a client already saw acknowledged.
 */
async function lastCommitted(options: BillingCycleOptions): Promise<Checkpoint | null> {
  if (options.store.kind !== 'postgres') return options.store.headCheckpoint();
  const { rows } = await options.pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return rows[0]?.checkpoint ?? null;
}
