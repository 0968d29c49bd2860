import type { DecimalString, FieldError } from '../decimal';

export const AGGREGATIONS = [
  'sum',
  'count',
  'max',
  'min',
  'last',
  'first',
  'avg',
  'unique_count',
  'percentile',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** A JSON scalar a filter compares with. Numbers compare as decimals (1 = 1.0), never with strings ("1" != 1). */
export type FilterScalar = string | number | boolean;

export type PropertyFilter =
  | { eq: FilterScalar }
  | { neq: FilterScalar }
  | { in: FilterScalar[] }
  | { not_in: FilterScalar[] }
  | { exists: boolean };

/** One version of a metric definition, as stored in catalog events (snake_case). */
export interface MetricDefinition {
  key: string;
  aggregation: Aggregation;
  /** `value` (default) or `properties.<name>` (a top-level property; the name may contain dots). */
  field?: string;
  /** For `percentile` only: 0-100, e.g. "95" or "99.9" (requests may send a JSON number). */
  percentile?: DecimalString;
  filters?: Record<string, PropertyFilter>;
  group_by?: string[];
}

/** The part of a usage event that metering reads. */
export interface MeteredEvent {
  id: string;
  /** RFC 3339 instant (business time). */
  timestamp: string;
  /** Decimal string (as ingestion stores it) or JSON number. */
  value?: unknown;
  properties?: Record<string, unknown> | null;
}

export type MeteringErrorCode = 'METERING.INVALID_TIMESTAMP' | 'METERING.INVALID_METRIC';

export class MeteringError extends Error {
  constructor(
    readonly code: MeteringErrorCode,
    message: string,
    readonly field?: string,
    /** Every problem, for METERING.INVALID_METRIC raised by normalizeMetric. */
    readonly errors: FieldError[] = field ? [{ field, message }] : [],
  ) {
    super(message);
    this.name = 'MeteringError';
  }
}

export const DEFAULT_FIELD = 'value';
export const PROPERTY_FIELD_PREFIX = 'properties.';
