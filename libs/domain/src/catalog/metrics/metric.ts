import { fieldPath, type FieldError } from '../../decimal';
import { DEFAULT_FIELD, normalizeMetric, validateMetric, type PropertyFilter } from '../../metering';
import { invalidMetric } from './metric.errors';
import type { MetricDefinitionBody } from './metric.events';

export const METRIC_NAME_MAX_LENGTH = 200;
export const METRIC_UNIT_MAX_LENGTH = 50;

/** One version of a metric, as the domain and the API see it. */
export interface MetricVersion extends MetricDefinitionBody {
  /** 1-based. */
  version: number;
  /** Null for version 1 (from the beginning of time); RFC 3339 UTC otherwise. */
  effective_from: string | null;
  published_at: string;
}

export interface Metric {
  key: string;
  name: string;
  /** Display unit ("call", "GB"); null when not given. */
  unit: string | null;
  /** In version order; never empty. */
  versions: MetricVersion[];
  created_at: string;
  /** Archived metrics stay readable and reject new usage. */
  archived_at: string | null;
}

/** A definition as a request carries it: unvalidated (JSON numbers allowed for `percentile`). */
export interface MetricDefinitionInput {
  aggregation?: unknown;
  field?: unknown;
  percentile?: unknown;
  filters?: unknown;
  group_by?: unknown;
}

function text(raw: unknown, field: string, maxLength: number, required: boolean): FieldError[] {
  if (raw === undefined || raw === null) return required ? [{ field, message: 'is required' }] : [];
  if (typeof raw !== 'string' || raw.trim().length === 0) return [{ field, message: 'must be a non-blank string' }];
  return raw.trim().length > maxLength ? [{ field, message: `must have at most ${maxLength} characters` }] : [];
}

/** Problems with a metric's name and unit (an empty list: valid). */
export function validateMetricLabels(input: { name?: unknown; unit?: unknown }, prefix?: string): FieldError[] {
  return [
    ...text(input.name, fieldPath(prefix, 'name'), METRIC_NAME_MAX_LENGTH, true),
    ...text(input.unit, fieldPath(prefix, 'unit'), METRIC_UNIT_MAX_LENGTH, false),
  ];
}

/** Every problem with a definition, under the names the request uses (`key`, `filters.region.in`). */
export function validateMetricDefinition(key: string, input: MetricDefinitionInput): FieldError[] {
  return validateMetric({ ...input, key });
}

/**
 * A definition in its stored form (see MetricDefinitionBody): defaults spelled out so that equal
 * meanings have equal forms, `percentile` a canonical decimal string. Throws METRIC.INVALID.
 */
export function normalizeMetricDefinition(key: string, input: MetricDefinitionInput): MetricDefinitionBody {
  const errors = validateMetricDefinition(key, input);
  if (errors.length > 0) throw invalidMetric('METRIC.INVALID', errors);
  const metric = normalizeMetric({ ...input, key });
  const body: MetricDefinitionBody = {
    aggregation: metric.aggregation,
    field: metric.field ?? DEFAULT_FIELD,
    filters: structuredClone(metric.filters ?? {}) as Record<string, PropertyFilter>,
    group_by: [...(metric.group_by ?? [])],
  };
  if (metric.percentile !== undefined) body.percentile = metric.percentile;
  return body;
}

/** Trimmed label, or null when absent. */
export function normalizeLabel(raw: unknown): string | null {
  return typeof raw === 'string' ? raw.trim() : null;
}
