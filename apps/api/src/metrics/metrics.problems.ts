import { MetricError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the metric domain's error codes (libs/domain/src/catalog/metrics/metric.errors.ts). */
registerProblemTypes({
  'METRIC.NOT_FOUND': { status: 404, title: 'No such metric' },
  'METRIC.ALREADY_EXISTS': { status: 409, title: 'A metric with this key already exists with another definition' },
  'METRIC.INVALID': { status: 422, title: 'The metric definition is not valid' },
  'METRIC.INVALID_VERSION': { status: 422, title: 'The metric version is not valid' },
  'METRIC.ARCHIVED': { status: 409, title: 'The metric is archived' },
  'METRIC.IN_USE': { status: 409, title: 'Live subscriptions bill or limit this metric' },
});

/** A domain error as a problem that names the request fields at fault (`errors`); anything else as is. */
export function metricProblem(error: unknown): unknown {
  if (!(error instanceof MetricError)) return error;
  return new ApiProblem(error.code, error.message, error.errors.length > 0 ? { errors: [...error.errors] } : {});
}
