import { checkDecimal, fieldPath, type DecimalString, type FieldError } from '../../decimal';
import { KEY_PATTERN } from '../../metering';
import type { MetricCatalog } from './metric-catalog';

/**
 * Entitlements of a plan version: what a subscriber may do, by key.
 * - `boolean`: a feature flag.
 * - `limit`: a non-negative decimal; with `metric_key`, a limit on that metric's usage per period.
 * - `config`: an opaque scalar handed to the product as is ("gpt-4", 8, true).
 */
export type Entitlement =
  | { type: 'boolean'; value: boolean }
  | { type: 'limit'; value: DecimalString; metric_key: string | null }
  | { type: 'config'; value: string | number | boolean };

export type Entitlements = Record<string, Entitlement>;

export const ENTITLEMENT_TYPES = ['boolean', 'limit', 'config'] as const;
export const MAX_ENTITLEMENTS = 100;
const CONFIG_STRING_MAX_LENGTH = 500;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownMembers(raw: Record<string, unknown>, allowed: readonly string[], at: string): FieldError[] {
  return Object.keys(raw)
    .filter((member) => !allowed.includes(member))
    .map((member) => ({ field: `${at}.${member}`, message: 'is not a known field' }));
}

function readLimit(
  raw: Record<string, unknown>,
  at: string,
  metrics: MetricCatalog,
): { value?: Entitlement; errors: FieldError[] } {
  const errors = unknownMembers(raw, ['type', 'value', 'metric_key'], at);
  const checked = checkDecimal(raw.value, { field: `${at}.value` });
  if (!checked.ok) errors.push(checked.error);
  let metricKey: string | null = null;
  if (raw.metric_key !== undefined && raw.metric_key !== null) {
    const problem = metricProblem(raw.metric_key, metrics);
    if (problem) errors.push({ field: `${at}.metric_key`, message: problem });
    else metricKey = raw.metric_key as string;
  }
  if (errors.length > 0 || !checked.ok) return { errors };
  return { value: { type: 'limit', value: checked.value, metric_key: metricKey }, errors };
}

/** Why a metric reference is unusable, or null when it is fine (exists in the tenant, not archived). */
export function metricProblem(key: unknown, metrics: MetricCatalog): string | null {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return 'must be the key of a metric';
  const metric = metrics.get(key);
  if (!metric) return `unknown metric "${key}"`;
  if (metric.archived) return `metric "${key}" is archived`;
  return null;
}

function readEntitlement(
  raw: unknown,
  at: string,
  metrics: MetricCatalog,
): { value?: Entitlement; errors: FieldError[] } {
  if (!isRecord(raw)) return { errors: [{ field: at, message: 'must be an object with type and value' }] };
  switch (raw.type) {
    case 'boolean': {
      const errors = unknownMembers(raw, ['type', 'value'], at);
      if (typeof raw.value !== 'boolean') errors.push({ field: `${at}.value`, message: 'must be true or false' });
      return errors.length > 0 ? { errors } : { value: { type: 'boolean', value: raw.value as boolean }, errors };
    }
    case 'limit':
      return readLimit(raw, at, metrics);
    case 'config': {
      const errors = unknownMembers(raw, ['type', 'value'], at);
      const value = raw.value;
      const scalar =
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && value.length <= CONFIG_STRING_MAX_LENGTH);
      if (!scalar) {
        errors.push({
          field: `${at}.value`,
          message: `must be a string (at most ${CONFIG_STRING_MAX_LENGTH} characters), number or boolean`,
        });
      }
      return errors.length > 0
        ? { errors }
        : { value: { type: 'config', value: value as string | number | boolean }, errors };
    }
    default:
      return { errors: [{ field: `${at}.type`, message: `must be one of ${ENTITLEMENT_TYPES.join(', ')}` }] };
  }
}

/** Every problem with an entitlements object (paths `entitlements.<key>.value`), and its normalized form. */
export function parseEntitlements(
  raw: unknown,
  metrics: MetricCatalog,
  prefix = 'entitlements',
): { value?: Entitlements; errors: FieldError[] } {
  if (raw === undefined || raw === null) return { value: {}, errors: [] };
  if (!isRecord(raw)) return { errors: [{ field: prefix, message: 'must be an object of entitlements by key' }] };
  const entries = Object.entries(raw);
  if (entries.length > MAX_ENTITLEMENTS) {
    return { errors: [{ field: prefix, message: `must have at most ${MAX_ENTITLEMENTS} entitlements` }] };
  }
  const errors: FieldError[] = [];
  const value: Entitlements = {};
  for (const [key, entry] of entries) {
    const at = fieldPath(prefix, key);
    if (!KEY_PATTERN.test(key)) {
      errors.push({ field: at, message: 'keys are 1-100 characters of letters, digits, "_", "." or "-"' });
      continue;
    }
    const read = readEntitlement(entry, at, metrics);
    errors.push(...read.errors);
    if (read.value) value[key] = read.value;
  }
  return errors.length > 0 ? { errors } : { value, errors };
}
