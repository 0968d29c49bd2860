import { calculateSubscription, type Calculation, type CalculationInputs } from '#domain';
import type { EventMetadata } from '#ledger';
import { recordCalculation, type ChargesCalculated } from './charges-calculated';
import { loadCalculationInputsFast, type FastInputs, type LoadFastOptions } from './load-inputs-fast';

export interface CalculatedCharges {
  calculation: Calculation;
  inputs: CalculationInputs;
  /** The stored record (the first one, when this calculation was made before). */
  record: ChargesCalculated['data'];
}

/**
 * The exact calculation of one subscription period, as the API and the billing cycle make it: inputs
 * from the fast loader, the pure calculateSubscription, then stored as ChargesCalculated (a no-op
 * when the same calculation is stored already).
 */
export async function calculateCharges(
  options: LoadFastOptions & { metadata: EventMetadata },
): Promise<CalculatedCharges> {
  const calculated = calculationRecordOf(await loadCalculationInputsFast(options));
  const { record } = await recordCalculation(options.store, options.tenantId, calculated, options.metadata);
  return { calculation: calculated.calculation, inputs: calculated.inputs, record };
}

/** Loaded inputs, calculated: the record ChargesCalculated stores (inputs, provenance and calculation). */
export function calculationRecordOf(loaded: FastInputs): ChargesCalculated['data'] {
  const { inputs, ...provenance } = loaded;
  return { calculation: calculateSubscription(inputs), inputs, ...provenance };
}
