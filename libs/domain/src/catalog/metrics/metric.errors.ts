import type { FieldError } from '../../decimal';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type MetricErrorCode =
  | 'METRIC.NOT_FOUND'
  | 'METRIC.ALREADY_EXISTS'
  | 'METRIC.INVALID'
  | 'METRIC.INVALID_VERSION'
  | 'METRIC.ARCHIVED'
  | 'METRIC.IN_USE';

export class MetricError extends Error {
  constructor(
    readonly code: MetricErrorCode,
    message: string,
    /** The request fields at fault, named as the request names them (`filters.region.in`). */
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'MetricError';
  }
}

export function invalidMetric(code: 'METRIC.INVALID' | 'METRIC.INVALID_VERSION', errors: FieldError[]): MetricError {
  return new MetricError(code, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}
