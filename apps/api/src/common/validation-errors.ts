import type { ValidationError } from 'class-validator';
import type { FieldError } from './problems/api-problem';

/** class-validator errors -> `[{ field, message }]`, nested fields as dotted paths (`lines.0.amount`). */
export function flattenValidationErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      // class-validator's whitelist message names the property; say it in the client's terms.
      message: rule === 'whitelistValidation' ? 'unknown field' : message,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}
