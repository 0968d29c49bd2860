import type { ValidationError } from 'class-validator';
import type { FieldError } from './problems/api-problem';

/**
 * Rules about what a value IS (its type or form): when one of them fails, the others (lengths, ranges,
 * emptiness) only describe a value the field cannot hold, and are left out. `limit=abc` says "must be
 * an integer", not also "must not be less than 1" and "must not be greater than 1000".
 */
const TYPE_RULES = new Set([
  'isString',
  'isInt',
  'isNumber',
  'isNumberString',
  'isBoolean',
  'isArray',
  'isObject',
  'isEnum',
  'isIn',
  'isISO8601',
  'isDateString',
  'isUUID',
  'nestedValidation',
]);

/** The messages of one property's failed rules, as the client should read them. */
function messagesOf(error: ValidationError): string[] {
  const failed = Object.entries(error.constraints ?? {});
  // class-validator's whitelist message names the property; say it in the client's terms.
  if (failed.some(([rule]) => rule === 'whitelistValidation')) return ['unknown field'];
  // A missing field fails every rule it has (@IsOptional ones are skipped when absent): one message.
  if (failed.length > 0 && (error.value === undefined || error.value === null))
    return [`${error.property} is required`];
  const typeRules = failed.filter(([rule]) => TYPE_RULES.has(rule));
  return (typeRules.length > 0 ? typeRules : failed).map(([, message]) => message);
}

/** class-validator errors -> `[{ field, message }]`, nested fields as dotted paths (`lines.0.amount`). */
export function flattenValidationErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = messagesOf(error).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}
