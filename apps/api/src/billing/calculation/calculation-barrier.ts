import type { Pool } from 'pg';
import {
  PENDING_ADJUSTMENT_FACT_TYPES,
  type AdjustmentRecorded,
  type InvoiceClosed,
  type InvoiceVoided,
} from '#domain';
import { ProjectionWaitTimeoutError, loadInvoice, waitForPosition, type Checkpoint, type EventStore } from '#ledger';

/** How long a calculation waits, by default, for the projections it reads to pass the log head. */
export const CALCULATION_BARRIER_MS = 5_000;

/** The read models a calculation reads; both must have passed the log head it saw. */
export const CALCULATION_PROJECTIONS = ['usage', 'adjustments'] as const;

export interface BarrierOptions {
  /** Default CALCULATION_BARRIER_MS. */
  barrierMs?: number;
}

/** 503 with Retry-After in the API: an exact calculation cannot leave out an accepted event. */
export class CalculationNotCaughtUpError extends Error {
  readonly code = 'CALCULATION.NOT_CAUGHT_UP';
  constructor(detail: string) {
    super(detail);
    this.name = 'CalculationNotCaughtUpError';
  }
}

export function notCaughtUp(detail: string): CalculationNotCaughtUpError {
  return new CalculationNotCaughtUpError(`${detail}; retry shortly`);
}

/**
 * The last event committed when the calculation started. For the Postgres store not
 * headCheckpoint(): that stops below any transaction still open (a projector batch, a group
 * commit), so an event whose 202 a client already holds could be left out.
 */
async function lastCommitted(pool: Pool, store: EventStore): Promise<Checkpoint | null> {
  if (store.kind !== 'postgres') return store.headCheckpoint();
  const { rows } = await pool.query<{ checkpoint: string }>(
    `SELECT tx_id::text || '/' || position::text AS checkpoint FROM events ORDER BY tx_id DESC, position DESC LIMIT 1`,
  );
  return rows[0]?.checkpoint ?? null;
}

/**
 * Waits (bounded) until the `usage` and `adjustments` projections have applied everything committed
 * before the call; CALCULATION.NOT_CAUGHT_UP otherwise. Returns the time budget left, in ms.
 */
export async function passBarrier(pool: Pool, store: EventStore, options: BarrierOptions = {}): Promise<number> {
  const budget = options.barrierMs ?? CALCULATION_BARRIER_MS;
  const deadline = Date.now() + budget;
  const target = await lastCommitted(pool, store);
  for (const projection of CALCULATION_PROJECTIONS) {
    try {
      await waitForPosition({ pool, store }, projection, target, Math.max(1, deadline - Date.now()));
    } catch (error) {
      if (!(error instanceof ProjectionWaitTimeoutError)) throw error;
      throw notCaughtUp(
        `the ${projection} projection is at ${error.reached ?? 'the start'}, not yet at ${error.target}; ` +
          'an exact calculation must include every accepted event',
      );
    }
  }
  return Math.max(0, deadline - Date.now());
}

/**
 * Whether the `adjustments` read model at checkpoint `adjustments` says about this customer what
 * the log says at `usage` (the snapshot's as-of): true when no billing fact of the customer lies
 * between the two checkpoints. Reads only the facts in between (type-filtered), usually none.
 */
export async function adjustmentsAgree(
  store: EventStore,
  tenantId: string,
  customerId: string,
  usage: Checkpoint | null,
  adjustments: Checkpoint | null,
): Promise<boolean> {
  const order = store.compareCheckpoints(usage, adjustments);
  if (order === 0) return true;
  const [low, high] = order < 0 ? [usage, adjustments] : [adjustments, usage];
  let from = low;
  for (;;) {
    const page = await store.readAll(from, { maxCount: 500, types: PENDING_ADJUSTMENT_FACT_TYPES });
    for (const event of page.events) {
      if (store.compareCheckpoints(event.position, high) > 0) return true;
      if (event.metadata.tenant_id !== tenantId) continue;
      if (await concernsCustomer(store, tenantId, customerId, event)) return false;
    }
    if (page.atHead || store.compareCheckpoints(page.checkpoint, high) >= 0) return true;
    from = page.checkpoint;
  }
}

async function concernsCustomer(
  store: EventStore,
  tenantId: string,
  customerId: string,
  event: { type: string; data: unknown },
): Promise<boolean> {
  switch (event.type) {
    case 'AdjustmentRecorded':
      return (event.data as AdjustmentRecorded['data']).customer_id === customerId;
    case 'InvoiceClosed':
      return (event.data as InvoiceClosed['data']).customer_id === customerId;
    case 'InvoiceVoided': {
      const { state } = await loadInvoice(store, tenantId, (event.data as InvoiceVoided['data']).invoice_id);
      return state.status === 'absent' || state.status === 'draft' || state.invoice.customer_id === customerId;
    }
    default:
      return false;
  }
}
