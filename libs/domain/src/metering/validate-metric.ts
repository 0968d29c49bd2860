import { checkDecimal, Dec, fieldPath, type FieldError } from '../decimal';
import {
  AGGREGATIONS,
  DEFAULT_FIELD,
  MeteringError,
  PROPERTY_FIELD_PREFIX,
  type Aggregation,
  type FilterScalar,
  type MetricDefinition,
  type PropertyFilter,
} from './metric';

/** Metric and charge keys: readable identifiers that are safe in stream names and URLs. */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MAX_FILTER_VALUES = 100;
const MAX_GROUP_BY = 10;

export interface ValidateMetricOptions {
  /** Path of the metric in the request, prepended to every field ("metric", "versions[2]"). */
  prefix?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFilterScalar(value: unknown): value is FilterScalar {
  return (
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
  );
}

function validateFilter(raw: unknown, path: string): FieldError[] {
  if (!isRecord(raw) || Object.keys(raw).length !== 1) {
    return [{ field: path, message: 'must be an object with exactly one of eq, neq, in, not_in, exists' }];
  }
  const [operator] = Object.keys(raw);
  const operand = raw[operator];
  const at = fieldPath(path, operator);
  switch (operator) {
    case 'eq':
    case 'neq':
      return isFilterScalar(operand) ? [] : [{ field: at, message: 'must be a string, number or boolean' }];
    case 'in':
    case 'not_in':
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > MAX_FILTER_VALUES) {
        return [{ field: at, message: `must be a list of 1 to ${MAX_FILTER_VALUES} values` }];
      }
      return operand.flatMap((value, index) =>
        isFilterScalar(value)
          ? []
          : [{ field: fieldPath(at, `[${index}]`), message: 'must be a string, number or boolean' }],
      );
    case 'exists':
      return typeof operand === 'boolean' ? [] : [{ field: at, message: 'must be true or false' }];
    default:
      return [{ field: path, message: `unknown operator "${operator}" (use eq, neq, in, not_in or exists)` }];
  }
}

function validateField(raw: unknown, path: string): FieldError[] {
  if (raw === undefined || raw === DEFAULT_FIELD) return [];
  if (
    typeof raw === 'string' &&
    raw.startsWith(PROPERTY_FIELD_PREFIX) &&
    raw.length > PROPERTY_FIELD_PREFIX.length &&
    raw.length <= 200
  ) {
    return [];
  }
  return [{ field: path, message: 'must be "value" or "properties.<name>"' }];
}

function validateGroupBy(raw: unknown, path: string): FieldError[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > MAX_GROUP_BY)
    return [{ field: path, message: `must be a list of at most ${MAX_GROUP_BY} property names` }];
  const seen = new Set<string>();
  return raw.flatMap((name, index) => {
    const at = fieldPath(path, `[${index}]`);
    if (typeof name !== 'string' || name.length === 0 || name.length > 100)
      return [{ field: at, message: 'must be a property name' }];
    if (seen.has(name)) return [{ field: at, message: `"${name}" is listed twice` }];
    seen.add(name);
    return [];
  });
}

/** Every problem with a metric definition from a request (an empty list: valid). */
export function validateMetric(input: unknown, options: ValidateMetricOptions = {}): FieldError[] {
  const at = (member: string) => fieldPath(options.prefix, member);
  if (!isRecord(input)) return [{ field: options.prefix || 'metric', message: 'must be an object' }];
  const errors: FieldError[] = [];
  if (typeof input.key !== 'string' || !KEY_PATTERN.test(input.key)) {
    errors.push({
      field: at('key'),
      message: 'must be 1-100 characters of letters, digits, "_", "." or "-", starting with a letter or digit',
    });
  }
  const aggregation = input.aggregation;
  if (!AGGREGATIONS.includes(aggregation as Aggregation)) {
    errors.push({ field: at('aggregation'), message: `must be one of ${AGGREGATIONS.join(', ')}` });
  }
  errors.push(...validateField(input.field, at('field')));
  if (aggregation === 'percentile') {
    const checked = checkDecimal(input.percentile, { field: at('percentile'), maxIntegerDigits: 3 });
    if (!checked.ok) errors.push(checked.error);
    else if (new Dec(checked.value).greaterThan(100))
      errors.push({ field: at('percentile'), message: 'must be from 0 to 100' });
  } else if (input.percentile !== undefined) {
    errors.push({ field: at('percentile'), message: 'is only allowed with the percentile aggregation' });
  }
  if (input.filters !== undefined) {
    if (!isRecord(input.filters))
      errors.push({ field: at('filters'), message: 'must be an object of property filters' });
    else
      for (const [name, filter] of Object.entries(input.filters))
        errors.push(...validateFilter(filter, at(`filters.${name}`)));
  }
  errors.push(...validateGroupBy(input.group_by, at('group_by')));
  return errors;
}

/**
 * A valid metric in its stored form: percentile as a canonical decimal string, defaults left out.
 * Throws METERING.INVALID_METRIC carrying every problem.
 */
export function normalizeMetric(input: unknown, options: ValidateMetricOptions = {}): MetricDefinition {
  const errors = validateMetric(input, options);
  if (errors.length > 0) {
    throw new MeteringError(
      'METERING.INVALID_METRIC',
      errors.map((e) => `${e.field}: ${e.message}`).join('; '),
      undefined,
      errors,
    );
  }
  const raw = input as Record<string, unknown>;
  const metric: MetricDefinition = { key: raw.key as string, aggregation: raw.aggregation as Aggregation };
  if (raw.field !== undefined) metric.field = raw.field as string;
  if (raw.percentile !== undefined) metric.percentile = checkDecimalValue(raw.percentile);
  if (raw.filters !== undefined) metric.filters = raw.filters as Record<string, PropertyFilter>;
  if (raw.group_by !== undefined) metric.group_by = [...(raw.group_by as string[])];
  return metric;
}

function checkDecimalValue(raw: unknown): string {
  const checked = checkDecimal(raw, { field: 'percentile', maxIntegerDigits: 3 });
  if (!checked.ok) throw new MeteringError('METERING.INVALID_METRIC', checked.error.message, 'percentile');
  return checked.value;
}
