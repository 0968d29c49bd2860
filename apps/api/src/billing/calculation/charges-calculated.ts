import type { Calculation, CalculationInputs } from '#domain';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  streamName,
  type Checkpoint,
  type EventMetadata,
  type EventStore,
} from '#ledger';
import { deterministicUuid } from '../../common/deterministic-id';
import type { InputsProvenance } from './load-inputs-fast';
import { readStreamAsOf } from './log-reads';

/**
 * `ChargesCalculated`, in `<tenant>:calculation-<calc id>`: a calculation, stored once. Its id is
 * derived from its content (sealCalculation), so the stream holds at most one event: appending the
 * same calculation again is a no-op, and the first record (with its inputs and where they were read,
 * to reproduce it and explain it) stands.
 */
export const CALCULATION_STREAM_CATEGORY = 'calculation';
export const CHARGES_CALCULATED = 'ChargesCalculated';

export interface ChargesCalculated {
  type: typeof CHARGES_CALCULATED;
  /** The calculation, the inputs it was computed from, and where the fast loader read them. */
  data: InputsProvenance & { calculation: Calculation; inputs: CalculationInputs };
}

export const calculationStream = (tenantId: string, calculationId: string) =>
  streamName(tenantId, CALCULATION_STREAM_CATEGORY, calculationId);

export interface RecordedCalculation {
  record: ChargesCalculated['data'];
  /** False when the calculation was recorded before (by this or another request). */
  recordedNow: boolean;
  position: Checkpoint | null;
}

export async function recordCalculation(
  store: EventStore,
  tenantId: string,
  record: ChargesCalculated['data'],
  metadata: EventMetadata,
): Promise<RecordedCalculation> {
  const stream = calculationStream(tenantId, record.calculation.id);
  try {
    const result = await store.append(
      stream,
      [{ id: deterministicUuid(`${stream}/${CHARGES_CALCULATED}`), type: CHARGES_CALCULATED, data: record, metadata }],
      { expectedRevision: 'no_stream' },
    );
    return { record, recordedNow: true, position: result.position };
  } catch (error) {
    if (!(error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError)) throw error;
    const existing = await findCalculation(store, tenantId, record.calculation.id);
    if (existing === null) throw error;
    return { record: existing, recordedNow: false, position: null };
  }
}

/** The recorded calculation with this id, or null. */
export async function findCalculation(
  store: EventStore,
  tenantId: string,
  calculationId: string,
): Promise<ChargesCalculated['data'] | null> {
  if (!/^calc_[0-9a-f]{32}$/.test(calculationId)) return null;
  const [first] = await readStreamAsOf(store, calculationStream(tenantId, calculationId));
  return first?.type === CHARGES_CALCULATED ? (first.data as ChargesCalculated['data']) : null;
}
