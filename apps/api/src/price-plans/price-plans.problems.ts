import { PlanError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the plan domain's error codes (libs/domain/src/catalog/plans/plan.errors.ts). */
registerProblemTypes({
  'PLAN.NOT_FOUND': { status: 404, title: 'No such price plan' },
  'PLAN.VERSION_NOT_FOUND': { status: 404, title: 'No such price plan version' },
  'PLAN.ALREADY_EXISTS': { status: 409, title: 'A price plan with this key already exists' },
  'PLAN.INVALID': { status: 422, title: 'The price plan is not valid' },
  'PLAN.VERSION_IMMUTABLE': { status: 409, title: 'A published plan version never changes' },
  'PLAN.DRAFT_EXISTS': { status: 409, title: 'The plan already has an open draft' },
  'PLAN.ARCHIVED': { status: 409, title: 'The price plan is archived' },
});

/** A domain error as a problem that names the request fields at fault (`errors`); anything else as is. */
export function planProblem(error: unknown): unknown {
  if (!(error instanceof PlanError)) return error;
  return new ApiProblem(error.code, error.message, error.errors.length > 0 ? { errors: [...error.errors] } : {});
}
