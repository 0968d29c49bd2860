import { checkDecimal, fieldPath, type FieldError } from '../../decimal';
import { currencyFor, MoneyError } from '../../money';
import { BILLING_INTERVALS, type BillingInterval } from '../../periods';
import { parseCharge, type Charge } from '../../pricing';
import { metricProblem, parseEntitlements } from './entitlements';
import type { MetricCatalog } from './metric-catalog';
import type { PlanVersionContent } from './plan.events';

export const PLAN_NAME_MAX_LENGTH = 200;
export const MAX_CHARGES = 100;

/** A plan version as a request carries it: unvalidated. */
export interface PlanVersionInput {
  name?: unknown;
  currency?: unknown;
  billing_interval?: unknown;
  charges?: unknown;
  minimum_commitment?: unknown;
  entitlements?: unknown;
}

export const PLAN_VERSION_FIELDS = [
  'name',
  'currency',
  'billing_interval',
  'charges',
  'minimum_commitment',
  'entitlements',
] as const;

type Parsed<T> = { value?: T; errors: FieldError[] };

/**
 * One charge of a plan (or a subscription override): the pricing rules (validateCharge) plus what
 * only the catalog knows: its metric exists in the tenant and is not archived, and a matrix charge
 * prices only by dimensions the metric groups by.
 */
export function parsePlanCharge(input: unknown, metrics: MetricCatalog, prefix: string): Parsed<Charge> {
  const { charge, errors } = parseCharge(input, { knownMetricKeys: metrics.keys(), prefix });
  if (!charge) return { errors };
  if (charge.model === 'flat_fee') return { value: charge, errors };
  const problem = metricProblem(charge.metric_key, metrics);
  if (problem) return { errors: [{ field: fieldPath(prefix, 'metric_key'), message: problem }] };
  if (charge.model === 'matrix') {
    const groupBy = metrics.get(charge.metric_key)!.group_by;
    const outside = charge.dimensions
      .map((dimension, index) => ({ dimension, index }))
      .filter(({ dimension }) => !groupBy.includes(dimension))
      .map(({ dimension, index }) => ({
        field: `${fieldPath(prefix, 'dimensions')}[${index}]`,
        message: `"${dimension}" is not among metric "${charge.metric_key}"'s group_by (${groupBy.join(', ') || 'none'})`,
      }));
    if (outside.length > 0) return { errors: outside };
  }
  return { value: charge, errors };
}

function parseCharges(raw: unknown, metrics: MetricCatalog): Parsed<Charge[]> {
  if (raw === undefined) return { errors: [{ field: 'charges', message: 'is required (a list, [] for none)' }] };
  if (!Array.isArray(raw) || raw.length > MAX_CHARGES) {
    return { errors: [{ field: 'charges', message: `must be a list of at most ${MAX_CHARGES} charges` }] };
  }
  const errors: FieldError[] = [];
  const charges: Charge[] = [];
  const firstIndexOfKey = new Map<string, number>();
  raw.forEach((input, index) => {
    const prefix = `charges[${index}]`;
    const parsed = parsePlanCharge(input, metrics, prefix);
    errors.push(...parsed.errors);
    if (parsed.value) charges.push(parsed.value);
    const key = (input as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') return;
    const first = firstIndexOfKey.get(key);
    if (first === undefined) firstIndexOfKey.set(key, index);
    else errors.push({ field: `${prefix}.key`, message: `duplicate charge key "${key}" (also charges[${first}])` });
  });
  return errors.length > 0 ? { errors } : { value: charges, errors };
}

function parseName(raw: unknown): Parsed<string> {
  if (typeof raw !== 'string' || raw.trim().length === 0)
    return { errors: [{ field: 'name', message: 'must be a non-blank string' }] };
  if (raw.trim().length > PLAN_NAME_MAX_LENGTH) {
    return { errors: [{ field: 'name', message: `must have at most ${PLAN_NAME_MAX_LENGTH} characters` }] };
  }
  return { value: raw.trim(), errors: [] };
}

function parseCurrency(raw: unknown): Parsed<string> {
  try {
    return { value: currencyFor(raw as string, 'currency').code, errors: [] };
  } catch (error) {
    if (error instanceof MoneyError) return { errors: [{ field: 'currency', message: error.message }] };
    throw error;
  }
}

function parseInterval(raw: unknown): Parsed<BillingInterval> {
  if (BILLING_INTERVALS.includes(raw as BillingInterval)) return { value: raw as BillingInterval, errors: [] };
  return { errors: [{ field: 'billing_interval', message: `must be one of ${BILLING_INTERVALS.join(', ')}` }] };
}

function parseCommitment(raw: unknown): Parsed<string | null> {
  if (raw === undefined || raw === null) return { value: null, errors: [] };
  const checked = checkDecimal(raw, { field: 'minimum_commitment' });
  return checked.ok ? { value: checked.value, errors: [] } : { errors: [checked.error] };
}

/**
 * Every problem with a whole plan version (an empty list: valid), each named by its request path,
 * and the normalized content when there are none. `metrics` holds the tenant's metrics the version
 * references (see MetricCatalog).
 */
export function parsePlanVersion(input: PlanVersionInput, metrics: MetricCatalog): Parsed<PlanVersionContent> {
  const name = parseName(input.name);
  const currency = parseCurrency(input.currency);
  const interval = parseInterval(input.billing_interval);
  const charges = parseCharges(input.charges, metrics);
  const commitment = parseCommitment(input.minimum_commitment);
  const entitlements = parseEntitlements(input.entitlements, metrics);
  const errors = [name, currency, interval, charges, commitment, entitlements].flatMap((parsed) => parsed.errors);
  if (errors.length > 0) return { errors };
  return {
    value: {
      name: name.value!,
      currency: currency.value!,
      billing_interval: interval.value!,
      charges: charges.value!,
      minimum_commitment: commitment.value!,
      entitlements: entitlements.value!,
    },
    errors: [],
  };
}

/** The metric keys a plan version input mentions (charges and limits), for the caller to load. */
export function referencedMetricKeys(input: { charges?: unknown; entitlements?: unknown }): string[] {
  const keys = new Set<string>();
  if (Array.isArray(input.charges)) {
    for (const charge of input.charges) {
      const key = (charge as { metric_key?: unknown } | null)?.metric_key;
      if (typeof key === 'string') keys.add(key);
    }
  }
  if (typeof input.entitlements === 'object' && input.entitlements !== null) {
    for (const entitlement of Object.values(input.entitlements as Record<string, unknown>)) {
      const key = (entitlement as { metric_key?: unknown } | null)?.metric_key;
      if (typeof key === 'string') keys.add(key);
    }
  }
  return [...keys];
}
