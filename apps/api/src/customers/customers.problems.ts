import { CustomerError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the customer domain's error codes (libs/domain/src/catalog/customers/customer.errors.ts). */
registerProblemTypes({
  'CUSTOMER.NOT_FOUND': { status: 404, title: 'No such customer' },
  'CUSTOMER.ALREADY_EXISTS': { status: 409, title: 'A customer with this id already exists with other details' },
  'CUSTOMER.INVALID': { status: 422, title: 'The customer details are not valid' },
  'CUSTOMER.IMMUTABLE_FIELD': { status: 422, title: 'This customer field cannot change once the customer exists' },
  'CUSTOMER.ARCHIVED': { status: 409, title: 'The customer is archived' },
  'CUSTOMER.HAS_LIVE_SUBSCRIPTIONS': { status: 409, title: 'The customer has live subscriptions' },
});

/** A domain error as a problem that names the request fields at fault (`errors`); anything else as is. */
export function customerProblem(error: unknown): unknown {
  if (!(error instanceof CustomerError)) return error;
  return new ApiProblem(error.code, error.message, error.errors.length > 0 ? { errors: [...error.errors] } : {});
}
