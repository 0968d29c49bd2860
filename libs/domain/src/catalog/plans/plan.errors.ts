import type { FieldError } from '../../decimal';

/** Stable codes: clients and the API's problem catalog rely on them; never rename one. */
export type PlanErrorCode =
  | 'PLAN.NOT_FOUND'
  | 'PLAN.VERSION_NOT_FOUND'
  | 'PLAN.ALREADY_EXISTS'
  | 'PLAN.INVALID'
  | 'PLAN.VERSION_IMMUTABLE'
  | 'PLAN.DRAFT_EXISTS'
  | 'PLAN.ARCHIVED';

export class PlanError extends Error {
  constructor(
    readonly code: PlanErrorCode,
    message: string,
    /** The request fields at fault, named as the request names them (`charges[1].tiers[2].up_to`). */
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

export function invalidPlan(errors: FieldError[]): PlanError {
  return new PlanError('PLAN.INVALID', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}
